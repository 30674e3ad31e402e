package rewards

import (
	"fmt"
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
