package kpis

import (
	"slices"
	"strconv"
	"time"

	"github.com/referflow/referflow/internal/events"
)

// Facts are what the store says about a referral when one of its events
// arrives (ids, codes, times and amounts: no personal data).
type Facts struct {
	ProgramID    string
	ReferrerCode string
	ReceivedAt   time.Time
	// Accepted: the checks or a person approved it; Rejected: its status
	// is rejected, with its verification reason codes.
	Accepted bool
	Rejected bool
	Reasons  []string
	// Milestones maps each reached milestone to when it was recorded;
	// Last is the program version's last milestone (a customer).
	Milestones map[string]time.Time
	Last       string
	// Ended is "lost" or "expired" once the referral ended so; EndedAt
	// when (zero: the event's time).
	Ended   string
	EndedAt time.Time
	// The deal's amount, minor units of DealCurrency ("" = the program's).
	DealMinor    int64
	DealCurrency string
	Currency     string // the program's currency
	// Experiment and Variant are the referral's ("" = none): its facts and
	// amounts are also counted on the variant's item (experiments.go).
	Experiment, Variant string
}

// State is what has been counted of one referral (stored beside the
// counters, written in the same transaction as the additions).
type State struct {
	Version    int64    `dynamodbav:"version"`
	Received   bool     `dynamodbav:"received,omitempty"`
	Decided    string   `dynamodbav:"decided,omitempty"` // accepted | rejected
	Milestones []string `dynamodbav:"milestones,omitempty"`
	Ended      string   `dynamodbav:"ended,omitempty"`
	Customer   bool     `dynamodbav:"customer,omitempty"`
	// Revenue counted at the customer milestone (then amended when the
	// deal amount changes), minor units of RevenueCurrency.
	RevenueMinor    int64  `dynamodbav:"revenue_minor,omitempty"`
	RevenueCurrency string `dynamodbav:"revenue_currency,omitempty"`
}

// Plan returns what event ev adds to the counters of program f.ProgramID
// given the referral's facts and what was counted before, and the state
// after. It is deterministic: applying its changes once per event id (the
// store's marker) and the state under the version read (optimistic
// concurrency) counts each referral fact exactly once, whatever order and
// how many times events arrive.
func Plan(ev events.Event, f Facts, before State) ([]Change, State) {
	var c Changes
	st := before
	st.Milestones = slices.Clone(before.Milestones)
	at := ev.At.UTC()
	if !f.ReceivedAt.IsZero() {
		planReferral(&c, &st, f, at)
	}
	planAmounts(&c, ev, at)
	planExperiment(&c, f)
	st.Version = before.Version + 1
	return c.List(), st
}

func planReferral(c *Changes, st *State, f Facts, at time.Time) {
	day := DaySK(f.ReceivedAt)
	if !st.Received {
		st.Received = true
		c.Add(day, Received, 1)
		c.Add(CohortSK(f.ReceivedAt), Received, 1)
		if f.ReferrerCode != "" {
			c.Add(PartnerSK(f.ReceivedAt, f.ReferrerCode), PartnerReferrals, 1)
		}
	}
	switch {
	case st.Decided == "" && f.Accepted:
		st.Decided = Accepted
		c.Add(DaySK(at), Accepted, 1)
	case st.Decided == "" && f.Rejected:
		st.Decided = Rejected
		c.Add(DaySK(at), Rejected, 1)
		for _, code := range f.Reasons {
			c.Add(DaySK(at), Name(Rejected, code), 1)
		}
	}
	names := make([]string, 0, len(f.Milestones))
	for m := range f.Milestones {
		names = append(names, m)
	}
	slices.Sort(names)
	for _, m := range names {
		if slices.Contains(st.Milestones, m) {
			continue
		}
		t := f.Milestones[m].UTC()
		st.Milestones = append(st.Milestones, m)
		c.Add(DaySK(t), Name(Reached, m), 1)
		c.Add(DaySK(t), ttmName(m, Days(f.ReceivedAt, t)), 1)
		c.Add(CohortSK(f.ReceivedAt), Name(Reached, m, strconv.Itoa(MonthsAfter(f.ReceivedAt, t))), 1)
	}
	if f.Ended != "" && st.Ended == "" && (f.Ended == Lost || f.Ended == Expired) {
		st.Ended = f.Ended
		when := f.EndedAt
		if when.IsZero() {
			when = at
		}
		c.Add(DaySK(when), f.Ended, 1)
	}
	planCustomer(c, st, f, at)
}

// planCustomer counts the customer and the revenue of its deal on the day
// of the last milestone; a later change of the deal's amount (or currency)
// is counted as a correction on the day of the event that shows it.
func planCustomer(c *Changes, st *State, f Facts, at time.Time) {
	won, ok := f.Milestones[f.Last]
	if f.Last == "" || !ok {
		return
	}
	cur := f.DealCurrency
	if cur == "" {
		cur = f.Currency
	}
	if !st.Customer {
		st.Customer = true
		day := DaySK(won)
		c.Add(day, Customers, 1)
		if f.ReferrerCode != "" {
			c.Add(PartnerSK(won, f.ReferrerCode), Customers, 1)
		}
		if f.DealMinor != 0 && cur != "" {
			c.Add(day, Name(Revenue, cur), f.DealMinor)
			st.RevenueMinor, st.RevenueCurrency = f.DealMinor, cur
		}
		return
	}
	if f.DealMinor == st.RevenueMinor && (cur == st.RevenueCurrency || f.DealMinor == 0) {
		return
	}
	day := DaySK(at)
	if st.RevenueMinor != 0 {
		c.Add(day, Name(Revenue, st.RevenueCurrency), -st.RevenueMinor)
	}
	st.RevenueMinor, st.RevenueCurrency = 0, ""
	if f.DealMinor != 0 && cur != "" {
		c.Add(day, Name(Revenue, cur), f.DealMinor)
		st.RevenueMinor, st.RevenueCurrency = f.DealMinor, cur
	}
}

// planAmounts counts the event's own amount: reward cost (created adds to
// earned, voided takes it back, paid, reversed) and invoices paid, less
// what their refunds gave back (revenue of subscription programs), on the
// event's UTC day.
func planAmounts(c *Changes, ev events.Event, at time.Time) {
	amount, err := strconv.ParseInt(ev.Get("amount_minor"), 10, 64)
	cur := ev.Get("currency")
	if err != nil || cur == "" {
		return
	}
	day := DaySK(at)
	switch ev.Type {
	case events.RewardCreated:
		c.Add(day, Name(Earned, cur), amount)
	case events.RewardVoided:
		c.Add(day, Name(Earned, cur), -amount)
	case events.RewardPaid:
		c.Add(day, Name(Paid, cur), amount)
	case events.RewardReversed:
		c.Add(day, Name(Reversed, cur), amount)
	case events.InvoicePaid:
		c.Add(day, Name(Revenue, cur), amount)
	case events.InvoiceRefunded:
		c.Add(day, Name(Revenue, cur), -amount)
	}
}
