package kpis

import (
	"fmt"
	"math"
	"strconv"
)

// The statistics of experiments: a proportion's 95% Wilson score interval,
// the ratio of two proportions with its 95% interval by the log method
// (Katz), and the verdict people read. Pure functions of counts.

// z95 is the standard normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// The least data a verdict needs: each of the two variants compared has at
// least MinReferrals referrals and MinCustomers customers; below that the
// verdict is NotEnoughData (the normal approximations behind the
// intervals are poor with fewer successes).
const (
	MinReferrals = 30
	MinCustomers = 5
)

// NotEnoughData is the verdict of a comparison with less than the least data.
const NotEnoughData = "not enough data yet"

// Wilson returns the 95% Wilson score interval of x successes in n trials;
// ok is false when n is 0 (or x is outside 0..n).
func Wilson(x, n int64) (lo, hi float64, ok bool) {
	if n <= 0 || x < 0 || x > n {
		return 0, 0, false
	}
	fx, fn, z2 := float64(x), float64(n), z95*z95
	center := (fx + z2/2) / (fn + z2)
	half := z95 * math.Sqrt(fx*(fn-fx)/fn+z2/4) / (fn + z2)
	return max(center-half, 0), min(center+half, 1), true
}

// RateRatio compares the proportion x1/n1 with x0/n0: their ratio and its
// 95% interval by the log method, exp(ln r ± z·√(1/x1 − 1/n1 + 1/x0 − 1/n0)).
// ok is false when a count is zero (the ratio or its interval is not
// finite).
func RateRatio(x1, n1, x0, n0 int64) (r, lo, hi float64, ok bool) {
	if x1 <= 0 || x0 <= 0 || n1 < x1 || n0 < x0 {
		return 0, 0, 0, false
	}
	r = (float64(x1) / float64(n1)) / (float64(x0) / float64(n0))
	se := math.Sqrt(1/float64(x1) - 1/float64(n1) + 1/float64(x0) - 1/float64(n0))
	return r, r * math.Exp(-z95*se), r * math.Exp(z95*se), true
}

// Enough reports whether a comparison of x1 of n1 with x0 of n0 has the
// least data a verdict needs (MinReferrals, MinCustomers in each).
func Enough(x1, n1, x0, n0 int64) bool {
	return n1 >= MinReferrals && n0 >= MinReferrals && x1 >= MinCustomers && x0 >= MinCustomers
}

// Verdict says in words how variant name (x1 customers of n1 referrals)
// converts against the control (x0 of n0): "variant B converts 1.8x, 95%
// interval 1.3x–2.5x, 412 referrals" when the interval excludes 1, "no
// clear difference yet (0.5x–2.3x, 120 referrals)" when it holds 1, or
// NotEnoughData. The referrals are those of the two variants compared.
func Verdict(name string, x1, n1, x0, n0 int64) string {
	r, lo, hi, ok := RateRatio(x1, n1, x0, n0)
	if !ok || !Enough(x1, n1, x0, n0) {
		return NotEnoughData
	}
	if lo > 1 || hi < 1 {
		return fmt.Sprintf("variant %s converts %sx, 95%% interval %sx–%sx, %d referrals", name, Times(r), Times(lo), Times(hi), n1+n0)
	}
	return fmt.Sprintf("no clear difference yet (%sx–%sx, %d referrals)", Times(lo), Times(hi), n1+n0)
}

// Times writes a ratio with one decimal ("1.8"), or two when one would
// round it to 1.0 although it is not 1 ("0.97"), so a bound never seems to
// be on the other side of 1.
func Times(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if s == "1.0" && math.Abs(v-1) >= 0.005 {
		s = strconv.FormatFloat(v, 'f', 2, 64)
	}
	return s
}
