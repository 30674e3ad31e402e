package storetest_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/program"
)

// TestExperimentCountersAreReadWithTheKPIs: a variant's referral is
// counted on its EXP# item in the transaction that counts its day, once
// per event however often it is delivered, and any period's counter read
// brings the item back (the experiment's whole life), for Build to report.
func TestExperimentCountersAreReadWithTheKPIs(t *testing.T) {
	st := storetest.New(t)
	inB := kpis.Facts{ProgramID: "p1", ReferrerCode: "ANN42", ReceivedAt: kpiT0, Last: "won", Currency: "USD",
		Experiment: "double", Variant: "B"}
	won := inB
	won.Accepted, won.Milestones, won.DealMinor = true, map[string]time.Time{"won": kpiT0.AddDate(0, 0, 3)}, 900000
	paid := events.New(events.RewardPaid, "ref_x1", "workflow", kpiT0.AddDate(0, 0, 4)).
		With("amount_minor", "20000").With("currency", "USD")
	steps := []kpiStep{
		{"ex1", events.New(events.ReferralReceived, "ref_x1", "intake", kpiT0), inB},
		{"ex2", events.New(events.ReferralDealEvent, "ref_x1", "webhook", kpiT0.AddDate(0, 0, 3)), won},
		{"ex3", paid, won},
	}
	for _, s := range append(steps, steps...) {
		applyKPI(t, st, s)
	}
	later := kpiT0.AddDate(0, 2, 0) // a period long after: the experiment's item still comes back
	items, err := st.KPICounters(context.Background(), "p1", later, later)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]int64
	for _, it := range items {
		if it.SK == kpis.ExperimentSK("double", "B") {
			got = it.N
		}
	}
	want := map[string]int64{"received": 1, "accepted": 1, "reached:won": 1, "customers": 1, "revenue:USD": 900000, "paid:USD": 20000}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("variant B's item %v\nwant %v", got, want)
	}
	def := kpis.ExperimentOf(&program.Program{Experiment: &program.Experiment{ID: "double", Assign: program.AssignPartner,
		Variants: []program.Variant{{Name: "A", Weight: 1}, {Name: "B", Weight: 1}}}})
	r := kpis.Build(kpis.Program{ID: "p1", Currency: "USD", Milestones: []string{"won"}, Experiment: def},
		kpis.Period{Kind: kpis.PeriodDay, From: later, To: later}, items)
	if len(r.Experiments) != 1 || r.Experiments[0].Variants[1].Customers != 1 || *r.Experiments[0].Variants[1].CostPerCustomer != "200.00" {
		t.Fatalf("report experiments %+v", r.Experiments)
	}
}
