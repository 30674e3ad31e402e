package storetest_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/store"
)

var kpiT0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// kpiStep is one delivered event with the referral's facts as the
// consumer reads them then.
type kpiStep struct {
	id    string
	ev    events.Event
	facts kpis.Facts
}

// applyKPI does what functions/kpis does for one event: read the state,
// plan, apply, re-plan when the state moved.
func applyKPI(t *testing.T, st *store.Store, s kpiStep) bool {
	t.Helper()
	ctx := context.Background()
	s.ev.ID = s.id
	for range 5 {
		ref := s.ev.ReferralID
		var before kpis.State
		if s.facts.ReceivedAt.IsZero() {
			ref = ""
		} else {
			var err error
			if before, err = st.KPIState(ctx, ref); err != nil {
				t.Fatal(err)
			}
		}
		changes, next := kpis.Plan(s.ev, s.facts, before)
		applied, err := st.ApplyKPIEvent(ctx, s.id, "p1", ref, changes, next, kpiT0.Add(time.Hour))
		if errors.Is(err, store.ErrKPIStateChanged) {
			continue
		}
		if err != nil {
			t.Fatalf("apply %s: %v", s.id, err)
		}
		return applied
	}
	t.Fatalf("apply %s: state kept changing", s.id)
	return false
}

func kpiScript() []kpiStep {
	base := func(ref, code string, mut func(*kpis.Facts)) kpis.Facts {
		f := kpis.Facts{ProgramID: "p1", ReferrerCode: code, ReceivedAt: kpiT0, Last: "won", Currency: "USD"}
		if mut != nil {
			mut(&f)
		}
		return f
	}
	won := func(f *kpis.Facts) {
		f.Accepted = true
		f.Milestones = map[string]time.Time{"qualified": kpiT0.AddDate(0, 0, 2), "won": kpiT0.AddDate(0, 0, 20)}
		f.DealMinor = 1500000
	}
	ev := func(typ events.Type, ref string, days int) events.Event {
		return events.New(typ, ref, "workflow", kpiT0.AddDate(0, 0, days)).WithStatus("x")
	}
	rw := func(typ events.Type, days int, amount string) events.Event {
		return ev(typ, "ref_A", days).With("amount_minor", amount).With("currency", "USD")
	}
	return []kpiStep{
		{"e1", ev(events.ReferralReceived, "ref_A", 0), base("ref_A", "ANN42", nil)},
		{"e2", ev(events.ReferralReceived, "ref_B", 0), base("ref_B", "ANN42", nil)},
		{"e3", ev(events.ReferralReceived, "ref_C", 0), base("ref_C", "BOB77", nil)},
		{"e4", ev(events.ReferralVerified, "ref_A", 0), base("ref_A", "ANN42", func(f *kpis.Facts) { f.Accepted = true })},
		{"e5", ev(events.ReferralVerified, "ref_B", 0), base("ref_B", "ANN42", func(f *kpis.Facts) { f.Accepted = true })},
		{"e6", ev(events.ReferralVerified, "ref_C", 1), base("ref_C", "BOB77", func(f *kpis.Facts) {
			f.Rejected, f.Reasons = true, []string{"free_mail_domain"}
		})},
		{"e7", ev(events.ReferralDealEvent, "ref_A", 20), base("ref_A", "ANN42", won)},
		{"e8", rw(events.RewardCreated, 20, "50000"), base("ref_A", "ANN42", won)},
		{"e9", rw(events.RewardPaid, 21, "50000"), base("ref_A", "ANN42", won)},
		{"e10", ev(events.ReferralClosed, "ref_B", 9), base("ref_B", "ANN42", func(f *kpis.Facts) {
			f.Accepted, f.Ended, f.EndedAt = true, "lost", kpiT0.AddDate(0, 0, 9)
		})},
	}
}

func TestKPIEventsCountOnceThroughRedelivery(t *testing.T) {
	st := storetest.New(t)
	script := kpiScript()
	for _, s := range script {
		if !applyKPI(t, st, s) {
			t.Fatalf("%s not applied the first time", s.id)
		}
	}
	for _, s := range script { // EventBridge and the outbox deliver at least once
		if applyKPI(t, st, s) {
			t.Fatalf("%s applied twice", s.id)
		}
	}
	items, err := st.KPICounters(context.Background(), "p1", kpiT0, kpiT0.AddDate(0, 0, 29))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]int64{}
	for _, it := range items {
		got[it.SK] = it.N
	}
	want := map[string]map[string]int64{
		"DAY#2026-11-02":        {"received": 3, "accepted": 2},
		"DAY#2026-11-03":        {"rejected": 1, "rejected:free_mail_domain": 1},
		"DAY#2026-11-04":        {"reached:qualified": 1, "ttm:qualified:2": 1},
		"DAY#2026-11-11":        {"lost": 1},
		"DAY#2026-11-22":        {"reached:won": 1, "ttm:won:14": 1, "customers": 1, "revenue:USD": 1500000, "earned:USD": 50000},
		"DAY#2026-11-23":        {"paid:USD": 50000},
		"PARTNER#2026-11#ANN42": {"referrals": 2, "customers": 1},
		"PARTNER#2026-11#BOB77": {"referrals": 1},
		"COHORT#2026-11":        {"received": 3, "reached:qualified:0": 1, "reached:won:0": 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("counters\n got %v\nwant %v", got, want)
	}
	// A report over the month reads them back.
	r := kpis.Build(kpis.Program{ID: "p1", Currency: "USD", Milestones: []string{"qualified", "won"}},
		kpis.Period{Kind: kpis.PeriodMonth, From: kpiT0.AddDate(0, 0, -1), To: kpiT0.AddDate(0, 0, 28)}, items)
	if r.Referrals.Received != 3 || r.Customers != 1 || r.Revenue.Amount != "15000.00" || r.RewardCost.Paid != "500.00" ||
		r.Partners.Active != 2 || *r.ROI != 29 || *r.CostPerCustomer != "500.00" || r.Lost != 1 {
		t.Fatalf("report %+v", r)
	}
}

func TestKPIStateMovedWritesNothing(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	f := kpis.Facts{ProgramID: "p1", ReferrerCode: "ANN42", ReceivedAt: kpiT0, Currency: "USD"}
	ev := events.New(events.ReferralReceived, "ref_A", "intake", kpiT0)
	changes, next := kpis.Plan(ev, f, kpis.State{})
	if ok, err := st.ApplyKPIEvent(ctx, "e1", "p1", "ref_A", changes, next, kpiT0); !ok || err != nil {
		t.Fatalf("first: %v %v", ok, err)
	}
	// A second event planned from the same (now stale) state.
	changes, next = kpis.Plan(events.New(events.ReferralVerifying, "ref_A", "workflow", kpiT0), f, kpis.State{})
	if _, err := st.ApplyKPIEvent(ctx, "e2", "p1", "ref_A", changes, next, kpiT0); !errors.Is(err, store.ErrKPIStateChanged) {
		t.Fatalf("stale state: %v", err)
	}
	items, err := st.KPICounters(ctx, "p1", kpiT0, kpiT0)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.N["received"]+it.N["referrals"] != 1 {
			t.Fatalf("%s counted %v", it.SK, it.N)
		}
	}
	// Re-planned from the state read again: nothing new to count, and the
	// event's marker is written now.
	before, err := st.KPIState(ctx, "ref_A")
	if err != nil || !before.Received || before.Version != 1 {
		t.Fatalf("state %+v %v", before, err)
	}
	changes, next = kpis.Plan(events.New(events.ReferralVerifying, "ref_A", "workflow", kpiT0), f, before)
	if len(changes) != 0 {
		t.Fatalf("changes %v", changes)
	}
	if ok, err := st.ApplyKPIEvent(ctx, "e2", "p1", "ref_A", changes, next, kpiT0); !ok || err != nil {
		t.Fatalf("re-planned: %v %v", ok, err)
	}
	if exp := expiresAt(t, st, "KPI-EVENT#e2", "KPI-EVENT"); exp != kpiT0.Add(14*24*time.Hour).Unix() {
		t.Errorf("marker expires at %d", exp)
	}
}
