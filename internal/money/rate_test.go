package money

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseRate(t *testing.T) {
	for _, c := range []struct {
		in, want string
		bad      string // part of the error, "" when valid
	}{
		{"1.08", "1.08", ""},
		{" 1.0800 ", "1.08", ""},
		{"150", "150", ""},
		{"0.0067", "0.0067", ""},
		{".5", "0.5", ""},
		{"0.000000000001", "0.000000000001", ""},
		{"1000000000", "1000000000", ""},
		{"", "", "not a decimal"},
		{".", "", "not a decimal"},
		{"1.", "", "not a decimal"},
		{"0", "", "greater than 0"},
		{"0.000", "", "greater than 0"},
		{"-1.08", "", "plain positive decimal"},
		{"+1.08", "", "plain positive decimal"},
		{"1e3", "", "plain positive decimal"},
		{"1,08", "", "plain positive decimal"},
		{"NaN", "", "plain positive decimal"},
		{"0.0000000000001", "", "more than 12 decimal places"},
		{"1234567890123456789", "", "significant digits"},
		{"1000000000.01", "", "above"},
	} {
		r, err := ParseRate(c.in)
		if c.bad != "" {
			if err == nil || !errors.Is(err, ErrRate) || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("ParseRate(%q) = %v, %v; want an error about %q", c.in, r, err, c.bad)
			}
			continue
		}
		if err != nil || r.String() != c.want {
			t.Errorf("ParseRate(%q) = %q, %v; want %q", c.in, r.String(), err, c.want)
		}
	}
}

// Conversion is exact decimal arithmetic with one rounding, half away from
// zero, across currencies with different minor units.
func TestRateConvert(t *testing.T) {
	for _, c := range []struct {
		minor    int64
		from, to string
		rate     string
		want     int64
	}{
		{100000, "EUR", "USD", "1.08", 108000},               // 1,000.00 EUR -> 1,080.00 USD
		{1000000, "JPY", "USD", "0.0067", 670000},            // 1,000,000 JPY -> 6,700.00 USD
		{100000, "USD", "JPY", "149.5", 149500},              // 1,000.00 USD -> 149,500 JPY
		{1234, "KWD", "USD", "3.25", 401},                    // 1.234 KWD -> 4.0105 -> 4.01 USD
		{1, "USD", "EUR", "0.5", 1},                          // 0.005 -> 0.01 (half away from zero)
		{-1, "USD", "EUR", "0.5", -1},                        // and below zero
		{1, "USD", "EUR", "0.4999", 0},                       // 0.004999 -> 0.00
		{29, "EUR", "USD", "1", 29},                          // identity
		{333, "EUR", "USD", "0.333333333333", 111},           // 12 decimals
		{100, "EUR", "CLF", "0.0001", 1},                     // 1.00 EUR -> 0.0001 CLF
		{math.MaxInt64, "JPY", "USD", "0.01", math.MaxInt64}, // x0.01 x100: unchanged, no overflow on the way
		{math.MinInt64, "JPY", "USD", "0.01", math.MinInt64}, // likewise below zero
		{math.MaxInt64 / 2, "EUR", "USD", "1.5", 6917529027641081855},
	} {
		r, err := ParseRate(c.rate)
		if err != nil {
			t.Fatalf("ParseRate(%q): %v", c.rate, err)
		}
		got, err := r.Convert(c.minor, c.from, c.to)
		if err != nil || got != c.want {
			t.Errorf("%d %s at %s to %s = %d, %v; want %d", c.minor, c.from, c.rate, c.to, got, err, c.want)
		}
	}
	r, _ := ParseRate("2")
	if _, err := r.Convert(math.MaxInt64, "EUR", "USD"); !errors.Is(err, ErrOverflow) {
		t.Errorf("overflow: %v", err)
	}
	if _, err := r.Convert(1, "EUR", "XXX"); err == nil {
		t.Error("unknown currency converted")
	}
	if _, err := (Rate{}).Convert(1, "EUR", "USD"); !errors.Is(err, ErrRate) {
		t.Errorf("zero rate: %v", err)
	}
}
