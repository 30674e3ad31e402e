package program

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

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

// CurrencyExponent returns the number of minor-unit digits of an ISO 4217
// currency (2 for USD, 0 for JPY, 3 for KWD) and whether the code is known.
// The code must be upper case.
func CurrencyExponent(code string) (int, bool) {
	e, ok := currencyExponents[code]
	return e, ok
}

// FormatAmount renders an amount in minor units as a decimal in major units
// followed by the currency code, e.g. FormatAmount(50000, "USD") is
// "500.00 USD". Unknown currencies are shown with two decimals.
func FormatAmount(minor int64, currency string) string {
	exp, ok := CurrencyExponent(currency)
	if !ok {
		exp = 2
	}
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
	return strings.TrimSpace(sign + s + " " + currency)
}

var errOverflow = errors.New("is too large")

// parseFixed parses an unsigned-or-negative plain decimal ("500", "500.00",
// "-1.5") into an integer scaled by 10^scale, exactly. More fractional digits
// than scale are accepted only when they are zeros. No exponents, no
// separators, no floats.
func parseFixed(s string, scale int) (int64, error) {
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
		return 0, errOverflow
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, errOverflow
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

// parseAmount converts a decimal in major units to minor units of currency.
func parseAmount(s, currency string) (int64, error) {
	exp, ok := CurrencyExponent(currency)
	if !ok {
		return 0, fmt.Errorf("cannot be read: unknown currency %q", currency)
	}
	v, err := parseFixed(s, exp)
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

// durationUnits are the suffixes a duration may use, in seconds.
var durationUnits = map[byte]int64{'w': 7 * 86400, 'd': 86400, 'h': 3600, 'm': 60, 's': 1}

// parseDuration reads "30d", "12h", "90m", "45s", "1w", combinations such as
// "1d12h", or a plain number of seconds ("3600"), into whole seconds.
func parseDuration(s string) (int64, error) {
	orig := s
	s = strings.TrimSpace(strings.ToLower(s))
	neg := false
	if strings.HasPrefix(s, "-") {
		neg = true
		s = s[1:]
	}
	if s == "" {
		return 0, fmt.Errorf("%q is not a duration (write e.g. 30d, 12h, 90m, 45s)", orig)
	}
	if allDigits(s) {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q %w", orig, errOverflow)
		}
		if neg {
			v = -v
		}
		return v, nil
	}
	var total int64
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, fmt.Errorf("%q is not a duration (write e.g. 30d, 12h, 90m, 45s)", orig)
		}
		unit, ok := durationUnits[s[i]]
		if !ok {
			return 0, fmt.Errorf("%q has unknown unit %q (want w, d, h, m or s)", orig, s[i:i+1])
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n > math.MaxInt64/unit || total > math.MaxInt64-n*unit {
			return 0, fmt.Errorf("%q %w", orig, errOverflow)
		}
		total += n * unit
		s = s[i+1:]
	}
	if neg {
		total = -total
	}
	return total, nil
}

// parsePercent reads "10%" or "2.5%" into basis points (1000, 250). The
// percent sign is required so that 0.1 and 10 cannot be confused.
func parsePercent(s string) (int64, error) {
	t := strings.TrimSpace(s)
	num, ok := strings.CutSuffix(t, "%")
	if !ok {
		return 0, fmt.Errorf("%q needs a percent sign (write e.g. \"10%%\")", s)
	}
	v, err := parseFixed(strings.TrimSpace(num), 2)
	if err != nil {
		return 0, fmt.Errorf("%q %w", s, err)
	}
	return v, nil
}

// parseMultiplier reads 1.5 (or "1.5x") into basis points (15000).
func parseMultiplier(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(strings.ToLower(s)), "x")
	v, err := parseFixed(t, 4)
	if err != nil {
		return 0, fmt.Errorf("%q %w", s, err)
	}
	return v, nil
}
