package reward

import (
	"math"
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
		start  time.Time
		end    time.Time
	}{
		{program.PeriodMonth, nov, "2026-11", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{program.PeriodQuarter, nov, "2026-Q4", time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{program.PeriodYear, nov, "2026", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{program.PeriodAll, nov, "all", time.Time{}, time.Time{}},
		{program.PeriodMonth, newYearsEveNY, "2027-01", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)},
		{program.PeriodQuarter, time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC), "2026-Q1", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)},
		{program.PeriodQuarter, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), "2026-Q2", time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)},
		{"week", nov, "", time.Time{}, time.Time{}},
	} {
		if got := PeriodKey(c.period, c.t); got != c.key {
			t.Errorf("PeriodKey(%s, %v) = %q, want %q", c.period, c.t, got, c.key)
		}
		if got := PeriodStart(c.period, c.t); !got.Equal(c.start) {
			t.Errorf("PeriodStart(%s, %v) = %v, want %v", c.period, c.t, got, c.start)
		}
		if got := PeriodEnd(c.period, c.t); !got.Equal(c.end) {
			t.Errorf("PeriodEnd(%s, %v) = %v, want %v", c.period, c.t, got, c.end)
		}
	}
}

// For any instant: start <= t < end, the start has the same key, the end the next one.
func TestPeriodProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 5000; i++ {
		tm := time.Unix(rng.Int64N(4102444800), 0) // 1970..2100
		for _, p := range []string{program.PeriodMonth, program.PeriodQuarter, program.PeriodYear} {
			s, e := PeriodStart(p, tm), PeriodEnd(p, tm)
			if tm.Before(s) || !tm.Before(e) {
				t.Fatalf("%s %v not in [%v, %v)", p, tm, s, e)
			}
			if PeriodKey(p, s) != PeriodKey(p, tm) || PeriodKey(p, e) == PeriodKey(p, tm) || PeriodKey(p, e) < PeriodKey(p, tm) {
				t.Fatalf("%s keys: start %s t %s end %s", p, PeriodKey(p, s), PeriodKey(p, tm), PeriodKey(p, e))
			}
			if !PeriodEnd(p, e.Add(-time.Nanosecond)).Equal(e) {
				t.Fatalf("%s: last instant of the period ends it at %v", p, e)
			}
		}
	}
}

func TestCaps(t *testing.T) {
	for _, c := range []struct {
		amount, limit, spent int64
		fits                 bool
		room                 int64
		capped               bool
	}{
		{100, 0, 1 << 60, true, math.MaxInt64, false},
		{100, 1000, 900, true, 100, true},
		{101, 1000, 900, false, 100, true},
		{1, 1000, 1000, false, 0, true},
		{1, 1000, 5000, false, 0, true},
		{0, 1000, 5000, true, 0, true},
		{math.MaxInt64, 1000, 0, false, 1000, true},
	} {
		if got := Fits(c.amount, c.limit, c.spent); got != c.fits {
			t.Errorf("Fits(%d, %d, %d) = %v", c.amount, c.limit, c.spent, got)
		}
		if room, capped := Headroom(c.limit, c.spent); room != c.room || capped != c.capped {
			t.Errorf("Headroom(%d, %d) = %d, %v", c.limit, c.spent, room, capped)
		}
	}
}
