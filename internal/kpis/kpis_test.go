package kpis_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/kpis"
)

var t0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

func day(n int) time.Time { return t0.AddDate(0, 0, n) }

func reward(typ events.Type, at time.Time, amount string) events.Event {
	return events.New(typ, "ref_1", "workflow", at).With("amount_minor", amount).With("currency", "USD").
		With("milestone", "won").With("party", "referrer")
}

// apply plans evs in order against facts (the referral as each event finds
// it) and sums the changes into items, like the store.
func apply(t *testing.T, steps []step) map[string]map[string]int64 {
	t.Helper()
	out := map[string]map[string]int64{}
	var st kpis.State
	for _, s := range steps {
		changes, next := kpis.Plan(s.ev, s.facts, st)
		if next.Version != st.Version+1 {
			t.Fatalf("version %d after %d", next.Version, st.Version)
		}
		st = next
		for _, c := range changes {
			if out[c.SK] == nil {
				out[c.SK] = map[string]int64{}
			}
			for k, v := range c.Add {
				out[c.SK][k] += v
			}
		}
	}
	return out
}

type step struct {
	ev    events.Event
	facts kpis.Facts
}

func facts(mut func(*kpis.Facts)) kpis.Facts {
	f := kpis.Facts{ProgramID: "p", ReferrerCode: "ACME", ReceivedAt: t0, Last: "won", Currency: "USD"}
	mut(&f)
	return f
}

func TestPlanCountsEachReferralFactOnce(t *testing.T) {
	received := facts(func(*kpis.Facts) {})
	accepted := facts(func(f *kpis.Facts) { f.Accepted = true })
	qualified := facts(func(f *kpis.Facts) {
		f.Accepted = true
		f.Milestones = map[string]time.Time{"qualified": day(3)}
	})
	won := facts(func(f *kpis.Facts) {
		f.Accepted = true
		f.Milestones = map[string]time.Time{"qualified": day(3), "won": day(40)}
		f.DealMinor = 1250000
	})
	rejected := facts(func(f *kpis.Facts) { f.Rejected, f.Reasons = true, []string{"free_mail_domain", "icp_country"} })
	lost := facts(func(f *kpis.Facts) {
		f.Accepted, f.Ended, f.EndedAt = true, "lost", day(5)
		f.Milestones = map[string]time.Time{"qualified": day(3)}
	})
	tests := []struct {
		name  string
		steps []step
		want  map[string]map[string]int64
	}{
		{"received", []step{{events.New(events.ReferralReceived, "ref_1", "intake", t0), received}},
			map[string]map[string]int64{
				"DAY#2026-11-02": {"received": 1}, "COHORT#2026-11": {"received": 1}, "PARTNER#2026-11#ACME": {"referrals": 1}}},
		{"a journey to won, with an event repeated and a later amount change", []step{
			{events.New(events.ReferralReceived, "ref_1", "intake", t0), received},
			{events.New(events.ReferralVerified, "ref_1", "workflow", day(0)), accepted},
			{events.New(events.ReferralVerified, "ref_1", "workflow", day(0)), accepted},
			{events.New(events.ReferralDealEvent, "ref_1", "webhook:hubspot", day(3)), qualified},
			{events.New(events.ReferralDealEvent, "ref_1", "webhook:hubspot", day(40)), won},
			{events.New(events.ReferralDealEvent, "ref_1", "webhook:hubspot", day(41)), won},
			{events.New(events.ReferralDealEvent, "ref_1", "webhook:hubspot", day(45)),
				facts(func(f *kpis.Facts) { *f = won; f.DealMinor = 1000000 })},
		}, map[string]map[string]int64{
			"DAY#2026-11-02":       {"received": 1, "accepted": 1},
			"COHORT#2026-11":       {"received": 1, "reached:qualified:0": 1, "reached:won:1": 1},
			"PARTNER#2026-11#ACME": {"referrals": 1},
			"DAY#2026-11-05":       {"reached:qualified": 1, "ttm:qualified:3": 1},
			"DAY#2026-12-12":       {"reached:won": 1, "ttm:won:35": 1, "customers": 1, "revenue:USD": 1250000},
			"PARTNER#2026-12#ACME": {"customers": 1},
			"DAY#2026-12-17":       {"revenue:USD": -250000},
		}},
		{"facts seen before the event that brings them (out of order)", []step{
			{events.New(events.ReferralVerified, "ref_1", "workflow", day(1)), rejected},
			{events.New(events.ReferralReceived, "ref_1", "intake", t0), rejected},
		}, map[string]map[string]int64{
			"DAY#2026-11-02": {"received": 1}, "COHORT#2026-11": {"received": 1}, "PARTNER#2026-11#ACME": {"referrals": 1},
			"DAY#2026-11-03": {"rejected": 1, "rejected:free_mail_domain": 1, "rejected:icp_country": 1},
		}},
		{"lost on its loss day", []step{{events.New(events.ReferralClosed, "ref_1", "workflow", day(9)), lost}},
			map[string]map[string]int64{
				"DAY#2026-11-02": {"received": 1}, "COHORT#2026-11": {"received": 1, "reached:qualified:0": 1},
				"PARTNER#2026-11#ACME": {"referrals": 1},
				"DAY#2026-11-11":       {"accepted": 1},
				"DAY#2026-11-05":       {"reached:qualified": 1, "ttm:qualified:3": 1},
				"DAY#2026-11-07":       {"lost": 1},
			}},
		{"reward amounts per event; earned is created minus voided", []step{
			{reward(events.RewardCreated, day(1), "50000"), kpis.Facts{ProgramID: "p"}},
			{reward(events.RewardCreated, day(1), "20000"), kpis.Facts{ProgramID: "p"}},
			{reward(events.RewardVoided, day(2), "20000"), kpis.Facts{ProgramID: "p"}},
			{reward(events.RewardPaid, day(2), "50000"), kpis.Facts{ProgramID: "p"}},
			{reward(events.RewardReversed, day(3), "50000"), kpis.Facts{ProgramID: "p"}},
			{events.New(events.InvoicePaid, "ref_1", "webhook:stripe", day(3)).With("amount_minor", "9900").With("currency", "EUR"), kpis.Facts{ProgramID: "p"}},
			{reward(events.RewardApproved, day(3), "50000"), kpis.Facts{ProgramID: "p"}},
		}, map[string]map[string]int64{
			"DAY#2026-11-03": {"earned:USD": 70000},
			"DAY#2026-11-04": {"earned:USD": -20000, "paid:USD": 50000},
			"DAY#2026-11-05": {"reversed:USD": 50000, "revenue:EUR": 9900},
		}},
		{"an invoice's refund takes back the revenue it gave back; one without an amount counts nothing", []step{
			{events.New(events.InvoicePaid, "ref_1", "webhook:stripe", day(3)).With("amount_minor", "9900").With("currency", "EUR"), kpis.Facts{ProgramID: "p"}},
			{events.New(events.InvoiceRefunded, "ref_1", "webhook:stripe", day(4)).With("invoice_id", "in_1").With("amount_minor", "4000").With("currency", "EUR"), kpis.Facts{ProgramID: "p"}},
			{events.New(events.InvoiceRefunded, "ref_1", "webhook:stripe", day(5)).With("invoice_id", "in_2"), kpis.Facts{ProgramID: "p"}},
		}, map[string]map[string]int64{
			"DAY#2026-11-05": {"revenue:EUR": 9900},
			"DAY#2026-11-06": {"revenue:EUR": -4000},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := apply(t, tc.steps); !reflect.DeepEqual(got, tc.want) {
				g, _ := json.MarshalIndent(got, "", " ")
				t.Fatalf("counters:\n%s", g)
			}
		})
	}
}

func TestBucketsHoldEveryDayOnce(t *testing.T) {
	tests := []struct{ days, lo, width int }{
		{-1, 0, 1}, {0, 0, 1}, {13, 13, 1}, {14, 14, 7}, {20, 14, 7}, {21, 21, 7}, {90, 84, 7},
		{91, 91, 30}, {120, 91, 30}, {121, 121, 30}, {360, 331, 30}, {361, 361, 0}, {5000, 361, 0},
	}
	for _, tc := range tests {
		if lo, w := kpis.Bucket(tc.days); lo != tc.lo || w != tc.width {
			t.Errorf("Bucket(%d) = %d,%d; want %d,%d", tc.days, lo, w, tc.lo, tc.width)
		}
	}
	for d := range 400 { // every day's bucket holds it
		lo, w := kpis.Bucket(d)
		if d < lo || (w > 0 && d >= lo+w) {
			t.Fatalf("day %d outside its bucket %d+%d", d, lo, w)
		}
	}
}

func TestMonthsAfterAndDays(t *testing.T) {
	if got := kpis.MonthsAfter(t0, time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)); got != 2 {
		t.Errorf("MonthsAfter = %d", got)
	}
	if got := kpis.MonthsAfter(t0, t0.AddDate(0, 0, -40)); got != 0 {
		t.Errorf("MonthsAfter before = %d", got)
	}
	if got := kpis.Days(t0, t0.Add(47*time.Hour)); got != 1 {
		t.Errorf("Days = %d", got)
	}
}
