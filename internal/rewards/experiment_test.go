package rewards_test

import (
	"context"
	"testing"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards"
)

// withExperiment gives the test program tiers of its own (1x) and an
// experiment whose variant B pays the referrer 2x from the first won
// referral, and C 3x from the second.
func withExperiment(p *program.Program) {
	p.Tiers = []program.Tier{{From: 1, MultiplierBP: 10000, Period: "month", CountsMilestone: "won"}}
	p.Experiment = &program.Experiment{ID: "double", Assign: program.AssignPartner, Variants: []program.Variant{
		{Name: "A", Weight: 1},
		{Name: "B", Weight: 1, Tiers: []program.Tier{{From: 1, MultiplierBP: 20000, Period: "month", CountsMilestone: "won"}}},
		{Name: "C", Weight: 1, Tiers: []program.Tier{{From: 2, MultiplierBP: 30000, Period: "month", CountsMilestone: "won"}}},
	}}
}

// TestHoldPaysTheReferralsVariant: a referral's rewards follow its
// variant's tiers (ranked in the variant's period), a referral without a
// variant the program's; the referee's reward never changes.
func TestHoldPaysTheReferralsVariant(t *testing.T) {
	for _, c := range []struct {
		variant  string
		earlier  bool // the referrer had a won referral earlier in the month
		referrer int64
		rank     int
	}{
		{"", false, 50000, 1},
		{"A", false, 50000, 0}, // A has no tiers: nothing is ranked
		{"B", false, 100000, 1},
		{"C", false, 50000, 1},
		{"C", true, 150000, 2},
	} {
		e, p, r := newEnv(), testProgram(), testReferral()
		withExperiment(p)
		r.Experiment, r.Variant = "double", c.variant
		if c.earlier {
			_, _ = e.repo.RankReferral(context.Background(), "ref_earlier", "partners", "ann-42", "2026-11", t0)
		}
		held, err := e.svc.Hold(context.Background(), r, p, "won")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, rw := range held.Rewards {
			got[rw.Party] = rw.AmountMinor
		}
		if got[program.PartyReferrer] != c.referrer || got[program.PartyReferee] != 100000 || held.Rank != c.rank {
			t.Errorf("variant %q (earlier %v): referrer %d referee %d rank %d; want %d, 100000, rank %d",
				c.variant, c.earlier, got[program.PartyReferrer], got[program.PartyReferee], held.Rank, c.referrer, c.rank)
		}
	}
}

func TestComputeUsesTheVariantsTiers(t *testing.T) {
	p := testProgram()
	withExperiment(p)
	for variant, want := range map[string]int64{"": 50000, "A": 50000, "B": 100000, "gone": 50000} {
		l := rewards.Compute(p, 1, rewards.Input{Rank: 1, Variant: variant})
		if l[0].AmountMinor != want {
			t.Errorf("variant %q pays the referrer %d, want %d", variant, l[0].AmountMinor, want)
		}
	}
}
