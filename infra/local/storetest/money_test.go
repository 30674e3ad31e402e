package storetest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// A payment checks, in the transaction that pays, that the referral's deal
// is neither lost nor refunded: a loss recorded after the pay step read
// the referral is not paid (nothing written, the reward still payable, the
// loss reported with its reason), and a reward of an open deal is paid.
func TestPaymentChecksTheDealInTheSameTransaction(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	for _, id := range []string{"ref_open", "ref_refunded"} {
		create(t, st, newReferral(id, id+"@deal.example", ""))
	}
	open, refunded := reward("ref_open", "won", "referrer", 50000), reward("ref_refunded", "won", "referrer", 50000)
	for _, r := range []rewards.Reward{open, refunded} {
		if _, err := st.CreateRewards(ctx, r.ReferralID, "won", []rewards.Reward{r}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	lostAt := t0.Add(time.Hour)
	if _, err := st.RecordDeal(ctx, "ref_refunded", referral.DealUpdate{Lost: true, LostReason: "refunded"}, lostAt); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(2 * time.Hour)
	ok, err := st.PayReward(ctx, refunded, rewards.PayableEntry(refunded, later), rewards.Event(events.RewardPaid, refunded, "test", later), later, rewards.DealOpen)
	var lost *rewards.LostError
	if ok || !errors.Is(err, rewards.ErrDealLost) || !errors.As(err, &lost) || lost.Reason != "refunded" || !lost.At.Equal(lostAt) {
		t.Fatalf("paying a refunded deal's reward: paid=%v, %v; want ErrDealLost (refunded at %s)", ok, err, lostAt)
	}
	if entries, _ := st.LedgerEntries(ctx, refunded.ID); len(entries) != 0 {
		t.Fatalf("ledger %+v", entries)
	}
	if rs, _ := st.MilestoneRewards(ctx, "ref_refunded", "won"); len(rs) != 1 || rs[0].Status != rewards.StatusOnHold {
		t.Fatalf("reward %+v, want it unchanged", rs)
	}
	if ok, err := st.PayReward(ctx, open, rewards.PayableEntry(open, later), rewards.Event(events.RewardPaid, open, "test", later), later, rewards.DealOpen); !ok || err != nil {
		t.Fatalf("paying an open deal's reward: %v %v", ok, err)
	}
}
