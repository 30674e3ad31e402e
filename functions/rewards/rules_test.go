package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/ledger"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

// rulesStore is an in-memory Store with the tier and spending counters.
type rulesStore struct {
	prog      *program.Program
	referrals map[string]*referral.Referral
	rewards   map[string][]ledger.Reward // referral#milestone
	ranks     map[string]int             // referral id -> rank
	counts    map[string]int             // code#period -> count
	spent     map[string]int64           // counter -> reserved
	acts      []store.Activity
	lastRes   []store.Reservation
}

func newRulesStore(p *program.Program) *rulesStore {
	return &rulesStore{prog: p, referrals: map[string]*referral.Referral{}, rewards: map[string][]ledger.Reward{},
		ranks: map[string]int{}, counts: map[string]int{}, spent: map[string]int64{}}
}

func (f *rulesStore) Referral(_ context.Context, id string) (*referral.Referral, error) {
	r, ok := f.referrals[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return r, nil
}

func (f *rulesStore) ProgramVersion(context.Context, string, int) (*program.Program, error) {
	return f.prog, nil
}

// CreateRewardsReserved models the store: all-or-nothing per reward,
// limits never exceeded, existing rewards left alone.
func (f *rulesStore) CreateRewardsReserved(_ context.Context, referralID, milestone string, rewards []ledger.Reward, res []store.Reservation, describe func(ledger.Reward) store.Activity) ([]ledger.Reward, error) {
	k := referralID + "#" + milestone
	if _, ok := f.rewards[k]; ok {
		return f.rewards[k], nil
	}
	f.lastRes = res
	for _, rw := range rewards {
		fits := true
		for _, rv := range res {
			if rv.RewardID == rw.ID && f.spent[rv.Counter]+rv.AmountMinor > rv.LimitMinor {
				fits = false
				rw.Status, rw.StatusReason, rw.NeedsApproval = ledger.StatusPending, rv.Reason, true
				break
			}
		}
		for _, rv := range res {
			if fits && rv.RewardID == rw.ID {
				f.spent[rv.Counter] += rv.AmountMinor
				rw.Reserved = append(rw.Reserved, ledger.Reservation{Counter: rv.Counter, AmountMinor: rv.AmountMinor})
			}
		}
		f.rewards[k] = append(f.rewards[k], rw)
		f.acts = append(f.acts, describe(rw))
	}
	return f.rewards[k], nil
}

func (f *rulesStore) RankReferral(_ context.Context, referralID, _, code, period string, _ time.Time) (int, error) {
	if r, ok := f.ranks[referralID]; ok {
		return r, nil
	}
	f.counts[code+"#"+period]++
	f.ranks[referralID] = f.counts[code+"#"+period]
	return f.ranks[referralID], nil
}

func (f *rulesStore) MilestoneRewards(_ context.Context, referralID, milestone string) ([]ledger.Reward, error) {
	return f.rewards[referralID+"#"+milestone], nil
}

func (f *rulesStore) SetRewardStatus(context.Context, ledger.Reward, []ledger.Status, ledger.Status, string, time.Time) (bool, error) {
	return true, nil
}

func (f *rulesStore) PayToLedger(context.Context, ledger.Reward, ledger.Entry, store.Activity, time.Time) (bool, error) {
	return true, nil
}

func (f *rulesStore) AddActivity(_ context.Context, _ string, acts ...store.Activity) error {
	f.acts = append(f.acts, acts...)
	return nil
}

func tieredProgram() *program.Program {
	return &program.Program{ID: "tiered", Version: 1, Currency: "USD",
		Milestones: []program.Milestone{
			{Name: "qualified", Rewards: []program.Reward{{Party: "referrer", Kind: "cash", AmountMinor: 1000}}},
			{Name: "won", HoldSeconds: 60, Rewards: []program.Reward{
				{Party: "referrer", Kind: "cash", AmountMinor: 10000},
				{Party: "referee", Kind: "discount", AmountMinor: 5000},
			}},
		},
		Tiers: []program.Tier{
			{From: 1, MultiplierBP: 10000, Period: "month", CountsMilestone: "won"},
			{From: 3, MultiplierBP: 15000, Period: "month", CountsMilestone: "won"},
		},
		Caps: program.Caps{Period: "month", OnExhausted: "review"},
	}
}

func addReferral(f *rulesStore, id, code string, reached time.Time) {
	f.referrals[id] = &referral.Referral{ID: id, ProgramID: f.prog.ID, ProgramVersion: 1, Status: referral.StatusInProgress,
		ReferrerCode: code, Milestones: map[string]time.Time{"qualified": reached, "won": reached}}
}

func referrerAmount(t *testing.T, f *rulesStore, id, milestone string) int64 {
	t.Helper()
	for _, rw := range f.rewards[id+"#"+milestone] {
		if rw.Party == "referrer" {
			return rw.AmountMinor
		}
	}
	t.Fatalf("%s has no referrer reward for %s", id, milestone)
	return 0
}

// TestTieredThirdReferral: the referrer's third referral that reaches the
// counted milestone in a month pays the 1.5x tier; the first two pay 1x;
// a repeated step keeps its rank; the referee's reward is never tiered;
// another month starts counting again.
func TestTieredThirdReferral(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	f := newRulesStore(tieredProgram())
	h := &Handler{Store: f, Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := context.Background()
	hold := func(id, milestone string) {
		t.Helper()
		if _, err := h.Handle(ctx, workflow.RewardsInput{ReferralID: id, Milestone: milestone, Step: "hold"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 4; i++ {
		addReferral(f, fmt.Sprintf("r%d", i), "ACME", now.Add(-time.Duration(i)*time.Hour))
	}
	addReferral(f, "other", "ZETA", now)
	addReferral(f, "october", "ACME", time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC))

	hold("r1", "qualified") // before the counted milestone: not ranked, never tiered
	if got := referrerAmount(t, f, "r1", "qualified"); got != 1000 || len(f.ranks) != 0 {
		t.Fatalf("qualified pays %d with ranks %v; want 1000 and no rank", got, f.ranks)
	}
	for _, id := range []string{"r1", "r2", "other", "october", "r3", "r4"} {
		hold(id, "won")
	}
	hold("r3", "won") // a retried step: same rank, same rewards
	want := map[string]int64{"r1": 10000, "r2": 10000, "other": 10000, "october": 10000, "r3": 15000, "r4": 15000}
	for id, amt := range want {
		if got := referrerAmount(t, f, id, "won"); got != amt {
			t.Errorf("%s (rank %d) pays the referrer %d, want %d", id, f.ranks[id], got, amt)
		}
	}
	if f.ranks["r3"] != 3 || f.counts["ACME#2026-11"] != 4 || f.counts["ACME#2026-10"] != 1 {
		t.Errorf("ranks %v counts %v", f.ranks, f.counts)
	}
	for _, rw := range f.rewards["r3#won"] {
		if rw.Party == "referee" && rw.AmountMinor != 5000 {
			t.Errorf("the referee reward was tiered: %d", rw.AmountMinor)
		}
	}
}

// TestLimits: what each reward reserves and the reason it gets when it does
// not fit, per program policy.
func TestLimits(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		caps        program.Caps
		budgetMinor int64 // already reserved on the budget counter
		capSpent    int64 // already reserved on the referrer's cap
		want        map[string]string
	}{
		{"no limits", program.Caps{Period: "month", OnExhausted: "review"}, 0, 0,
			map[string]string{"referrer": "on_hold", "referee": "on_hold"}},
		{"both fit", program.Caps{Period: "month", BudgetMinor: 20000, PerReferrerMinor: 10000, OnExhausted: "review"}, 0, 0,
			map[string]string{"referrer": "on_hold", "referee": "on_hold"}},
		{"budget fits only the referrer", program.Caps{Period: "month", BudgetMinor: 12000, OnExhausted: "review"}, 0, 0,
			map[string]string{"referrer": "on_hold", "referee": "pending: budget exhausted"}},
		{"referrer cap reached, referee still fits", program.Caps{Period: "month", BudgetMinor: 100000, PerReferrerMinor: 10000, OnExhausted: "review"}, 0, 5000,
			map[string]string{"referrer": "pending: cap reached", "referee": "on_hold"}},
		{"budget exhausted, next period", program.Caps{Period: "quarter", BudgetMinor: 10000, OnExhausted: "next_period"}, 9000, 0,
			map[string]string{"referrer": "pending: waits for the next period", "referee": "pending: waits for the next period"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tieredProgram()
			p.Tiers, p.Caps = nil, tt.caps
			f := newRulesStore(p)
			period := "2026-11"
			if tt.caps.Period == "quarter" {
				period = "2026-Q4"
			}
			f.spent[store.BudgetCounter(period)] = tt.budgetMinor
			f.spent[store.ReferrerCapCounter("ACME", period)] = tt.capSpent
			addReferral(f, "r1", "ACME", now)
			h := &Handler{Store: f, Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if _, err := h.Handle(context.Background(), workflow.RewardsInput{ReferralID: "r1", Milestone: "won", Step: "hold"}); err != nil {
				t.Fatal(err)
			}
			for _, rw := range f.rewards["r1#won"] {
				got := string(rw.Status)
				if rw.StatusReason != "" {
					got += ": " + rw.StatusReason
				}
				if got != tt.want[rw.Party] {
					t.Errorf("%s reward: %q, want %q", rw.Party, got, tt.want[rw.Party])
				}
				if (rw.StatusReason != "") != rw.NeedsApproval {
					t.Errorf("%s reward: needs_approval=%v with reason %q", rw.Party, rw.NeedsApproval, rw.StatusReason)
				}
			}
			for _, rv := range f.lastRes {
				if rv.Counter != store.BudgetCounter(period) && rv.Counter != store.ReferrerCapCounter("ACME", period) {
					t.Errorf("reservation on %s, want counters of period %s", rv.Counter, period)
				}
			}
		})
	}
}
