package program

import (
	"math"
	"testing"
)

func TestParseAmount(t *testing.T) {
	for _, c := range []struct {
		in, cur string
		want    int64
		bad     bool
	}{
		{"500", "USD", 50000, false},
		{"500.00", "USD", 50000, false},
		{"500.5", "USD", 50050, false},
		{"0.01", "USD", 1, false},
		{".5", "USD", 50, false},
		{"1000", "JPY", 1000, false},
		{"1000.00", "JPY", 1000, false}, // trailing zeros are exact
		{"1000.5", "JPY", 0, true},
		{"1.234", "KWD", 1234, false},
		{"19.999", "EUR", 0, true},
		{"19.990", "EUR", 1999, false},
		{"-5", "USD", -500, false}, // validation rejects it, with the path
		{"1e3", "USD", 0, true},
		{"1,000", "USD", 0, true},
		{"", "USD", 0, true},
		{"5.", "USD", 0, true},
		{"abc", "USD", 0, true},
		{"92233720368547758.07", "USD", 0, true},
		{"9223372036854775.80", "USD", 922337203685477580, false},
		{"10", "XXX", 0, true},
	} {
		got, err := parseAmount(c.in, c.cur)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("parseAmount(%q, %s) = %d, %v; want %d, bad=%v", c.in, c.cur, got, err, c.want, c.bad)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"30d", 30 * 86400, false},
		{"12h", 12 * 3600, false},
		{"90m", 5400, false},
		{"45s", 45, false},
		{"1w", 7 * 86400, false},
		{"1d12h", 36 * 3600, false},
		{"3600", 3600, false},
		{"0", 0, false},
		{"-1d", -86400, false},
		{"30D", 30 * 86400, false},
		{"30", 30, false},
		{"30 days", 0, true},
		{"d", 0, true},
		{"1.5d", 0, true},
		{"10y", 0, true},
		{"", 0, true},
		{"99999999999999999999d", 0, true},
	} {
		got, err := parseDuration(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("parseDuration(%q) = %d, %v; want %d, bad=%v", c.in, got, err, c.want, c.bad)
		}
	}
}

func TestParsePercentAndMultiplier(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"10%", 1000, false},
		{"2.5%", 250, false},
		{"0.01%", 1, false},
		{"100%", 10000, false},
		{"10 %", 1000, false},
		{"0.001%", 0, true},
		{"10", 0, true},
		{"0.1", 0, true},
		{"ten%", 0, true},
	} {
		got, err := parsePercent(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("parsePercent(%q) = %d, %v; want %d, bad=%v", c.in, got, err, c.want, c.bad)
		}
	}
	for _, c := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"1.5", 15000, false},
		{"1", 10000, false},
		{"2x", 20000, false},
		{"1.25", 12500, false},
		{"0.00001", 0, true},
		{"150%", 0, true},
	} {
		got, err := parseMultiplier(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("parseMultiplier(%q) = %d, %v; want %d, bad=%v", c.in, got, err, c.want, c.bad)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	for _, c := range []struct {
		minor int64
		cur   string
		want  string
	}{
		{50000, "USD", "500.00 USD"},
		{5, "USD", "0.05 USD"},
		{0, "EUR", "0.00 EUR"},
		{-150, "GBP", "-1.50 GBP"},
		{1000, "JPY", "1000 JPY"},
		{1234, "KWD", "1.234 KWD"},
		{math.MinInt64, "USD", "-92233720368547758.08 USD"},
	} {
		if got := FormatAmount(c.minor, c.cur); got != c.want {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", c.minor, c.cur, got, c.want)
		}
	}
}

func TestCurrencyExponent(t *testing.T) {
	for code, want := range map[string]int{"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KRW": 0, "KWD": 3, "CHF": 2} {
		if got, ok := CurrencyExponent(code); !ok || got != want {
			t.Errorf("CurrencyExponent(%s) = %d, %v; want %d", code, got, ok, want)
		}
	}
	if _, ok := CurrencyExponent("usd"); ok {
		t.Error("lower-case code accepted")
	}
}
