package money

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// Amounts are exact: no float64 on the way (0.29 is 28.999... in float64).
func TestParse(t *testing.T) {
	tests := []struct {
		amount, currency string
		want             *Money
		wantErr          bool
	}{
		{"12500.50", "", &Money{Minor: 1250050}, false},
		{"12500.5", "usd", &Money{Minor: 1250050, Currency: "USD"}, false},
		{"0.1", "", &Money{Minor: 10}, false},
		{"0.29", "", &Money{Minor: 29}, false}, // 0.29*100 is 28.999... in float64
		{"1.005", "", &Money{Minor: 101}, false},
		{"-1.005", "", &Money{Minor: -101}, false},
		{"1.004", "", &Money{Minor: 100}, false},
		{"120000.0", "", &Money{Minor: 12000000}, false},
		{"1.5E+3", "", &Money{Minor: 150000}, false},
		{"1e-2", "", &Money{Minor: 1}, false},
		{"1234", "JPY", &Money{Minor: 1234, Currency: "JPY"}, false},
		{"1.2345", "KWD", &Money{Minor: 1235, Currency: "KWD"}, false},
		{".5", "", &Money{Minor: 50}, false},
		{"5.", "", &Money{Minor: 500}, false},
		{"", "", nil, false},
		{"92233720368547758.07", "", &Money{Minor: 9223372036854775807}, false},
		{"92233720368547758.08", "", nil, true},
		{"1e40", "", nil, true},
		{"1e999", "", nil, true},
		{"12,50", "", nil, true},
		{"abc", "", nil, true},
		{"-", "", nil, true},
		{".", "", nil, true},
		{"1e", "", nil, true},
		{"1.2.3", "", nil, true},
		{"NaN", "", nil, true},
		{strings.Repeat("9", 41), "", nil, true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.amount, tt.currency)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q, %q) = %+v, %v; want %+v, err %v", tt.amount, tt.currency, got, err, tt.want, tt.wantErr)
		}
	}
}

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
		got, err := ParseAmount(c.in, c.cur)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("ParseAmount(%q, %s) = %d, %v; want %d, bad=%v", c.in, c.cur, got, err, c.want, c.bad)
		}
	}
}

func TestFormat(t *testing.T) {
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
		if got := Format(c.minor, c.cur); got != c.want {
			t.Errorf("Format(%d, %s) = %q, want %q", c.minor, c.cur, got, c.want)
		}
	}
}

func TestExponent(t *testing.T) {
	for code, want := range map[string]int{"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KRW": 0, "KWD": 3, "CHF": 2, "UGX": 0, "CLF": 4} {
		if got, ok := Exponent(code); !ok || got != want {
			t.Errorf("Exponent(%s) = %d, %v; want %d", code, got, ok, want)
		}
	}
	if _, ok := Exponent("usd"); ok {
		t.Error("lower-case code accepted")
	}
}

// One table answers for every use: the decimals a program reads are the
// decimals the export writes.
func TestFormatMinorUsesTheCurrencyTable(t *testing.T) {
	for _, c := range []struct {
		minor int64
		cur   string
		want  string
	}{
		{100000, "UGX", "100000"},
		{123456, "CLF", "12.3456"},
		{5, "CLF", "0.0005"},
		{-1500, "KWD", "-1.500"},
		{50000, "USD", "500.00"},
		{1999, "XXX", "19.99"},
		{1999, "", "19.99"},
	} {
		if got := FormatMinor(c.minor, c.cur); got != c.want {
			t.Errorf("FormatMinor(%d, %q) = %q, want %q", c.minor, c.cur, got, c.want)
		}
		back, err := ParseMinor(c.want, Digits(c.cur))
		if err != nil || back != c.minor {
			t.Errorf("ParseMinor(%q) = %d, %v; want %d", c.want, back, err, c.minor)
		}
	}
}

func TestRescale(t *testing.T) {
	tests := []struct {
		v        int64
		from, to int
		want     int64
	}{
		{1250050, 2, 0, 12501},
		{1249, 2, 0, 12},
		{-1250, 2, 0, -13},
		{1250050, 2, 3, 12500500},
		{5, 2, 2, 5},
	}
	for _, tt := range tests {
		if got := Rescale(tt.v, tt.from, tt.to); got != tt.want {
			t.Errorf("Rescale(%d,%d,%d) = %d, want %d", tt.v, tt.from, tt.to, got, tt.want)
		}
	}
}

// An exponent must be digits to the end: ParseMinor refuses anything after
// them rather than ignoring it.
func TestParseMinorRefusesJunkInTheExponent(t *testing.T) {
	for _, s := range []string{"1e5x", "1e+", "1e-x", "1.5E2.0", "1x"} {
		if v, err := ParseMinor(s, 2); err != ErrAmount {
			t.Errorf("ParseMinor(%q) = %d, %v; want ErrAmount", s, v, err)
		}
	}
}
