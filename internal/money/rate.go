package money

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Rate is an exchange rate written as an exact decimal: how many units of
// one currency one unit of another is worth ("1.08": 1 EUR = 1.08 USD).
// Programs give rates as text; a Rate never goes through a float.
type Rate struct {
	coef  *big.Int // the digits, without the dot
	scale int      // how many of them follow the dot
}

// Bounds of a rate: at most MaxRateDecimals decimals, at most
// MaxRateDigits digits in all, between 10^-MaxRateDecimals and MaxRate.
const (
	MaxRateDecimals = 12
	MaxRateDigits   = 18
	MaxRate         = 1_000_000_000
)

// ErrRate: the text is not a usable exchange rate.
var ErrRate = errors.New("money: invalid exchange rate")

// ParseRate reads an exchange rate: a plain positive decimal ("1.08",
// "0.0067", "150"), no sign, exponent or separators, within the bounds
// above. Errors wrap ErrRate and say what is wrong.
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	intPart, frac, hasDot := strings.Cut(t, ".")
	switch {
	case t == "" || (intPart == "" && frac == "") || (hasDot && frac == ""):
		return Rate{}, fmt.Errorf("%w: %q is not a decimal number (write e.g. 1.08)", ErrRate, s)
	case !allDigits(intPart) || !allDigits(frac):
		return Rate{}, fmt.Errorf("%w: %q must be a plain positive decimal such as 1.08", ErrRate, s)
	case len(frac) > MaxRateDecimals:
		return Rate{}, fmt.Errorf("%w: %q has more than %d decimal places", ErrRate, s, MaxRateDecimals)
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if len(digits) > MaxRateDigits {
		return Rate{}, fmt.Errorf("%w: %q has more than %d significant digits", ErrRate, s, MaxRateDigits)
	}
	coef, ok := new(big.Int).SetString("0"+digits, 10)
	if !ok || coef.Sign() == 0 {
		return Rate{}, fmt.Errorf("%w: %q must be greater than 0", ErrRate, s)
	}
	r := Rate{coef: coef, scale: len(frac)}
	if r.rat().Cmp(big.NewRat(MaxRate, 1)) > 0 {
		return Rate{}, fmt.Errorf("%w: %q is above %d", ErrRate, s, MaxRate)
	}
	return r, nil
}

func (r Rate) rat() *big.Rat {
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(r.scale)), nil)
	return new(big.Rat).SetFrac(r.coef, den)
}

// IsZero reports whether r is the zero value (no rate).
func (r Rate) IsZero() bool { return r.coef == nil }

// String writes the rate as a plain decimal without trailing zeros.
func (r Rate) String() string {
	if r.IsZero() {
		return ""
	}
	s := r.rat().FloatString(r.scale)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Convert turns minor units of currency from into minor units of currency
// to at rate r (1 from = r to): minor x r x 10^(digits(to) - digits(from)),
// computed exactly and rounded half away from zero once. Both currencies
// must be known ISO 4217 codes. A result that does not fit int64 is
// ErrOverflow (wrapped).
func (r Rate) Convert(minor int64, from, to string) (int64, error) {
	if r.IsZero() {
		return 0, fmt.Errorf("%w: no rate", ErrRate)
	}
	ef, ok1 := Exponent(from)
	et, ok2 := Exponent(to)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("money: convert %s to %s: unknown currency", from, to)
	}
	num := new(big.Int).Mul(big.NewInt(minor), r.coef)
	num.Abs(num)
	// value = num / 10^(scale + ef - et)
	q := shiftRounded(num, et-ef-r.scale)
	if minor < 0 {
		q.Neg(q)
	}
	if !q.IsInt64() {
		return 0, fmt.Errorf("money: convert %s to %s: %w", from, to, ErrOverflow)
	}
	return q.Int64(), nil
}
