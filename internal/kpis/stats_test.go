package kpis_test

import (
	"math"
	"testing"

	"github.com/referflow/referflow/internal/kpis"
)

func near(a, b float64) bool { return math.Abs(a-b) < 5e-5 }

// Known values (computed independently from the textbook formulas).
func TestWilson(t *testing.T) {
	for _, c := range []struct {
		x, n   int64
		lo, hi float64
		ok     bool
	}{
		{10, 100, 0.0552, 0.1744, true},
		{45, 412, 0.0826, 0.1430, true},
		{0, 20, 0, 0.1611, true},
		{20, 20, 0.8389, 1, true},
		{1, 1, 0.2065, 1, true},
		{0, 0, 0, 0, false},
		{3, 2, 0, 0, false},
	} {
		lo, hi, ok := kpis.Wilson(c.x, c.n)
		if ok != c.ok || !near(lo, c.lo) || !near(hi, c.hi) {
			t.Errorf("Wilson(%d, %d) = %.4f, %.4f, %v; want %.4f, %.4f, %v", c.x, c.n, lo, hi, ok, c.lo, c.hi, c.ok)
		}
	}
}

func TestRateRatio(t *testing.T) {
	for _, c := range []struct {
		x1, n1, x0, n0 int64
		r, lo, hi      float64
		ok             bool
	}{
		{30, 100, 15, 100, 2, 1.1489, 3.4817, true},
		{81, 206, 45, 206, 1.8, 1.3215, 2.4518, true},
		{10, 40, 20, 40, 0.5, 0.2690, 0.9293, true},
		{12, 60, 11, 60, 1.0909, 0.5227, 2.2767, true},
		{0, 60, 11, 60, 0, 0, 0, false},
		{12, 60, 0, 60, 0, 0, 0, false},
	} {
		r, lo, hi, ok := kpis.RateRatio(c.x1, c.n1, c.x0, c.n0)
		if ok != c.ok || !near(r, c.r) || !near(lo, c.lo) || !near(hi, c.hi) {
			t.Errorf("RateRatio(%d/%d, %d/%d) = %.4f [%.4f, %.4f] %v; want %.4f [%.4f, %.4f] %v",
				c.x1, c.n1, c.x0, c.n0, r, lo, hi, ok, c.r, c.lo, c.hi, c.ok)
		}
	}
}

func TestVerdict(t *testing.T) {
	for _, c := range []struct {
		name           string
		x1, n1, x0, n0 int64
		want           string
	}{
		{"B converts better", 81, 206, 45, 206, "variant B converts 1.8x, 95% interval 1.3x–2.5x, 412 referrals"},
		{"B converts worse", 10, 40, 20, 40, "variant B converts 0.5x, 95% interval 0.3x–0.9x, 80 referrals"},
		{"no clear difference", 12, 60, 11, 60, "no clear difference yet (0.5x–2.3x, 120 referrals)"},
		{"too few referrals in B", 20, 29, 10, 100, kpis.NotEnoughData},
		{"too few referrals in the control", 10, 100, 10, 29, kpis.NotEnoughData},
		{"too few customers in B", 4, 400, 40, 400, kpis.NotEnoughData},
		{"no customer in the control", 40, 400, 0, 400, kpis.NotEnoughData},
		{"just enough", 5, 30, 5, 30, "no clear difference yet (0.3x–3.1x, 60 referrals)"},
	} {
		if got := kpis.Verdict("B", c.x1, c.n1, c.x0, c.n0); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestTimesNeverRoundsAcrossOne(t *testing.T) {
	for v, want := range map[float64]string{1.8: "1.8", 0.97: "0.97", 1.04: "1.04", 1.0: "1.0", 0.999: "1.0", 2.449: "2.4", 0.26: "0.3"} {
		if got := kpis.Times(v); got != want {
			t.Errorf("Times(%v) = %q, want %q", v, got, want)
		}
	}
}
