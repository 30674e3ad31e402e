package rewards

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/program"
)

func TestPeriodKey(t *testing.T) {
	nov := time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC)
	newYearsEveNY := time.Date(2026, 12, 31, 20, 0, 0, 0, time.FixedZone("EST", -5*3600)) // 2027-01-01 01:00 UTC
	for _, c := range []struct {
		period string
		t      time.Time
		key    string
	}{
		{program.PeriodMonth, nov, "2026-11"},
		{program.PeriodQuarter, nov, "2026-Q4"},
		{program.PeriodYear, nov, "2026"},
		{program.PeriodAll, nov, "all"},
		{program.PeriodMonth, newYearsEveNY, "2027-01"},
		{program.PeriodQuarter, time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC), "2026-Q1"},
		{program.PeriodQuarter, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), "2026-Q2"},
		{"week", nov, ""},
	} {
		if got := PeriodKey(c.period, c.t); got != c.key {
			t.Errorf("PeriodKey(%s, %v) = %q, want %q", c.period, c.t, got, c.key)
		}
	}
}

// Keys of one period sort in time order, and a key changes only when the
// calendar period does.
func TestPeriodKeysSortInTimeOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 5000; i++ {
		a := time.Unix(rng.Int64N(4102444800), 0).UTC() // 1970..2100
		b := a.Add(time.Duration(rng.Int64N(int64(400 * 24 * time.Hour))))
		for _, p := range []string{program.PeriodMonth, program.PeriodQuarter, program.PeriodYear} {
			ka, kb := PeriodKey(p, a), PeriodKey(p, b)
			if ka > kb {
				t.Fatalf("%s: %v is %s, later %v is %s", p, a, ka, b, kb)
			}
			same := map[string]bool{
				program.PeriodMonth:   a.Year() == b.Year() && a.Month() == b.Month(),
				program.PeriodQuarter: a.Year() == b.Year() && (a.Month()-1)/3 == (b.Month()-1)/3,
				program.PeriodYear:    a.Year() == b.Year(),
			}[p]
			if same != (ka == kb) {
				t.Fatalf("%s: %v (%s) and %v (%s): same period %v", p, a, ka, b, kb, same)
			}
		}
	}
}
