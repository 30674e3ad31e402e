package kpis

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/money"
)

// Other deals: the CRM deals no referral is linked to, read from
// deal.observed events (internal/crm records one per CRM event about such
// a deal and program whose stage mapping knows its stage). Only counts
// and amounts are kept, never who the deal is with. Per program, on the
// DAY# items:
//
//	other:opened             the day the deal was first seen at a stage
//	                         the program maps (a milestone or lost)
//	other:won, other:lost    the day it closed: its first close in CRM
//	                         time (the last milestone, or lost or deleted)
//	other:ttc:<bucket>       won deals by days from first seen to won
//	                         (Bucket's histogram, like ttm)
//	other:amount:<CUR>       won deals' amounts, minor units
//	other:band:<CUR>:<lo>    won deals by amount band (AmountBand)
//
// DealState (KPI-DEAL#<program>#<deal key>) remembers what was seen of
// the deal and what the counters hold of it; each event recomputes what
// they should hold and adds the difference, so a deal is counted once
// whatever the order and repetition of its events, and a correction (an
// earlier first sighting, a new amount) moves its counts.
//
// A deal that turns out to be referred is taken back: when the record is
// linked to a referral (adopted from parking, or named by a later event),
// the referral's referral.deal_event names it, PlanDealLinked subtracts
// everything the deal added and the state stays linked, so an observation
// that arrives later counts nothing.

// Counter names of other deals (some take a suffix).
const (
	OtherOpened = "other:opened"
	OtherWon    = "other:won"
	OtherLost   = "other:lost"
	OtherTTC    = "other:ttc"
	OtherAmount = "other:amount"
	OtherBand   = "other:band"
)

// MinLiftDeals is the fewest closed deals a side of Lift needs for its
// rates to be worth comparing; below it, pages say "not enough data".
const MinLiftDeals = 10

// DealState is what is known and counted of one other deal of a program
// (stored beside the counters, written in the same transaction as the
// additions, versioned like State).
type DealState struct {
	Version int64 `dynamodbav:"version"`
	// Linked: a referral is linked to the deal; it counts as nothing.
	Linked bool `dynamodbav:"linked,omitempty"`
	// FirstSeen is the earliest CRM time of an event at a mapped stage
	// (zero: never seen at one, nothing counted).
	FirstSeen time.Time `dynamodbav:"first_seen"`
	// Outcome is won or lost, from the first close in CRM time (ClosedAt).
	Outcome  string    `dynamodbav:"outcome,omitempty"`
	ClosedAt time.Time `dynamodbav:"closed_at"`
	// The deal's amount, from the latest event in CRM time that gave one.
	AmountMinor int64     `dynamodbav:"amount_minor,omitempty"`
	Currency    string    `dynamodbav:"currency,omitempty"`
	AmountAt    time.Time `dynamodbav:"amount_at"`
	// Counted is what the counters hold of the deal: "<sort key>|<name>"
	// to the value added.
	Counted map[string]int64 `dynamodbav:"counted,omitempty"`
}

// observation is what one deal.observed event says.
type observation struct {
	at          time.Time
	outcome     string
	amountMinor int64
	currency    string
}

// observationOf reads a deal.observed event: the CRM's time when it said
// one (not after the event was recorded), else the event's.
func observationOf(ev events.Event) observation {
	o := observation{at: ev.At.UTC(), outcome: ev.Get("outcome")}
	if t, err := time.Parse(time.RFC3339Nano, ev.Get("occurred_at")); err == nil && !t.After(ev.At) {
		o.at = t.UTC()
	}
	v, err := strconv.ParseInt(ev.Get("amount_minor"), 10, 64)
	if cur := ev.Get("currency"); err == nil && v > 0 && cur != "" {
		o.amountMinor, o.currency = v, cur
	}
	return o
}

// PlanDeal returns what deal.observed event ev adds to its program's
// counters given the deal's state before, the state after, and whether
// anything changed (false: nothing to write). Like Plan, applying the
// changes once per event id under the state's version counts each deal
// once, whatever the order and repetition of its events.
func PlanDeal(ev events.Event, before DealState) ([]Change, DealState, bool) {
	st := before
	st.observe(observationOf(ev))
	return settle(before, st)
}

// PlanDealLinked takes back what a deal added once a referral is linked to
// it, and keeps it out of the counters from then on.
func PlanDealLinked(before DealState) ([]Change, DealState, bool) {
	st := before
	st.Linked = true
	return settle(before, st)
}

func (s *DealState) observe(o observation) {
	if s.Linked {
		return // a referred deal: nothing of it is counted here
	}
	switch o.outcome {
	case events.DealOpen, events.DealWon, events.DealLost:
		if s.FirstSeen.IsZero() || o.at.Before(s.FirstSeen) {
			s.FirstSeen = o.at
		}
	case events.DealDeleted, events.DealNone:
		if s.FirstSeen.IsZero() {
			return // a deal the program never recognised: not counted
		}
	default:
		return
	}
	closed := o.outcome
	if closed == events.DealDeleted {
		closed = events.DealLost
	}
	if (closed == events.DealWon || closed == events.DealLost) && (s.Outcome == "" || o.at.Before(s.ClosedAt)) {
		s.Outcome, s.ClosedAt = closed, o.at
	}
	if o.amountMinor > 0 && (s.AmountAt.IsZero() || !o.at.Before(s.AmountAt)) {
		s.AmountMinor, s.Currency, s.AmountAt = o.amountMinor, o.currency, o.at
	}
}

// settle turns the state's wanted counts into the additions that move the
// counters from before.Counted to them.
func settle(before, st DealState) ([]Change, DealState, bool) {
	want := st.wanted()
	var c Changes
	for _, k := range slices.Sorted(maps.Keys(before.Counted)) {
		sk, name, _ := strings.Cut(k, "|")
		c.Add(sk, name, -before.Counted[k])
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		sk, name, _ := strings.Cut(k, "|")
		c.Add(sk, name, want[k])
	}
	st.Counted = want
	changed := st.Linked != before.Linked || !st.FirstSeen.Equal(before.FirstSeen) || st.Outcome != before.Outcome ||
		!st.ClosedAt.Equal(before.ClosedAt) || st.AmountMinor != before.AmountMinor || st.Currency != before.Currency ||
		!st.AmountAt.Equal(before.AmountAt) || !maps.Equal(st.Counted, before.Counted)
	st.Version = before.Version + 1
	if !changed {
		return nil, before, false
	}
	return c.List(), st, true
}

// wanted is what the counters should hold of the deal.
func (s DealState) wanted() map[string]int64 {
	if s.Linked || s.FirstSeen.IsZero() {
		return nil
	}
	at := func(t time.Time, name string) string { return DaySK(t) + "|" + name }
	w := map[string]int64{at(s.FirstSeen, OtherOpened): 1}
	switch s.Outcome {
	case events.DealLost:
		w[at(s.ClosedAt, OtherLost)] = 1
	case events.DealWon:
		w[at(s.ClosedAt, OtherWon)] = 1
		lo, _ := Bucket(Days(s.FirstSeen, s.ClosedAt))
		w[at(s.ClosedAt, Name(OtherTTC, strconv.Itoa(lo)))] = 1
		if s.AmountMinor > 0 && s.Currency != "" {
			w[at(s.ClosedAt, Name(OtherAmount, s.Currency))] = s.AmountMinor
			band := strconv.FormatInt(AmountBand(s.AmountMinor, s.Currency), 10)
			w[at(s.ClosedAt, Name(OtherBand, s.Currency, band))] = 1
		}
	}
	return w
}

// AmountBand is the lower bound, in whole units of currency, of the band
// holding an amount of minor units: 0, 1000, 10000, 100000 or 1000000
// (and more).
func AmountBand(minor int64, currency string) int64 {
	major := minor
	for range money.Digits(currency) {
		major /= 10
	}
	var lo int64
	for b := int64(1000); b <= 1000000 && major >= b; b *= 10 {
		lo = b
	}
	return lo
}

// lift compares the referred deals closed in the period (referrals won,
// the customers, or lost) with the other deals (tot: the period's day
// counters summed); nil when neither side has a deal.
func lift(p Program, tot map[string]int64) *Lift {
	ref := DealFigures{Opened: tot[Accepted], Won: tot[Customers], Deals: tot[Customers] + tot[Lost]}
	if n := len(p.Milestones); n > 0 {
		ref.MedianDaysToClose = timeTo(p.Milestones[n-1], tot).MedianDays
	}
	ref.AvgDeal = perCustomer(tot[Name(Revenue, p.Currency)], ref.Won, p.Currency)
	other := DealFigures{Opened: tot[OtherOpened], Won: tot[OtherWon], Deals: tot[OtherWon] + tot[OtherLost]}
	// The won deals' histogram, read as time to a milestone "close".
	ttc, bands := map[string]int64{}, map[string]int64{}
	for k, v := range tot {
		if lo, ok := strings.CutPrefix(k, OtherTTC+":"); ok {
			ttc[Name(TTM, "close", lo)] = v
		}
		if lo, ok := strings.CutPrefix(k, Name(OtherBand, p.Currency)+":"); ok && v != 0 {
			bands[lo] = v
		}
	}
	other.MedianDaysToClose = timeTo("close", ttc).MedianDays
	other.AvgDeal = perCustomer(tot[Name(OtherAmount, p.Currency)], other.Won, p.Currency)
	if len(bands) > 0 {
		other.AmountBands = bands
	}
	ref.WinRate, other.WinRate = ratio(ref.Won, ref.Deals), ratio(other.Won, other.Deals)
	if ref.Deals == 0 && other.Deals == 0 && other.Opened == 0 {
		return nil
	}
	return &Lift{Referred: ref, Other: other}
}

// Enough reports whether the group has MinLiftDeals closed deals or more.
func (d DealFigures) Enough() bool { return d.Deals >= MinLiftDeals }

// MinDeals is MinLiftDeals, for templates.
func (Lift) MinDeals() int { return MinLiftDeals }
