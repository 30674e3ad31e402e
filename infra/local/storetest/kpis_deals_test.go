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

// applyDeal does what functions/kpis does for a deal.observed event (nil
// ev: the deal's record linked to a referral): read the deal's state, plan,
// apply, re-plan when the state moved. It reports whether the event was
// applied (false: applied before, or it changes nothing).
func applyDeal(t *testing.T, st *store.Store, id string, ev *events.Event) bool {
	t.Helper()
	ctx := context.Background()
	deal := events.DealKey("hubspot", "D1")
	for range 5 {
		before, err := st.KPIDealState(ctx, "p1", deal)
		if err != nil {
			t.Fatal(err)
		}
		var changes []kpis.Change
		var next kpis.DealState
		var ok bool
		if ev == nil {
			changes, next, ok = kpis.PlanDealLinked(before)
		} else {
			changes, next, ok = kpis.PlanDeal(*ev, before)
		}
		if !ok {
			return false
		}
		applied, err := st.ApplyKPIDealEvent(ctx, id, "p1", deal, changes, next, kpiT0.Add(time.Hour))
		if errors.Is(err, store.ErrKPIStateChanged) {
			continue
		}
		if err != nil {
			t.Fatalf("apply %s: %v", id, err)
		}
		return applied
	}
	t.Fatalf("apply %s: state kept changing", id)
	return false
}

func observed(days int, outcome, amount string) *events.Event {
	ev := events.New(events.DealObserved, events.DealKey("hubspot", "D1"), "webhook:hubspot", kpiT0.AddDate(0, 0, days)).
		With("provider", "hubspot").With("record_id", "D1").With("outcome", outcome).
		With("amount_minor", amount).With("currency", "USD")
	ev.ProgramID = "p1"
	return &ev
}

func dealCounters(t *testing.T, st *store.Store) map[string]map[string]int64 {
	t.Helper()
	items, err := st.KPICounters(context.Background(), "p1", kpiT0, kpiT0.AddDate(0, 0, 29))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]int64{}
	for _, it := range items {
		for k, v := range it.N {
			if v != 0 {
				if got[it.SK] == nil {
					got[it.SK] = map[string]int64{}
				}
				got[it.SK][k] = v
			}
		}
	}
	return got
}

// An other deal is counted once through redelivery, its state survives
// the table, and linking it to a referral takes it all back.
func TestOtherDealCountsOnceAndIsTakenBackWhenLinked(t *testing.T) {
	st := storetest.New(t)
	script := []struct {
		id string
		ev *events.Event
	}{{"d1", observed(0, events.DealOpen, "")}, {"d2", observed(12, events.DealWon, "2500000")}}
	for _, s := range script {
		if !applyDeal(t, st, s.id, s.ev) {
			t.Fatalf("%s not applied", s.id)
		}
	}
	for _, s := range script {
		if applyDeal(t, st, s.id, s.ev) {
			t.Fatalf("%s applied twice", s.id)
		}
	}
	want := map[string]map[string]int64{
		"DAY#2026-11-02": {"other:opened": 1},
		"DAY#2026-11-14": {"other:won": 1, "other:ttc:12": 1, "other:amount:USD": 2500000, "other:band:USD:10000": 1},
	}
	if got := dealCounters(t, st); !reflect.DeepEqual(got, want) {
		t.Fatalf("counters\n got %v\nwant %v", got, want)
	}
	state, err := st.KPIDealState(context.Background(), "p1", events.DealKey("hubspot", "D1"))
	if err != nil || state.Version != 2 || !state.FirstSeen.Equal(kpiT0) || state.Outcome != events.DealWon ||
		!state.ClosedAt.Equal(kpiT0.AddDate(0, 0, 12)) || state.AmountMinor != 2500000 || len(state.Counted) != 5 {
		t.Fatalf("state %+v %v", state, err)
	}
	// The same event planned from a stale state is refused, then counted
	// once from the state read again.
	changes, next, _ := kpis.PlanDeal(*observed(1, events.DealLost, ""), kpis.DealState{})
	if _, err := st.ApplyKPIDealEvent(context.Background(), "d3", "p1", events.DealKey("hubspot", "D1"), changes, next, kpiT0); !errors.Is(err, store.ErrKPIStateChanged) {
		t.Fatalf("stale state: %v", err)
	}
	if !applyDeal(t, st, "d4", nil) {
		t.Fatal("link not applied")
	}
	if got := dealCounters(t, st); len(got) != 0 {
		t.Fatalf("after linking: %v", got)
	}
	if applyDeal(t, st, "d5", observed(13, events.DealWon, "100")) || len(dealCounters(t, st)) != 0 {
		t.Fatalf("a linked deal counted again: %v", dealCounters(t, st))
	}
}
