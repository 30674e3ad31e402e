package program

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/referflow/referflow/internal/money"
)

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var errOverflow = money.ErrOverflow

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
	v, err := money.ParseDecimal(strings.TrimSpace(num), 2)
	if err != nil {
		return 0, fmt.Errorf("%q %w", s, err)
	}
	return v, nil
}

// parseMultiplier reads 1.5 (or "1.5x") into basis points (15000).
func parseMultiplier(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(strings.ToLower(s)), "x")
	v, err := money.ParseDecimal(t, 4)
	if err != nil {
		return 0, fmt.Errorf("%q %w", s, err)
	}
	return v, nil
}
