// Package kpis turns domain events into KPI counters and counters into a
// program's KPIs (Report). It is pure: the consumer (functions/kpis) reads
// the facts, Plan decides what to add to which counter, the store writes
// the additions once per event id (store.ApplyKPIEvent), and Build reads a
// period's counters back into a Report. A KPI read costs O(days + partners
// active in the period's months + cohort months), never O(referrals).
//
// Counters, all under the partition KPI#<program>:
//
//	DAY#<yyyy-mm-dd>            per UTC day: received, accepted, rejected,
//	                            rejected:<reason code>, reached:<milestone>,
//	                            ttm:<milestone>:<bucket>, customers, lost,
//	                            expired, revenue:<CUR>, earned:<CUR>,
//	                            paid:<CUR>, reversed:<CUR> (minor units);
//	                            other:* counts the CRM's other deals (lift.go)
//	PARTNER#<yyyy-mm>#<code>    per partner and month: referrals, customers
//	                            (the item's existence marks the partner
//	                            active that month: it is first written by a
//	                            referral)
//	COHORT#<yyyy-mm>            per month of reception: received,
//	                            reached:<milestone>:<months after>
//	EXP#<experiment>#<variant>  per experiment variant, its whole life
//	                            (experiments.go)
//
// A referral's facts (received, decided, milestones, end, revenue) are
// counted once per referral whichever event brings them (State remembers
// what was counted); reward and invoice amounts are counted once per event.
// The CRM's other deals, those no referral is linked to (deal.observed:
// record ids, stages, amounts and times, never who the deal is with), are
// counted once per deal (DealState), and subtracted again if a referral is
// linked to the deal later (lift.go). Nothing personal is ever counted.
package kpis

import (
	"strconv"
	"strings"
	"time"
)

// Sort-key prefixes of the counter items.
const (
	DayPrefix     = "DAY#"
	PartnerPrefix = "PARTNER#"
	CohortPrefix  = "COHORT#"
)

// Counter attribute names (some take a suffix: ":<code>", ":<milestone>",
// ":<CUR>").
const (
	Received         = "received"
	Accepted         = "accepted"
	Rejected         = "rejected"
	Reached          = "reached"
	TTM              = "ttm"
	Customers        = "customers"
	Lost             = "lost"
	Expired          = "expired"
	Revenue          = "revenue"
	Earned           = "earned"
	Paid             = "paid"
	Reversed         = "reversed"
	PartnerReferrals = "referrals"
)

// PK is the partition of a program's counters.
func PK(programID string) string { return "KPI#" + programID }

// DaySK is the sort key of a program's counters of one UTC day.
func DaySK(t time.Time) string { return DayPrefix + t.UTC().Format(time.DateOnly) }

// PartnerSK is the sort key of a partner's counters of one UTC month.
func PartnerSK(t time.Time, code string) string {
	return PartnerPrefix + t.UTC().Format("2006-01") + "#" + code
}

// CohortSK is the sort key of the cohort of referrals received in t's month.
func CohortSK(t time.Time) string { return CohortPrefix + t.UTC().Format("2006-01") }

// Name joins a counter's name and its suffixes with ":".
func Name(parts ...string) string { return strings.Join(parts, ":") }

// Item is one counter item: its sort key and counter values.
type Item struct {
	SK string
	N  map[string]int64
}

// Change is what to add to one counter item.
type Change struct {
	SK  string
	Add map[string]int64
}

// Changes accumulates additions per item, in first-touched order.
type Changes struct {
	order []string
	by    map[string]map[string]int64
}

// Add adds v to counter name of item sk (0 is left out).
func (c *Changes) Add(sk, name string, v int64) {
	if v == 0 {
		return
	}
	if c.by == nil {
		c.by = map[string]map[string]int64{}
	}
	m, ok := c.by[sk]
	if !ok {
		m = map[string]int64{}
		c.by[sk] = m
		c.order = append(c.order, sk)
	}
	m[name] += v
}

// List returns the changes, one per item, without zero additions.
func (c *Changes) List() []Change {
	out := make([]Change, 0, len(c.order))
	for _, sk := range c.order {
		add := map[string]int64{}
		for k, v := range c.by[sk] {
			if v != 0 {
				add[k] = v
			}
		}
		if len(add) > 0 {
			out = append(out, Change{SK: sk, Add: add})
		}
	}
	return out
}

// Bucket returns the time-to-milestone histogram bucket of d days: its
// lower bound and width. Days 0-13 have their own bucket, then weeks to
// day 90 (14-20, ..., 84-90), then 30 days to day 360 (91-120, ...,
// 331-360), then one open bucket (361+, width 0). A median or p90 read back
// is the lower bound of its bucket: exact to the day in the first two
// weeks, to the week in the first quarter, to the month in the first year.
func Bucket(days int) (lo, width int) {
	switch {
	case days < 0:
		return 0, 1
	case days < 14:
		return days, 1
	case days <= 90:
		return 14 + (days-14)/7*7, 7
	case days <= 360:
		return 91 + (days-91)/30*30, 30
	}
	return 361, 0
}

// Days is the whole number of days from received to at (never negative).
func Days(received, at time.Time) int {
	d := int(at.Sub(received) / (24 * time.Hour))
	return max(d, 0)
}

// MonthsAfter is the number of calendar months between the months of
// received and at (0 within the same month, never negative).
func MonthsAfter(received, at time.Time) int {
	r, a := received.UTC(), at.UTC()
	m := (a.Year()-r.Year())*12 + int(a.Month()) - int(r.Month())
	return max(m, 0)
}

func ttmName(milestone string, days int) string {
	lo, _ := Bucket(days)
	return Name(TTM, milestone, strconv.Itoa(lo))
}
