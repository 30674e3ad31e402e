package crm

import (
	"errors"
	"math/big"
	"strings"
)

var ErrAmount = errors.New("crm: invalid amount")

// maxAmountLen bounds the textual amounts accepted, so that no input can make
// the decimal arithmetic below expensive.
const maxAmountLen = 40

// ParseMoney converts a decimal amount as a CRM sends it ("12500.50", "120000.0",
// "1.5E+3", "-3") into exact minor units of currency. No floating point is
// involved: "12500.50" EUR is 1250050. Digits beyond the currency's minor unit
// are rounded half away from zero. An empty amount is (nil, nil).
func ParseMoney(amount, currency string) (*Money, error) {
	amount = strings.TrimSpace(amount)
	if amount == "" {
		return nil, nil
	}
	cur := strings.ToUpper(strings.TrimSpace(currency))
	minor, err := ParseMinor(amount, CurrencyExponent(cur))
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
	i := 0
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		i++
	}
	var mant strings.Builder
	frac := 0
	digits := 0
	seenDot := false
scan:
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			mant.WriteByte(c)
			digits++
			if seenDot {
				frac++
			}
		case c == '.' && !seenDot:
			seenDot = true
		default:
			break scan
		}
	}
	if digits == 0 {
		return 0, ErrAmount
	}
	e := 0
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return 0, ErrAmount
		}
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return 0, ErrAmount
		}
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, ErrAmount
			}
			e = e*10 + int(c-'0')
			if e > 40 {
				return 0, ErrAmount
			}
		}
		if eneg {
			e = -e
		}
	}
	m, ok := new(big.Int).SetString(mant.String(), 10)
	if !ok {
		return 0, ErrAmount
	}
	shift := exp + e - frac
	ten := big.NewInt(10)
	if shift >= 0 {
		m.Mul(m, new(big.Int).Exp(ten, big.NewInt(int64(shift)), nil))
	} else {
		div := new(big.Int).Exp(ten, big.NewInt(int64(-shift)), nil)
		q, r := new(big.Int).QuoRem(m, div, new(big.Int))
		if r.Lsh(r, 1).Cmp(div) >= 0 {
			q.Add(q, big.NewInt(1))
		}
		m = q
	}
	if neg {
		m.Neg(m)
	}
	if !m.IsInt64() {
		return 0, ErrAmount
	}
	return m.Int64(), nil
}

// CurrencyExponent is the number of minor-unit digits of an ISO 4217
// currency: 2 unless listed, and 2 when the currency is unknown.
func CurrencyExponent(cur string) int {
	switch cur {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
		"RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	}
	return 2
}
