// Package money is Referflow's one notion of an amount: an integer number of
// minor units of an ISO 4217 currency, with the number of minor-unit digits
// of every currency taken from one table. It parses amounts exactly (no
// floating point anywhere) and formats them the same way for the activity
// log, the status API and the finance export.
package money

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Money is an amount in minor units of an ISO 4217 currency.
type Money struct {
	Minor    int64  // e.g. 1250000 for 12,500.00 USD
	Currency string // upper-case ISO code; "" when the sender did not say
}

// currencyExponents maps ISO 4217 codes to their number of minor-unit digits.
// It covers the currencies in current use; funds, metals and test codes are
// left out on purpose.
var currencyExponents = map[string]int{
	// zero decimals
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
	"KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
	"XAF": 0, "XOF": 0, "XPF": 0,
	// three decimals
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// four decimals
	"CLF": 4, "UYW": 4,
	// two decimals
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2,
	"AUD": 2, "AWG": 2, "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2,
	"BMD": 2, "BND": 2, "BOB": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2,
	"BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CNY": 2, "COP": 2,
	"CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DKK": 2, "DOP": 2, "DZD": 2,
	"EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2,
	"GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GTQ": 2, "GYD": 2, "HKD": 2,
	"HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IRR": 2,
	"JMD": 2, "KES": 2, "KGS": 2, "KHR": 2, "KPW": 2, "KYD": 2, "KZT": 2,
	"LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "MAD": 2, "MDL": 2,
	"MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2,
	"MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2,
	"NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2, "PAB": 2, "PEN": 2, "PGK": 2,
	"PHP": 2, "PKR": 2, "PLN": 2, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2,
	"SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2,
	"SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2,
	"SZL": 2, "THB": 2, "TJS": 2, "TMT": 2, "TOP": 2, "TRY": 2, "TTD": 2,
	"TWD": 2, "TZS": 2, "UAH": 2, "USD": 2, "UYU": 2, "UZS": 2, "VES": 2,
	"WST": 2, "XCD": 2, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}

// Exponent returns the number of minor-unit digits of an ISO 4217 currency
// (2 for USD, 0 for JPY and UGX, 3 for KWD, 4 for CLF) and whether the code
// is known. The code must be upper case.
func Exponent(code string) (int, bool) {
	e, ok := currencyExponents[code]
	return e, ok
}

// Digits is Exponent for an amount that must be shown or read anyway: an
// unknown or empty currency counts as two decimals.
func Digits(code string) int {
	if e, ok := currencyExponents[code]; ok {
		return e
	}
	return 2
}

// FormatMinor writes an amount in minor units as a decimal in major units
// with exactly the currency's number of decimals: "500.00" for 50000 USD,
// "100000" for 100000 UGX, "12.3456" for 123456 CLF. Unknown currencies
// get two decimals. It is exact for every int64, math.MinInt64 included.
func FormatMinor(minor int64, currency string) string {
	exp := Digits(currency)
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign = "-"
		u = uint64(-(minor + 1)) + 1 // safe for math.MinInt64
	}
	s := strconv.FormatUint(u, 10)
	if exp > 0 {
		if len(s) <= exp {
			s = strings.Repeat("0", exp-len(s)+1) + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	return sign + s
}

// Format is FormatMinor followed by the currency code: "500.00 USD".
func Format(minor int64, currency string) string {
	return strings.TrimSpace(FormatMinor(minor, currency) + " " + currency)
}

// String formats m like Format.
func (m Money) String() string { return Format(m.Minor, m.Currency) }

// ErrOverflow: the amount does not fit in int64 minor units.
var ErrOverflow = errors.New("is too large")

// ErrAmount: a CRM-sent amount that is not a decimal number.
var ErrAmount = errors.New("money: invalid amount")

// ParseDecimal parses an unsigned-or-negative plain decimal ("500", "500.00",
// "-1.5") into an integer scaled by 10^scale, exactly. More fractional digits
// than scale are accepted only when they are zeros. No exponents, no
// separators, no floats.
func ParseDecimal(s string, scale int) (int64, error) {
	s = strings.TrimSpace(s)
	neg := false
	if strings.HasPrefix(s, "-") {
		neg = true
		s = s[1:]
	} else if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("is not a decimal number")
	}
	if hasDot && frac == "" {
		return 0, fmt.Errorf("is not a decimal number")
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return 0, fmt.Errorf("is not a plain decimal number (write e.g. 500 or 500.00)")
	}
	if len(frac) > scale {
		extra := frac[scale:]
		if strings.Trim(extra, "0") != "" {
			return 0, fmt.Errorf("has more than %d decimal places", scale)
		}
		frac = frac[:scale]
	}
	frac += strings.Repeat("0", scale-len(frac))
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return 0, nil
	}
	if len(digits) > 18 {
		return 0, ErrOverflow
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, ErrOverflow
	}
	if neg {
		v = -v
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseAmount converts a plain decimal in major units ("500", "500.00") to
// minor units of currency, exactly; more decimals than the currency has
// are refused unless they are zeros. It is the strict reading programs use.
func ParseAmount(s, currency string) (int64, error) {
	exp, ok := Exponent(currency)
	if !ok {
		return 0, fmt.Errorf("cannot be read: unknown currency %q", currency)
	}
	v, err := ParseDecimal(s, exp)
	if err != nil {
		if exp == 0 && strings.Contains(err.Error(), "decimal places") {
			return 0, fmt.Errorf("%q: %s has no minor unit, write a whole number", s, currency)
		}
		if strings.Contains(err.Error(), "decimal places") {
			return 0, fmt.Errorf("%q: %s has only %d decimal places", s, currency, exp)
		}
		return 0, fmt.Errorf("%q %w", s, err)
	}
	return v, nil
}

// maxAmountLen bounds the textual amounts Parse accepts, so that no input
// can make the decimal arithmetic expensive.
const maxAmountLen = 40

// Parse reads a decimal amount as a CRM sends it ("12500.50", "120000.0",
// "1.5E+3", "-3") into exact minor units of currency (upper-cased; an
// unknown or empty currency counts as two decimals). Digits beyond the
// currency's minor unit are rounded half away from zero. An empty amount is
// (nil, nil).
func Parse(amount, currency string) (*Money, error) {
	amount = strings.TrimSpace(amount)
	if amount == "" {
		return nil, nil
	}
	cur := strings.ToUpper(strings.TrimSpace(currency))
	minor, err := ParseMinor(amount, Digits(cur))
	if err != nil {
		return nil, err
	}
	return &Money{Minor: minor, Currency: cur}, nil
}

// ParseMinor parses a decimal string (optional sign, digits, optional
// fraction, optional exponent) and returns it scaled by 10^exp, rounded half
// away from zero. It fails on anything else or when the result overflows int64.
func ParseMinor(s string, exp int) (int64, error) {
	if len(s) == 0 || len(s) > maxAmountLen {
		return 0, ErrAmount
	}
	d, rest, ok := scanMantissa(s)
	if !ok {
		return 0, ErrAmount
	}
	e, ok := parseExponent(rest)
	if !ok {
		return 0, ErrAmount
	}
	m, ok := new(big.Int).SetString(d.digits, 10)
	if !ok {
		return 0, ErrAmount
	}
	m = shiftRounded(m, exp+e-d.frac)
	if d.neg {
		m.Neg(m)
	}
	if !m.IsInt64() {
		return 0, ErrAmount
	}
	return m.Int64(), nil
}

// mantissa is the part of a decimal string before its exponent: the sign,
// every digit with the dot dropped, and how many of those digits followed
// the dot.
type mantissa struct {
	neg    bool
	digits string
	frac   int
}

// scanMantissa reads an optional sign, digits and at most one dot from the
// start of s, and returns them with the unread rest of s. ok is false when
// there is not at least one digit.
func scanMantissa(s string) (d mantissa, rest string, ok bool) {
	i := 0
	if i < len(s) && (s[0] == '+' || s[0] == '-') {
		d.neg = s[0] == '-'
		i++
	}
	var digits strings.Builder
	seenDot := false
scan:
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits.WriteByte(c)
			if seenDot {
				d.frac++
			}
		case c == '.' && !seenDot:
			seenDot = true
		default:
			break scan
		}
	}
	d.digits = digits.String()
	return d, s[i:], d.digits != ""
}

// parseExponent reads what follows a mantissa: nothing (exponent 0) or 'e'
// or 'E', an optional sign and at least one digit, with nothing after. ok is
// false on anything else or when the exponent's magnitude exceeds 40.
func parseExponent(s string) (e int, ok bool) {
	if s == "" {
		return 0, true
	}
	if s[0] != 'e' && s[0] != 'E' {
		return 0, false
	}
	i := 1
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i == len(s) {
		return 0, false
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		e = e*10 + int(c-'0')
		if e > 40 {
			return 0, false
		}
	}
	if neg {
		e = -e
	}
	return e, true
}

// shiftRounded returns m (non-negative) multiplied by 10^shift; for a
// negative shift the quotient is rounded half away from zero. m may be
// modified and returned.
func shiftRounded(m *big.Int, shift int) *big.Int {
	ten := big.NewInt(10)
	if shift >= 0 {
		return m.Mul(m, new(big.Int).Exp(ten, big.NewInt(int64(shift)), nil))
	}
	div := new(big.Int).Exp(ten, big.NewInt(int64(-shift)), nil)
	q, r := new(big.Int).QuoRem(m, div, new(big.Int))
	if r.Lsh(r, 1).Cmp(div) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// Rescale converts minor units with from decimals into minor units with to
// decimals, rounding half away from zero once (unchanged on overflow).
func Rescale(v int64, from, to int) int64 {
	if from < to {
		w := v
		for ; from < to; from++ {
			if w > math.MaxInt64/10 || w < math.MinInt64/10 {
				return v
			}
			w *= 10
		}
		return w
	}
	div := int64(1)
	for ; from > to; from-- {
		div *= 10
	}
	q, r := v/div, v%div
	if 2*r >= div {
		q++
	} else if 2*r <= -div {
		q--
	}
	return q
}
