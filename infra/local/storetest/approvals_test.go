package storetest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

func awaiting(t *testing.T, st *store.Store) []string {
	t.Helper()
	ds, err := st.AwaitingApproval(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return filedIDs(ds)
}

// TestRewardsWaitingForAPersonAreListedUntilTheyMoveOn: a reward waiting
// for approval is listed (oldest first) until it is paid, approved,
// voided or claimed; a reward that never waited is not listed.
func TestRewardsWaitingForAPersonAreListedUntilTheyMoveOn(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	wait := func(r rewards.Reward, at time.Time) rewards.Reward {
		t.Helper()
		ev := rewards.Event(events.RewardAwaitingApproval, r, "test", at).WithStatus("pending")
		ok, err := st.SetRewardStatus(ctx, r, []rewards.Status{rewards.StatusOnHold}, rewards.StatusPending, rewards.ReasonAwaitingApproval, ev, at)
		if !ok || err != nil {
			t.Fatalf("await %s = %v, %v", r.ReferralID, ok, err)
		}
		return stored(t, st, r)
	}
	paid, voided, claimed := payoutReward(t, st, "ref_appr_paid"), payoutReward(t, st, "ref_appr_void"), payoutReward(t, st, "ref_appr_claim")
	payoutReward(t, st, "ref_appr_never")
	paid, voided, claimed = wait(paid, t0), wait(voided, t0.Add(time.Minute)), wait(claimed, t0.Add(2*time.Minute))
	if got := awaiting(t, st); !slices.Equal(got, []string{paid.ID, voided.ID, claimed.ID}) {
		t.Fatalf("waiting %v", got)
	}
	ev := rewards.Event(events.RewardPaid, paid, "test", t0).WithStatus("paid")
	if ok, err := st.PayReward(ctx, paid, rewards.PayableEntry(paid, t0), ev, t0, rewards.DealOpen); !ok || err != nil {
		t.Fatalf("pay = %v, %v", ok, err)
	}
	vev := rewards.Event(events.RewardVoided, voided, "test", t0).WithStatus("voided")
	if ok, err := st.SetRewardStatus(ctx, voided, []rewards.Status{rewards.StatusPending}, rewards.StatusVoided, "declined: test", vev, t0); !ok || err != nil {
		t.Fatalf("void = %v, %v", ok, err)
	}
	claimFor(t, st, claimed, "stripe", t0)
	if got := awaiting(t, st); len(got) != 0 {
		t.Fatalf("still waiting: %v", got)
	}
}
