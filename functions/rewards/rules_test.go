package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/activity"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/rewardstest"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

// rulesStore serves one program and its referrals; rewards, tier ranks and
// spending counters live in the in-memory rewards repository, which
// reserves against limits exactly as the store does (rewards.Plan, all or
// nothing per reward, limits never exceeded, existing rewards left alone).
type rulesStore struct {
	prog      *program.Program
	referrals map[string]*referral.Referral
	repo      *rewardstest.Repo
}

func newRulesStore(p *program.Program) *rulesStore {
	return &rulesStore{prog: p, referrals: map[string]*referral.Referral{}, repo: rewardstest.New()}
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

func (f *rulesStore) milestoneRewards(id, milestone string) []rewards.Reward {
	rws, _ := f.repo.MilestoneRewards(context.Background(), id, milestone)
	return rws
}

func (f *rulesStore) rank(id string) int {
	r, _ := f.repo.Rank(id)
	return r
}

func rulesHandler(f *rulesStore, now time.Time) *Handler {
	return &Handler{Store: f, Rewards: &rewards.Service{Repo: f.repo, Now: func() time.Time { return now }},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
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
	for _, rw := range f.milestoneRewards(id, milestone) {
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
	h := rulesHandler(f, now)
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
	if _, ranked := f.repo.Rank("r1"); referrerAmount(t, f, "r1", "qualified") != 1000 || ranked {
		t.Fatalf("qualified pays %d, ranked %v; want 1000 and no rank", referrerAmount(t, f, "r1", "qualified"), ranked)
	}
	for _, id := range []string{"r1", "r2", "other", "october", "r3", "r4"} {
		hold(id, "won")
	}
	hold("r3", "won") // a retried step: same rank, same rewards
	want := map[string]int64{"r1": 10000, "r2": 10000, "other": 10000, "october": 10000, "r3": 15000, "r4": 15000}
	for id, amt := range want {
		if got := referrerAmount(t, f, id, "won"); got != amt {
			t.Errorf("%s (rank %d) pays the referrer %d, want %d", id, f.rank(id), got, amt)
		}
	}
	if f.rank("r3") != 3 || f.repo.Count("tiered", "ACME", "2026-11") != 4 || f.repo.Count("tiered", "ACME", "2026-10") != 1 {
		t.Errorf("rank of r3 %d, counts November %d October %d", f.rank("r3"), f.repo.Count("tiered", "ACME", "2026-11"), f.repo.Count("tiered", "ACME", "2026-10"))
	}
	for _, rw := range f.milestoneRewards("r3", "won") {
		if rw.Party == "referee" && rw.AmountMinor != 5000 {
			t.Errorf("the referee reward was tiered: %d", rw.AmountMinor)
		}
	}
	checkRankEvents(t, f, "r3", 3)
}

// checkRankEvents: the referrer's reward.created event of referral id at
// won carries its rank (and its activity line says so); the referee's
// does not.
func checkRankEvents(t *testing.T, f *rulesStore, id string, rank int) {
	t.Helper()
	evs, _ := f.repo.Events(context.Background(), id)
	n := 0
	for _, ev := range evs {
		if ev.Type != events.RewardCreated || ev.Get("milestone") != "won" {
			continue
		}
		n++
		want := ""
		if ev.Get("party") == "referrer" {
			want = strconv.Itoa(rank)
		}
		detail := activity.Describe(ev).Detail
		if ev.Get("rank") != want || strings.Contains(detail, "referrer rank "+want+" in the tier period") != (want != "") {
			t.Errorf("%s event rank %q, want %q: %q", ev.Get("party"), ev.Get("rank"), want, detail)
		}
	}
	if n != 2 {
		t.Errorf("%d reward.created events for %s at won, want 2 (a retried step records nothing)", n, id)
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
			f.repo.SetSpent(p.ID, rewards.BudgetCounter(period), tt.budgetMinor)
			f.repo.SetSpent(p.ID, rewards.ReferrerCapCounter("ACME", period), tt.capSpent)
			addReferral(f, "r1", "ACME", now)
			if _, err := rulesHandler(f, now).Handle(context.Background(), workflow.RewardsInput{ReferralID: "r1", Milestone: "won", Step: "hold"}); err != nil {
				t.Fatal(err)
			}
			rws := f.milestoneRewards("r1", "won")
			if len(rws) != len(tt.want) {
				t.Fatalf("%d rewards, want %d", len(rws), len(tt.want))
			}
			for _, rw := range rws {
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
			checkReservations(t, f, rws, tt.caps, period)
		})
	}
}

// checkReservations: every limit asked for is a counter of the period; a
// reward reserves on all of its limits or on none (when it did not fit, and
// then its reason is on its reward.created event); no counter is above
// its limit.
func checkReservations(t *testing.T, f *rulesStore, rws []rewards.Reward, caps program.Caps, period string) {
	t.Helper()
	limits := f.repo.Limits()
	for _, rv := range limits {
		if rv.Counter != rewards.BudgetCounter(period) && rv.Counter != rewards.ReferrerCapCounter("ACME", period) {
			t.Errorf("reservation on %s, want counters of period %s", rv.Counter, period)
		}
	}
	evs, _ := f.repo.Events(context.Background(), "r1")
	for _, rw := range rws {
		asked := 0
		for _, rv := range limits {
			if rv.RewardID == rw.ID {
				asked++
			}
		}
		if fits := rw.StatusReason == ""; (fits && len(rw.Reserved) != asked) || (!fits && len(rw.Reserved) != 0) {
			t.Errorf("%s reward (%q) reserves %v of %d limits", rw.Party, rw.StatusReason, rw.Reserved, asked)
		}
		for _, ev := range evs {
			if ev.RewardID == rw.ID && (ev.Type != events.RewardCreated || ev.Get("reason") != rw.StatusReason || ev.Status != string(rw.Status)) {
				t.Errorf("event %+v of %s reward (%s: %q)", ev, rw.Party, rw.Status, rw.StatusReason)
			}
		}
	}
	if b := f.repo.Spent(f.prog.ID, rewards.BudgetCounter(period)); caps.BudgetMinor > 0 && b > caps.BudgetMinor {
		t.Errorf("budget counter %d above %d", b, caps.BudgetMinor)
	}
	if c := f.repo.Spent(f.prog.ID, rewards.ReferrerCapCounter("ACME", period)); caps.PerReferrerMinor > 0 && c > caps.PerReferrerMinor {
		t.Errorf("cap counter %d above %d", c, caps.PerReferrerMinor)
	}
	if len(evs) != len(rws) {
		t.Errorf("%d events for %d rewards", len(evs), len(rws))
	}
}
