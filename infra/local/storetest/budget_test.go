package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// milestoneRewards builds a referrer and a referee reward for a referral
// and the reservations the rewards handler would ask for.
func milestoneRewards(referralID string, referrerAmt, refereeAmt, budget, capMinor int64, period string) ([]rewards.Reward, []rewards.Limit) {
	now := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	var rws []rewards.Reward
	var res []rewards.Limit
	for _, p := range []struct {
		party string
		amt   int64
	}{{"referrer", referrerAmt}, {"referee", refereeAmt}} {
		id := rewards.RewardID(referralID, "won", p.party)
		rws = append(rws, rewards.Reward{ID: id, ReferralID: referralID, ProgramID: "prog", Milestone: "won", Party: p.party,
			ReferrerCode: "ACME", Kind: "cash", AmountMinor: p.amt, Currency: "USD", Status: rewards.StatusOnHold,
			HoldUntil: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now, IdempotencyKey: rewards.IdempotencyKey(id)})
		res = append(res, rewards.Limit{RewardID: id, Counter: rewards.BudgetCounter(period), LimitMinor: budget, AmountMinor: p.amt, Reason: "budget exhausted"})
		if p.party == "referrer" {
			res = append(res, rewards.Limit{RewardID: id, Counter: rewards.ReferrerCapCounter("ACME", period), LimitMinor: capMinor, AmountMinor: p.amt, Reason: "cap reached"})
		}
	}
	return rws, res
}

func reservedOn(r rewards.Reward, counter string) int64 {
	var sum int64
	for _, rv := range r.Reserved {
		if rv.Counter == counter {
			sum += rv.AmountMinor
		}
	}
	return sum
}

// TestCreateRewardsNeverOverspends fires 40 concurrent reward
// creations (different referrals, one program, one referrer) at a budget and
// a referrer cap that fit only some, then checks that the reserved money
// never exceeds either limit, that each counter equals the money reserved
// by the stored rewards, and that the rewards left out are pending for a
// person with the reason.
func TestCreateRewardsNeverOverspends(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	const (
		n        = 40
		budget   = 20000 // 200.00
		capMinor = 12000 // 120.00 for the one referrer
		period   = "2026-11"
	)
	rng := rand.New(rand.NewPCG(7, 11))
	type job struct {
		id       string
		rewards  []rewards.Reward
		reserves []rewards.Limit
	}
	jobs := make([]job, n)
	for i := range jobs {
		id := fmt.Sprintf("ref%03d", i)
		rw, rs := milestoneRewards(id, 500+rng.Int64N(1500), 200+rng.Int64N(800), budget, capMinor, period)
		jobs[i] = job{id, rw, rs}
	}
	describe := func(r rewards.Reward) events.Event {
		return rewards.Event(events.RewardCreated, r, "test", r.CreatedAt)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.CreateRewards(ctx, j.id, "won", j.rewards, j.reserves, describe); err != nil {
				errs <- fmt.Errorf("%s: %w", j.id, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d concurrent creations in %s", n, time.Since(start).Round(time.Millisecond))

	check := func(when string) (reserved, blocked int) {
		t.Helper()
		var budgetSum, capSum int64
		for _, j := range jobs {
			stored, err := st.MilestoneRewards(ctx, j.id, "won")
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != 2 {
				t.Fatalf("%s: %s has %d rewards, want 2", when, j.id, len(stored))
			}
			for _, r := range stored {
				b, c := reservedOn(r, rewards.BudgetCounter(period)), reservedOn(r, rewards.ReferrerCapCounter("ACME", period))
				budgetSum += b
				capSum += c
				switch {
				case len(r.Reserved) > 0:
					reserved++
					if b != r.AmountMinor || (r.Party == "referrer" && c != r.AmountMinor) {
						t.Errorf("%s: %s reserved %d/%d of %d (all or nothing)", when, r.ID, b, c, r.AmountMinor)
					}
				default:
					blocked++
					if r.Status != rewards.StatusPending || !r.NeedsApproval || (r.StatusReason != "budget exhausted" && r.StatusReason != "cap reached") {
						t.Errorf("%s: unreserved %s is %s/%q needs_approval=%v, want pending with a limit reason for a person", when, r.ID, r.Status, r.StatusReason, r.NeedsApproval)
					}
				}
			}
		}
		if budgetSum > budget {
			t.Errorf("%s: reserved %d against a budget of %d", when, budgetSum, budget)
		}
		if capSum > capMinor {
			t.Errorf("%s: referrer reserved %d against a cap of %d", when, capSum, capMinor)
		}
		for counter, want := range map[string]int64{rewards.BudgetCounter(period): budgetSum, rewards.ReferrerCapCounter("ACME", period): capSum} {
			got, err := storetest.Spent(ctx, storetest.DB(t), st.Table(), "prog", counter)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s: counter %s = %d, stored rewards reserved %d", when, counter, got, want)
			}
		}
		t.Logf("%s: budget %d/%d, cap %d/%d, %d rewards reserved, %d left for review", when, budgetSum, budget, capSum, capMinor, reserved, blocked)
		return reserved, blocked
	}
	reserved, blocked := check("after the burst")
	if reserved == 0 || blocked == 0 {
		t.Fatalf("want some rewards reserved and some left out, got %d and %d", reserved, blocked)
	}

	// A retried step (the same rewards again) reserves nothing twice.
	for _, j := range jobs[:10] {
		if _, err := st.CreateRewards(ctx, j.id, "won", j.rewards, j.reserves, describe); err != nil {
			t.Fatal(err)
		}
	}
	check("after retries")

	// Voiding reserved rewards gives their money back, once.
	var released int64
	for _, j := range jobs {
		stored, _ := st.MilestoneRewards(ctx, j.id, "won")
		for _, r := range stored {
			if len(r.Reserved) == 0 || released > 0 {
				continue
			}
			from := []rewards.Status{rewards.StatusPending, rewards.StatusOnHold, rewards.StatusApproved}
			for i := 0; i < 2; i++ {
				changed, err := st.SetRewardStatus(ctx, r, from, rewards.StatusVoided, "deal lost", rewards.Event(events.RewardVoided, r, "test", time.Now()), time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if changed != (i == 0) {
					t.Fatalf("void #%d changed=%v", i+1, changed)
				}
			}
			released = reservedOn(r, rewards.BudgetCounter(period))
		}
	}
	// Voided rewards keep their Reserved list for history; count them out.
	var live int64
	for _, j := range jobs {
		stored, _ := st.MilestoneRewards(ctx, j.id, "won")
		for _, r := range stored {
			if r.Status != rewards.StatusVoided {
				live += reservedOn(r, rewards.BudgetCounter(period))
			}
		}
	}
	got, _ := storetest.Spent(ctx, storetest.DB(t), st.Table(), "prog", rewards.BudgetCounter(period))
	if got != live || released == 0 {
		t.Errorf("after a void the budget counter is %d, want %d (released %d)", got, live, released)
	}
}

// TestRankReferralConcurrent ranks one referrer's referrals concurrently:
// ranks are 1..n without gaps or repeats, and a repeat keeps the rank.
func TestRankReferralConcurrent(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	const n = 12
	for i := 0; i < n; i++ {
		create(t, st, newReferral(fmt.Sprintf("r%02d", i), fmt.Sprintf("p%02d@rank.example", i), ""))
	}
	ranks := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := st.RankReferral(ctx, fmt.Sprintf("r%02d", i), "prog", "ACME", "2026-Q4", time.Now())
			if err != nil {
				t.Error(err)
			}
			ranks[i] = r
		}()
	}
	wg.Wait()
	sorted := append([]int(nil), ranks...)
	sort.Ints(sorted)
	for i, r := range sorted {
		if r != i+1 {
			t.Fatalf("ranks %v are not 1..%d", sorted, n)
		}
	}
	again, err := st.RankReferral(ctx, "r03", "prog", "ACME", "2026-Q4", time.Now())
	if err != nil || again != ranks[3] {
		t.Fatalf("repeat rank = %d, %v; want %d", again, err, ranks[3])
	}
	if _, err := st.RankReferral(ctx, "missing", "prog", "ACME", "2026-Q4", time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown referral: %v, want store.ErrNotFound", err)
	}
}

// TestBudgetsBalanceThroughEveryMove runs holds, payments, voids, a
// decline, an override and reversals against one program budget and one
// referrer cap, and checks after each move that each counter holds what
// the moves put on it and equals the sum of its live rewards' reservations
// and payments (invariant 9): a void or decline gives a reservation back,
// an override payment counts on the counters it did not fit, a reversal
// gives the reversed payment back.
func TestBudgetsBalanceThroughEveryMove(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	const budget, capMinor, period = 10000, 6000, "2026-11"
	b, c := rewards.BudgetCounter(period), rewards.ReferrerCapCounter("ACME", period)
	want := map[string]int64{}
	ids := []string{"bal1", "bal2", "bal3", "bal4"}
	stored := map[string]rewards.Reward{} // by reward id, as last written
	for _, id := range ids {
		rws, lims := milestoneRewards(id, 3000, 1500, budget, capMinor, period)
		out, err := st.CreateRewards(ctx, id, "won", rws, lims, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out {
			stored[r.ID] = r
			for _, rv := range r.Reserved {
				want[rv.Counter] += rv.AmountMinor
			}
		}
	}
	balanced(t, st, "after the holds", want, b, c)
	get := func(id, party string) rewards.Reward { return stored[rewards.RewardID(id, "won", party)] }
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	pay := func(r rewards.Reward) {
		t.Helper()
		if ok, err := st.PayReward(ctx, r, rewards.PayableEntry(r, now), rewards.Event(events.RewardPaid, r, "test", now), now, rewards.DealOpen); !ok || err != nil {
			t.Fatalf("pay %s: %v %v", r.ID, ok, err)
		}
		stored[r.ID] = r
	}
	void := func(r rewards.Reward, why string) {
		t.Helper()
		from := []rewards.Status{rewards.StatusPending, rewards.StatusOnHold, rewards.StatusApproved}
		if ok, err := st.SetRewardStatus(ctx, r, from, rewards.StatusVoided, why, rewards.Event(events.RewardVoided, r, "test", now), now); !ok || err != nil {
			t.Fatalf("void %s: %v %v", r.ID, ok, err)
		}
		for _, rv := range r.Reserved {
			want[rv.Counter] -= rv.AmountMinor
		}
	}
	reverse := func(r rewards.Reward) {
		t.Helper()
		if ok, err := st.ReverseReward(ctx, r, rewards.ReversalEntry(r, now), rewards.Event(events.RewardReversed, r, "test", now)); !ok || err != nil {
			t.Fatalf("reverse %s: %v %v", r.ID, ok, err)
		}
		for _, rv := range r.Reserved {
			want[rv.Counter] -= rv.AmountMinor
		}
	}
	pay(get("bal1", "referrer"))
	pay(get("bal1", "referee"))
	balanced(t, st, "after paying reserved rewards", want, b, c)
	void(get("bal2", "referrer"), "deal lost")
	balanced(t, st, "after a void", want, b, c)
	limited := get("bal4", "referrer")
	if limited.Limited == "" || len(limited.Reserved) != 0 {
		t.Fatalf("bal4's referrer reward should not have fitted: %+v", limited)
	}
	void(get("bal3", "referee"), rewards.ReasonDeclined+": too late")
	balanced(t, st, "after a decline", want, b, c)
	// An override pays a reward that did not fit: it counts on the
	// counters it did not fit, which may go over their limit.
	limited.Reserved = []rewards.Reservation{{Counter: b, AmountMinor: limited.AmountMinor}, {Counter: c, AmountMinor: limited.AmountMinor}}
	pay(limited)
	want[b] += limited.AmountMinor
	want[c] += limited.AmountMinor
	balanced(t, st, "after an override", want, b, c)
	reverse(get("bal1", "referrer"))
	reverse(limited)
	balanced(t, st, "after reversals", want, b, c)
}

// balanced checks each counter against want and against the live rewards
// of the table: reserved or paid, not voided, not reversed.
func balanced(t *testing.T, st *store.Store, when string, want map[string]int64, counters ...string) {
	t.Helper()
	ctx := context.Background()
	live := map[string]int64{}
	for _, id := range []string{"bal1", "bal2", "bal3", "bal4"} {
		rs, err := st.MilestoneRewards(ctx, id, "won")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			entries, _ := st.LedgerEntries(ctx, r.ID)
			if r.Status == rewards.StatusVoided || len(entries) == 2 {
				continue
			}
			for _, rv := range r.Reserved {
				live[rv.Counter] += rv.AmountMinor
			}
		}
	}
	for _, counter := range counters {
		got, err := storetest.Spent(ctx, storetest.DB(t), st.Table(), "prog", counter)
		if err != nil {
			t.Fatal(err)
		}
		if got != want[counter] || got != live[counter] {
			t.Errorf("%s: counter %s = %d, the moves put %d on it, its live rewards hold %d", when, counter, got, want[counter], live[counter])
		}
	}
}
