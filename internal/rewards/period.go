package reward

import (
	"fmt"
	"math"
	"time"

	"github.com/referflow/referflow/internal/program"
)

// PeriodKey names the period (program.PeriodMonth, PeriodQuarter, PeriodYear
// or PeriodAll) that contains t, in UTC: "2026-11", "2026-Q4", "2026" or
// "all". Keys of one period sort in time order. It returns "" for an unknown
// period.
func PeriodKey(period string, t time.Time) string {
	t = t.UTC()
	switch period {
	case program.PeriodMonth:
		return fmt.Sprintf("%04d-%02d", t.Year(), int(t.Month()))
	case program.PeriodQuarter:
		return fmt.Sprintf("%04d-Q%d", t.Year(), (int(t.Month())+2)/3)
	case program.PeriodYear:
		return fmt.Sprintf("%04d", t.Year())
	case program.PeriodAll:
		return program.PeriodAll
	}
	return ""
}

// PeriodStart returns the first instant (UTC) of the period containing t. For
// PeriodAll and unknown periods it returns the zero time.
func PeriodStart(period string, t time.Time) time.Time {
	t = t.UTC()
	switch period {
	case program.PeriodMonth:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	case program.PeriodQuarter:
		q := (int(t.Month()) - 1) / 3
		return time.Date(t.Year(), time.Month(q*3+1), 1, 0, 0, 0, 0, time.UTC)
	case program.PeriodYear:
		return time.Date(t.Year(), time.January, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// PeriodEnd returns the first instant (UTC) after the period containing t,
// so that PeriodStart <= t < PeriodEnd. For PeriodAll and unknown periods it
// returns the zero time, meaning "never ends".
func PeriodEnd(period string, t time.Time) time.Time {
	start := PeriodStart(period, t)
	switch period {
	case program.PeriodMonth:
		return start.AddDate(0, 1, 0)
	case program.PeriodQuarter:
		return start.AddDate(0, 3, 0)
	case program.PeriodYear:
		return start.AddDate(1, 0, 0)
	}
	return time.Time{}
}

// Headroom returns how much more can be spent under limit after spent, and
// whether there is a limit at all (limit 0 means none, and then headroom is
// math.MaxInt64). Headroom is never negative.
func Headroom(limit, spent int64) (int64, bool) {
	if limit <= 0 {
		return math.MaxInt64, false
	}
	if spent >= limit {
		return 0, true
	}
	return limit - max(spent, 0), true
}

// Fits reports whether amount can be spent under limit after spent (limit 0
// means no limit). A zero amount always fits.
func Fits(amount, limit, spent int64) bool {
	if amount <= 0 {
		return true
	}
	room, _ := Headroom(limit, spent)
	return amount <= room
}
