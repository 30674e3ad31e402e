package kpis_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/program"
)

// TestPlanCountsEachVariantOnce: a referral of a variant adds its facts
// and amounts to the variant's item too, once whatever the events; the
// histograms and rejection reasons stay on the days; a referral without
// a variant adds nothing there.
func TestPlanCountsEachVariantOnce(t *testing.T) {
	inB := func(mut func(*kpis.Facts)) kpis.Facts {
		return facts(func(f *kpis.Facts) { f.Experiment, f.Variant = "double", "B"; mut(f) })
	}
	won := inB(func(f *kpis.Facts) {
		f.Accepted = true
		f.Milestones = map[string]time.Time{"qualified": day(3), "won": day(40)}
		f.DealMinor = 1250000
	})
	tests := []struct {
		name  string
		steps []step
		want  map[string]int64 // the EXP#double#B item (nil: none)
	}{
		{"won, with events repeated", []step{
			{events.New(events.ReferralReceived, "ref_1", "intake", t0), inB(func(*kpis.Facts) {})},
			{events.New(events.ReferralVerified, "ref_1", "workflow", day(1)), inB(func(f *kpis.Facts) { f.Accepted = true })},
			{events.New(events.ReferralDealEvent, "ref_1", "webhook", day(40)), won},
			{events.New(events.ReferralDealEvent, "ref_1", "webhook", day(41)), won},
			{reward(events.RewardCreated, day(40), "10000"), won},
			{reward(events.RewardPaid, day(70), "10000"), won},
			{reward(events.RewardReversed, day(80), "2500"), won},
		}, map[string]int64{"received": 1, "accepted": 1, "reached:qualified": 1, "reached:won": 1, "customers": 1,
			"revenue:USD": 1250000, "earned:USD": 10000, "paid:USD": 10000, "reversed:USD": 2500}},
		{"rejected: the reasons stay on the day", []step{
			{events.New(events.ReferralVerified, "ref_1", "workflow", t0), inB(func(f *kpis.Facts) { f.Rejected, f.Reasons = true, []string{"free_mail_domain"} })},
		}, map[string]int64{"received": 1, "rejected": 1}},
		{"lost", []step{
			{events.New(events.ReferralClosed, "ref_1", "webhook", day(5)), inB(func(f *kpis.Facts) { f.Accepted, f.Ended = true, "lost" })},
		}, map[string]int64{"received": 1, "accepted": 1, "lost": 1}},
		{"no variant", []step{
			{events.New(events.ReferralReceived, "ref_1", "intake", t0), facts(func(*kpis.Facts) {})},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := apply(t, tt.steps)
			if exp := got[kpis.ExperimentSK("double", "B")]; !reflect.DeepEqual(exp, tt.want) {
				t.Errorf("variant item %v\nwant %v", exp, tt.want)
			}
			for sk := range got {
				if sk != kpis.ExperimentSK("double", "B") && strings.HasPrefix(sk, kpis.ExperimentPrefix) {
					t.Errorf("counted on another variant: %s", sk)
				}
			}
		})
	}
}

func TestBuildReportsExperiments(t *testing.T) {
	p := kpis.Program{ID: "p", Currency: "USD", Milestones: []string{"qualified", "won"},
		Experiment: kpis.ExperimentOf(&program.Program{Experiment: &program.Experiment{ID: "double", Assign: "partner",
			Variants: []program.Variant{{Name: "A", Weight: 1}, {Name: "B", Weight: 1}, {Name: "C", Weight: 2}}}})}
	per := kpis.Period{Kind: kpis.PeriodDay, From: date("2026-11-01"), To: date("2026-11-01")}
	items := []kpis.Item{
		{SK: "EXP#double#A", N: map[string]int64{"received": 206, "accepted": 190, "reached:qualified": 100, "reached:won": 45,
			"customers": 45, "revenue:USD": 4500000, "paid:USD": 450000, "reversed:USD": 50000}},
		{SK: "EXP#double#B", N: map[string]int64{"received": 206, "accepted": 200, "reached:qualified": 150, "reached:won": 81,
			"customers": 81, "revenue:USD": 8100000, "paid:USD": 1620000}},
		{SK: "EXP#first#X", N: map[string]int64{"received": 3}},
		{SK: "EXP#first#W", N: map[string]int64{"received": 2, "customers": 1}},
		{SK: "EXP#broken", N: map[string]int64{"received": 9}},
	}
	r := kpis.Build(p, per, items)
	if len(r.Experiments) != 2 {
		t.Fatalf("experiments %+v", r.Experiments)
	}
	run, ended := r.Experiments[0], r.Experiments[1]
	if run.ID != "double" || run.Status != kpis.ExperimentRunning || run.Control != "A" || len(run.Variants) != 3 ||
		run.Verdict != "variant B converts 1.8x, 95% interval 1.3x–2.5x, 412 referrals; not enough data yet" {
		t.Fatalf("running: %+v", run)
	}
	a, b, c := run.Variants[0], run.Variants[1], run.Variants[2]
	if a.VsControl != nil || a.Verdict != "" || *a.CostPerCustomer != "88.89" || a.Revenue.Amount != "45000.00" {
		t.Errorf("control %+v", a)
	}
	wantB := kpis.VariantFigures{Name: "B", Weight: 1, Referrals: 206, Accepted: 200, Customers: 81,
		Stages: []kpis.Rate{
			{Stage: "accepted", Count: 200, Rate: f(0.9709), Low: f(0.9379), High: f(0.9866)},
			{Stage: "qualified", Count: 150, Rate: f(0.7282), Low: f(0.6636), High: f(0.7843)},
			{Stage: "won", Count: 81, Rate: f(0.3932), Low: f(0.329), High: f(0.4613)},
		},
		Conversion: kpis.Rate{Count: 81, Rate: f(0.3932), Low: f(0.329), High: f(0.4613)},
		Revenue:    kpis.Amount{Amount: "81000.00", Currency: "USD", Minor: 8100000},
		RewardCost: kpis.RewardCost{Earned: "0.00", Paid: "16200.00", Reversed: "0.00", Currency: "USD"},
		// 16,200.00 over 81 customers
		CostPerCustomer: str("200.00"),
		VsControl:       &kpis.Ratio{Ratio: 1.8, Low: 1.3215, High: 2.4518},
		Verdict:         "variant B converts 1.8x, 95% interval 1.3x–2.5x, 412 referrals",
	}
	if !reflect.DeepEqual(b, wantB) {
		g, _ := json.MarshalIndent(b, "", " ")
		t.Errorf("variant B:\n%s", g)
	}
	if c.Weight != 2 || c.Referrals != 0 || c.Conversion.Rate != nil || c.CostPerCustomer != nil || c.Verdict != kpis.NotEnoughData {
		t.Errorf("a variant without counters: %+v", c)
	}
	if ended.ID != "first" || ended.Status != kpis.ExperimentEnded || ended.Control != "W" || ended.Variants[1].Name != "X" ||
		ended.Verdict != kpis.NotEnoughData {
		t.Errorf("ended: %+v", ended)
	}
	none := kpis.Build(kpis.Program{ID: "p", Currency: "USD"}, per, nil)
	if b, _ := json.Marshal(none); none.Experiments != nil || strings.Contains(string(b), `"experiments"`) {
		t.Errorf("no experiment, yet %s", b)
	}
}
