package notify

import (
	"slices"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/money"
)

// Summary is a partner's month (monthly_summary).
type Summary struct {
	Month     string        // "March 2026"
	Period    string        // the same month, "2026-03" (feedback links)
	Referrals []StatusCount // referrals made in the month, by status now
	Earned    string        // rewards earned in the month, "500.00 USD" ("0" for none)
	OnHold    string        // of those, not paid yet
	Paid      string        // rewards paid in the month
}

// StatusCount is how many referrals are in a status.
type StatusCount struct {
	Status string
	Count  int
}

// Tally adds up a partner's month; its zero value is empty.
type Tally struct {
	statuses             map[string]int
	earned, onHold, paid map[string]int64
}

// Referral counts a referral made in the month, in its status now.
func (t *Tally) Referral(status string) {
	if t.statuses == nil {
		t.statuses = map[string]int{}
	}
	t.statuses[status]++
}

// Earned counts a reward earned in the month; unpaid says it is not paid
// yet (on hold, pending or waiting for approval).
func (t *Tally) Earned(minor int64, currency string, unpaid bool) {
	t.earned = add(t.earned, currency, minor)
	if unpaid {
		t.onHold = add(t.onHold, currency, minor)
	}
}

// Paid counts a reward paid in the month.
func (t *Tally) Paid(minor int64, currency string) { t.paid = add(t.paid, currency, minor) }

// Empty reports whether nothing was counted: no summary is sent then.
func (t *Tally) Empty() bool {
	return len(t.statuses) == 0 && len(t.earned) == 0 && len(t.paid) == 0
}

// Summary is the month starting at month (its first day), statuses in
// the order a referral moves through them, amounts per currency.
func (t *Tally) Summary(month time.Time) Summary {
	s := Summary{Month: month.UTC().Format("January 2006"), Period: month.UTC().Format("2006-01"), Earned: amounts(t.earned), OnHold: amounts(t.onHold), Paid: amounts(t.paid)}
	for _, st := range statusOrder {
		if c := t.statuses[st]; c > 0 {
			s.Referrals = append(s.Referrals, StatusCount{Status: st, Count: c})
		}
	}
	var other []string
	for st := range t.statuses {
		if !slices.Contains(statusOrder, st) {
			other = append(other, st)
		}
	}
	slices.Sort(other)
	for _, st := range other {
		s.Referrals = append(s.Referrals, StatusCount{Status: st, Count: t.statuses[st]})
	}
	return s
}

var statusOrder = []string{"received", "verifying", "in_review", "in_progress", "completed", "rejected", "lost", "expired", "needs_attention"}

func add(m map[string]int64, currency string, minor int64) map[string]int64 {
	if m == nil {
		m = map[string]int64{}
	}
	m[currency] += minor
	return m
}

// amounts says per-currency totals: "500.00 USD + 20.00 EUR", "0" for none.
func amounts(m map[string]int64) string {
	cur := make([]string, 0, len(m))
	for c := range m {
		cur = append(cur, c)
	}
	slices.Sort(cur)
	parts := make([]string, 0, len(cur))
	for _, c := range cur {
		parts = append(parts, money.Format(m[c], c))
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, " + ")
}
