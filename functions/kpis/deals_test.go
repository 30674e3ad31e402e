package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// fakeDeals keeps deal states beside fakeStore's markers and counters, like
// the table.
type fakeDeals struct {
	*fakeStore
	deals     map[string]kpis.DealState // program#deal
	conflicts int
}

func (f *fakeDeals) KPIDealState(_ context.Context, program, deal string) (kpis.DealState, error) {
	return f.deals[program+"#"+deal], nil
}

func (f *fakeDeals) ApplyKPIDealEvent(_ context.Context, eventID, program, deal string, changes []kpis.Change, next kpis.DealState, _ time.Time) (bool, error) {
	if f.applied[eventID] {
		return false, nil
	}
	if f.conflicts > 0 || f.deals[program+"#"+deal].Version != next.Version-1 {
		f.conflicts--
		return false, store.ErrKPIStateChanged
	}
	f.deals[program+"#"+deal] = next
	return f.ApplyKPIEvent(context.Background(), eventID, program, "", changes, kpis.State{}, now)
}

func dealObserved(id, outcome string, at time.Time) events.Event {
	ev := events.New(events.DealObserved, events.DealKey("generic", "R-7"), "webhook:generic", at).
		With("provider", "generic").With("record_id", "R-7").With("outcome", outcome).
		With("amount_minor", "1200000").With("currency", "USD")
	ev.ID, ev.ProgramID = id, "p1"
	return ev
}

// Other deals are counted once per deal through redelivery and concurrent
// events; the referral.deal_event that names the record once a referral is
// linked to it takes the deal back out.
func TestOtherDealCountedOnceThenTakenBackWhenReferred(t *testing.T) {
	f := &fakeDeals{fakeStore: newFake(), deals: map[string]kpis.DealState{}, conflicts: 2}
	h := handler(f.fakeStore, &bytes.Buffer{})
	h.Deals = f
	for _, ev := range []events.Event{dealObserved("evt_1", events.DealOpen, now), dealObserved("evt_2", events.DealWon, now.Add(48*time.Hour)),
		dealObserved("evt_2", events.DealWon, now.Add(48*time.Hour)), dealObserved("evt_3", events.DealOpen, now.Add(time.Hour))} {
		if err := h.Handle(context.Background(), delivery(t, ev)); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]map[string]int64{
		"p1/DAY#2026-11-03": {"other:opened": 1},
		"p1/DAY#2026-11-05": {"other:won": 1, "other:ttc:2": 1, "other:amount:USD": 1200000, "other:band:USD:10000": 1},
	}
	if !reflect.DeepEqual(f.counters, want) {
		t.Fatalf("counters %v", f.counters)
	}

	// A referral now has the record: its deal event takes the deal back.
	r := wonReferral()
	f.referrals["ref_1"] = r
	linked := events.New(events.ReferralDealEvent, "ref_1", "webhook:generic", now.Add(72*time.Hour)).
		With("provider", "generic").With("record_id", "R-7").With("outcome", "milestone")
	linked.ID, linked.ProgramID = "evt_4", "p1"
	for range 2 {
		if err := h.Handle(context.Background(), delivery(t, linked)); err != nil {
			t.Fatal(err)
		}
	}
	for _, sk := range []string{"p1/DAY#2026-11-03", "p1/DAY#2026-11-05"} {
		for k, v := range f.counters[sk] {
			if strings.HasPrefix(k, "other:") && v != 0 {
				t.Errorf("%s %s = %d after the deal was referred", sk, k, v)
			}
		}
	}
	if f.counters["p1/DAY#2026-11-03"]["received"] != 1 || !f.applied["evt_4"] || !f.applied["evt_4#deal#p1"] {
		t.Fatalf("the referral's own event: %v %v", f.counters, f.applied)
	}
	// A late observation of the referred deal counts nothing.
	if err := h.Handle(context.Background(), delivery(t, dealObserved("evt_5", events.DealLost, now))); err != nil || f.applied["evt_5"] {
		t.Fatalf("late observation: %v, applied %v", err, f.applied["evt_5"])
	}
}

func TestDealEventsWithoutADealStoreAreSkipped(t *testing.T) {
	f := newFake()
	var log bytes.Buffer
	if err := handler(f, &log).Handle(context.Background(), delivery(t, dealObserved("evt_1", events.DealWon, now))); err != nil {
		t.Fatal(err)
	}
	if len(f.counters) != 0 || !bytes.Contains(log.Bytes(), []byte("deal event skipped")) {
		t.Fatalf("counters %v, log %s", f.counters, log.String())
	}
	// A referral's event without a deal store counts as before.
	f.referrals["ref_1"] = &referral.Referral{ID: "ref_1", ProgramID: "p1", ProgramVersion: 1, CreatedAt: now}
	ev := events.New(events.ReferralDealEvent, "ref_1", "webhook:generic", now).With("provider", "generic").With("record_id", "R-7")
	ev.ID = "evt_2"
	if err := handler(f, &log).Handle(context.Background(), delivery(t, ev)); err != nil || f.counters["p1/DAY#2026-11-03"]["received"] != 1 {
		t.Fatalf("%v %v", err, f.counters)
	}
}

// A deal observed under the default program and then referred under
// another program leaves the default program's other deals too.
func TestReferredUnderAnotherProgramLeavesTheObservedProgramsOtherDeals(t *testing.T) {
	f := &fakeDeals{fakeStore: newFake(), deals: map[string]kpis.DealState{}}
	h := handler(f.fakeStore, &bytes.Buffer{})
	h.Deals, h.Observed = f, []string{"p1"}
	if err := h.Handle(context.Background(), delivery(t, dealObserved("evt_1", events.DealWon, now))); err != nil {
		t.Fatal(err)
	}
	r := wonReferral()
	r.ProgramID = "p2"
	f.referrals["ref_1"] = r
	ev := events.New(events.ReferralDealEvent, "ref_1", "webhook:generic", now).With("provider", "generic").With("record_id", "R-7")
	ev.ID = "evt_2"
	if err := h.Handle(context.Background(), delivery(t, ev)); err != nil {
		t.Fatal(err)
	}
	if !f.deals["p1#"+events.DealKey("generic", "R-7")].Linked || !f.deals["p2#"+events.DealKey("generic", "R-7")].Linked {
		t.Fatalf("states %+v", f.deals)
	}
	for k, v := range f.counters["p1/DAY#2026-11-03"] {
		if v != 0 {
			t.Errorf("p1 %s = %d", k, v)
		}
	}
}
