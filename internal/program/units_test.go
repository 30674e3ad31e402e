package program

import (
	"testing"
)

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
