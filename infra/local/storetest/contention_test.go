package storetest_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// contended is the table as DynamoDB behaves under load, which moto does
// not reproduce: a share of the transactions is cancelled before it is
// applied, as DynamoDB cancels one that conflicts with a concurrent
// transaction on the same item (TransactionConflict) or that is throttled
// (ThrottlingError), and a share of the requests is throttled outright
// after the SDK's own retries (ProvisionedThroughputExceededException,
// ThrottlingException, RequestLimitExceeded). Nothing rejected reaches the
// table, as nothing of a cancelled transaction is applied.
type contended struct {
	*dynamodb.Client
	mu       sync.Mutex
	rng      *rand.Rand
	rate     float64
	injected atomic.Int64
}

func newContended(t *testing.T, rate float64) *contended {
	return &contended{Client: storetest.DB(t), rng: rand.New(rand.NewPCG(42, 7)), rate: rate}
}

// fault picks the failure of the next call, or nil.
func (c *contended) fault(n int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rng.Float64() >= c.rate {
		return nil
	}
	c.injected.Add(1)
	switch k := c.rng.IntN(5); k {
	case 0, 1:
		reasons := make([]types.CancellationReason, n)
		for i := range reasons {
			reasons[i].Code = aws.String("None")
		}
		reasons[c.rng.IntN(n)].Code = aws.String([]string{"TransactionConflict", "ThrottlingError"}[k])
		return &types.TransactionCanceledException{Message: aws.String("Transaction cancelled"), CancellationReasons: reasons}
	case 2:
		return &types.ProvisionedThroughputExceededException{Message: aws.String("throughput exceeded")}
	case 3:
		return &types.RequestLimitExceeded{Message: aws.String("request limit exceeded")}
	default:
		return &types.TransactionConflictException{Message: aws.String("conflict")}
	}
}

func (c *contended) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if err := c.fault(len(in.TransactItems)); err != nil {
		return nil, err
	}
	return c.Client.TransactWriteItems(ctx, in, opts...)
}

// TestBurstOfReferralsFromOnePartnerAllCount verifies many referrals of
// one partner at once: every count completes, each referral is counted
// once, and the partner's counters hold them all.
func TestBurstOfReferralsFromOnePartnerAllCount(t *testing.T) {
	ctx := context.Background()
	plain := storetest.New(t)
	db := newContended(t, 0.3)
	st := store.New(db, plain.Table())
	const n = 30
	for i := 0; i < n; i++ {
		create(t, plain, newReferral(fmt.Sprintf("ref_B%02d", i), fmt.Sprintf("p%d@burst%d.example", i, i), ""))
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.CountReferral(ctx, fmt.Sprintf("ref_B%02d", i), "p1", "DEMO", t0); err != nil {
				t.Errorf("count referral %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	c, err := plain.CountReferral(ctx, "ref_B00", "p1", "DEMO", t0)
	if err != nil || c.Today != n || c.ThisMonth != n {
		t.Fatalf("counters %+v, %v; want %d each", c, err, n)
	}
	if db.injected.Load() == 0 {
		t.Fatal("no conflict was injected: the test proves nothing")
	}
	t.Logf("%d conflicts and throttles injected", db.injected.Load())
}

// TestManyHoldsAgainstOneBudgetAllComplete holds, pays and voids many
// referrals' rewards against one program budget under contention: every
// call completes, each reward is paid at most once, and the budget counter
// still equals what the live rewards hold.
func TestManyHoldsAgainstOneBudgetAllComplete(t *testing.T) {
	ctx := context.Background()
	plain := storetest.New(t)
	db := newContended(t, 0.3)
	st := store.New(db, plain.Table())
	const n, budget, period = 30, 20000, "2026-11"
	describe := func(r rewards.Reward) events.Event {
		return rewards.Event(events.RewardCreated, r, "test", r.CreatedAt)
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("ref_H%02d", i)
			rws, lims := milestoneRewards(id, 1000, 500, budget, 1<<40, period)
			stored, err := st.CreateRewards(ctx, id, "won", rws, lims, describe)
			if err != nil {
				t.Errorf("hold %s: %v", id, err)
				return
			}
			for _, r := range stored {
				if err := settle(ctx, st, r, i%3 == 0); err != nil {
					t.Errorf("%s: %v", r.ID, err)
				}
			}
		}()
	}
	wg.Wait()
	var live int64
	for i := 0; i < n; i++ {
		stored, err := plain.MilestoneRewards(ctx, fmt.Sprintf("ref_H%02d", i), "won")
		if err != nil || len(stored) != 2 {
			t.Fatalf("ref_H%02d: %d rewards, %v", i, len(stored), err)
		}
		for _, r := range stored {
			entries, _ := plain.LedgerEntries(ctx, r.ID)
			if (r.Status == rewards.StatusPaid) != (len(entries) == 1) || len(entries) > 1 {
				t.Errorf("%s is %s with %d ledger entries", r.ID, r.Status, len(entries))
			}
			if r.Status != rewards.StatusVoided {
				live += reservedOn(r, rewards.BudgetCounter(period))
			}
		}
	}
	spent, err := storetest.Spent(ctx, storetest.DB(t), plain.Table(), "prog", rewards.BudgetCounter(period))
	if err != nil || spent != live || spent > budget {
		t.Fatalf("budget counter %d (%v), live rewards hold %d, budget %d", spent, err, live, budget)
	}
	t.Logf("%d conflicts and throttles injected; budget %d/%d", db.injected.Load(), spent, budget)
}

// settle pays a reserved reward (twice, as a retried step would) or voids
// it; a reward left out by the budget is voided.
func settle(ctx context.Context, st *store.Store, r rewards.Reward, void bool) error {
	if void || len(r.Reserved) == 0 {
		from := []rewards.Status{rewards.StatusPending, rewards.StatusOnHold, rewards.StatusApproved}
		_, err := st.SetRewardStatus(ctx, r, from, rewards.StatusVoided, "deal lost", rewards.Event(events.RewardVoided, r, "test", t0), t0)
		return err
	}
	for i := 0; i < 2; i++ {
		if _, err := st.PayReward(ctx, r, rewards.PayableEntry(r, t0), rewards.Event(events.RewardPaid, r, "test", t0), t0, rewards.DealOpen); err != nil {
			return err
		}
	}
	return nil
}
