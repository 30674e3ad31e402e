package kpis

import (
	"time"
)

// Granularities of a period.
const (
	PeriodDay    = "day"
	PeriodWeek   = "week"
	PeriodMonth  = "month"
	PeriodCustom = "custom"
)

// MaxDays bounds a period (a KPI read costs one item per day).
const MaxDays = 366

// Period is a range of whole UTC days, From and To included.
type Period struct {
	Kind     string
	From, To time.Time
}

// Months lists the UTC months (YYYY-MM) the period touches, in order.
func (p Period) Months() []string {
	var out []string
	for m := time.Date(p.From.Year(), p.From.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(p.To); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}

// ParsePeriod reads a period from a query: from and to (YYYY-MM-DD, both
// included; period custom), or period=day|week|month with at (a day
// YYYY-MM-DD; for month also YYYY-MM; a week is the ISO week, Monday to
// Sunday, holding that day). With neither, it is the current UTC month.
// Bad values come back as fields (name → message), and no period.
func ParsePeriod(q map[string]string, now time.Time) (Period, map[string]string) {
	fields := map[string]string{}
	from, to, kind, at := q["from"], q["to"], q["period"], q["at"]
	var p Period
	switch {
	case from != "" || to != "":
		if kind != "" && kind != PeriodCustom {
			fields["period"] = "give either from and to, or period and at"
		}
		p = Period{Kind: PeriodCustom, From: parseDay(fields, "from", from), To: parseDay(fields, "to", to)}
		if len(fields) == 0 && p.To.Before(p.From) {
			fields["to"] = "must not be before from"
		}
	default:
		if at == "" {
			at = now.UTC().Format(time.DateOnly)
		}
		if kind == "" {
			kind = PeriodMonth
		}
		p = around(fields, kind, at)
	}
	if len(fields) == 0 && p.To.Sub(p.From) >= MaxDays*24*time.Hour {
		fields["to"] = "a period covers at most 366 days"
	}
	if len(fields) > 0 {
		return Period{}, fields
	}
	return p, nil
}

func parseDay(fields map[string]string, name, v string) time.Time {
	if v == "" {
		fields[name] = "required, YYYY-MM-DD"
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		fields[name] = "must be a date YYYY-MM-DD"
	}
	return t
}

func around(fields map[string]string, kind, at string) Period {
	if kind == PeriodMonth {
		if t, err := time.Parse("2006-01", at); err == nil {
			return Period{Kind: kind, From: t, To: t.AddDate(0, 1, -1)}
		}
	}
	t, err := time.Parse(time.DateOnly, at)
	if err != nil {
		fields["at"] = "must be a date YYYY-MM-DD (or YYYY-MM for a month)"
		return Period{}
	}
	switch kind {
	case PeriodDay:
		return Period{Kind: kind, From: t, To: t}
	case PeriodWeek:
		monday := t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
		return Period{Kind: kind, From: monday, To: monday.AddDate(0, 0, 6)}
	case PeriodMonth:
		first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return Period{Kind: kind, From: first, To: first.AddDate(0, 1, -1)}
	}
	fields["period"] = "must be day, week, month or custom"
	return Period{}
}
