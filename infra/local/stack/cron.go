package stack

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cron is an EventBridge cron expression, cron(minutes hours day-of-month
// month day-of-week year), evaluated in UTC as EventBridge does. It
// supports what rules of this product use and what is common: *, ?,
// values, lists, ranges and steps, month and weekday names; L, W and #
// are refused (the schedule is then not run locally, and the log says so).
type Cron struct {
	fields [6]map[int]bool // nil = any
}

// cronRanges are each field's bounds; day-of-week is 1 (SUN) to 7 (SAT).
var cronRanges = [6][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {1, 7}, {1970, 2199}}

var cronNames = [6]map[string]int{
	3: {"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12},
	4: {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7},
}

// ParseCron parses "cron(...)".
func ParseCron(expr string) (*Cron, error) {
	inner, ok := strings.CutPrefix(strings.TrimSpace(expr), "cron(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return nil, fmt.Errorf("schedule %q is not cron(...)", expr)
	}
	parts := strings.Fields(strings.TrimSuffix(inner, ")"))
	if len(parts) != 6 {
		return nil, fmt.Errorf("schedule %q: want 6 fields (minutes hours day-of-month month day-of-week year)", expr)
	}
	var c Cron
	for i, p := range parts {
		set, err := cronField(p, i)
		if err != nil {
			return nil, fmt.Errorf("schedule %q field %d: %w", expr, i+1, err)
		}
		c.fields[i] = set
	}
	if c.fields[2] != nil && c.fields[4] != nil {
		return nil, fmt.Errorf("schedule %q: day-of-month and day-of-week cannot both be set (one must be ?)", expr)
	}
	return &c, nil
}

func cronField(p string, i int) (map[int]bool, error) {
	if p == "*" || p == "?" {
		return nil, nil
	}
	if strings.ContainsAny(p, "LW#") && !strings.ContainsAny(strings.ToUpper(p), "ABCDEFGHIJKMNOPQRSTUVXYZ") {
		return nil, fmt.Errorf("%q: L, W and # are not evaluated locally", p)
	}
	lo, hi := cronRanges[i][0], cronRanges[i][1]
	set := map[int]bool{}
	for _, item := range strings.Split(p, ",") {
		rng, step := item, 1
		if r, s, ok := strings.Cut(item, "/"); ok {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("%q: bad step", item)
			}
			rng, step = r, n
		}
		from, to := lo, hi
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if from, err = cronValue(a, i); err != nil {
				return nil, err
			}
			to = from
			if isRange {
				if to, err = cronValue(b, i); err != nil {
					return nil, err
				}
			} else if step > 1 {
				to = hi
			}
		}
		if from < lo || to > hi || from > to {
			return nil, fmt.Errorf("%q: out of range %d-%d", item, lo, hi)
		}
		for v := from; v <= to; v += step {
			set[v] = true
		}
	}
	return set, nil
}

func cronValue(s string, i int) (int, error) {
	if v, ok := cronNames[i][strings.ToUpper(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q: not a value", s)
	}
	return v, nil
}

func (c *Cron) match(i, v int) bool { return c.fields[i] == nil || c.fields[i][v] }

// Next returns the first minute strictly after t at which the schedule
// fires (zero when it never fires again before 2200).
func (c *Cron) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	for t.Year() < 2200 {
		switch {
		case !c.match(5, t.Year()):
			t = time.Date(t.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
		case !c.match(3, int(t.Month())):
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !c.match(2, t.Day()) || !c.match(4, int(t.Weekday())+1):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case !c.match(1, t.Hour()):
			t = t.Truncate(time.Hour).Add(time.Hour)
		case !c.match(0, t.Minute()):
			t = t.Add(time.Minute)
		default:
			return t
		}
	}
	return time.Time{}
}
