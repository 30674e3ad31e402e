package rewards_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// TestBudgetsBalanceThroughTheLifecycle runs the lifecycle of several
// referrals of one referrer against a program budget and a referrer cap:
// holds (some rewards do not fit), payments, a decline, overrides, a loss
// during a hold, refunds after payment. After each move every counter
// equals the sum of its live rewards' reservations and payments, and holds
// what the move should leave on it: a decline, a void and a reversal give
// money back, an override payment counts past the limit.
func TestBudgetsBalanceThroughTheLifecycle(t *testing.T) {
	b := newBudgetEnv(t)
	hold, pay, approve, lose, check, get := b.hold, b.pay, b.approve, b.lose, b.check, b.get
	refs, e, ctx := b.refs, b.env, context.Background()
	hold("A", "won") // referrer 500 (budget, cap) + referee 1000 (budget)
	check("A held", 150000, 50000, 0)
	hold("B", "won") // the referrer's cap and then the budget are full: both left out
	if rw := get("B", "won", "referrer"); rw.Limited != rewards.ReasonCap || len(rw.Reserved) != 0 {
		t.Fatalf("B's referrer reward %+v, want left out by the cap", rw)
	}
	check("B held, left out", 150000, 50000, 0)
	hold("C", "qualified") // referrer 100
	check("C held", 160000, 60000, 0)
	e.clock.t = t0.Add(31 * 24 * time.Hour)
	pay("A", "won")       // the referrer is paid, the referee waits for a person
	pay("C", "qualified") // paid
	check("paid", 160000, 60000, 0)
	b.must(e.svc.Decline(ctx, get("A", "won", "referee"), "duplicate", events.ActorAdmin))
	check("A's referee declined", 60000, 60000, 0)
	hold("D", "won") // another referrer: its reward fits, the referee's does not
	check("D held", 110000, 60000, 50000)
	lose("D", "lost") // during the hold: the reservation goes back
	pay("D", "won")
	check("D lost during its hold", 60000, 60000, 0)
	approve("B", "won", "referrer") // an override, past the cap
	check("B's referrer paid anyway", 110000, 110000, 0)
	lose("C", "refunded") // C's paid qualified reward is reversed
	check("C refunded", 100000, 100000, 0)
	approve("B", "won", "referee") // an override of the budget
	check("B's referee paid anyway", 200000, 100000, 0)
	refs["A"].Status, refs["B"].Status = referral.StatusCompleted, referral.StatusCompleted
	lose("A", "refunded")
	lose("B", "lost") // lost after completion: the sale is taken back
	check("A refunded, B lost after completion", 0, 0, 0)
	if n := len(e.repo.Entries()); n != 8 {
		t.Fatalf("%d ledger entries, want 4 payments and 4 reversals", n)
	}
}

// budgetEnv runs the lifecycle of four referrals (A, B, C of referrer
// ann-42, D of bob-7) under a program with a quarterly budget of 2,000.00
// and a referrer cap of 800.00.
type budgetEnv struct {
	t    *testing.T
	env  *env
	p    *program.Program
	refs map[string]*referral.Referral
}

func newBudgetEnv(t *testing.T) *budgetEnv {
	b := &budgetEnv{t: t, env: newEnv(), p: testProgram(), refs: map[string]*referral.Referral{}}
	b.p.Caps = program.Caps{Period: program.PeriodQuarter, BudgetMinor: 200000, PerReferrerMinor: 80000, OnExhausted: program.PolicyReview}
	for _, id := range []string{"A", "B", "C", "D"} {
		r := testReferral()
		r.ID = "ref_01JS00000000000000000000B" + id
		b.refs[id] = r
	}
	b.refs["C"].Milestones = map[string]time.Time{"qualified": t0}
	b.refs["D"].ReferrerCode = "bob-7"
	return b
}

// check: the counters balance and hold what the moves should leave.
func (b *budgetEnv) check(step string, wantBudget, wantCap, wantBob int64) {
	b.t.Helper()
	repo := b.env.repo
	if bad := repo.Unbalanced("partners"); len(bad) > 0 {
		b.t.Fatalf("%s: unbalanced %v", step, bad)
	}
	budget := repo.Spent("partners", rewards.BudgetCounter("2026-Q4"))
	ann, bob := repo.Spent("partners", rewards.ReferrerCapCounter("ann-42", "2026-Q4")), repo.Spent("partners", rewards.ReferrerCapCounter("bob-7", "2026-Q4"))
	if budget != wantBudget || ann != wantCap || bob != wantBob {
		b.t.Fatalf("%s: budget %d, caps %d and %d; want %d, %d and %d", step, budget, ann, bob, wantBudget, wantCap, wantBob)
	}
}

func (b *budgetEnv) get(id, milestone, party string) rewards.Reward {
	rw, _ := b.env.repo.Get(b.refs[id].ID, milestone, party)
	return rw
}

func (b *budgetEnv) must(err error) {
	b.t.Helper()
	if err != nil && !errors.Is(err, rewards.ErrDealLost) {
		b.t.Fatal(err)
	}
}

func (b *budgetEnv) hold(id, milestone string) {
	b.t.Helper()
	_, err := b.env.svc.Hold(context.Background(), b.refs[id], b.p, milestone)
	b.must(err)
}

func (b *budgetEnv) pay(id, milestone string) {
	b.t.Helper()
	_, err := b.env.svc.Pay(context.Background(), b.refs[id], b.p, milestone)
	b.must(err)
}

func (b *budgetEnv) approve(id, milestone, party string) {
	b.t.Helper()
	b.must(b.env.svc.Approve(context.Background(), b.refs[id], b.p, b.get(id, milestone, party), events.ActorAdmin))
}

// lose records the loss of a referral's deal now and applies it.
func (b *budgetEnv) lose(id, reason string) {
	b.t.Helper()
	r, at := b.refs[id], b.env.clock.t
	r.LostAt, r.LostReason = &at, reason
	b.env.repo.Lose(r.ID, at, reason)
	_, err := b.env.svc.ApplyLoss(context.Background(), r, b.p, events.ActorWorkflow)
	b.must(err)
}
