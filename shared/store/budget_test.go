package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/infra/local/moto"
	"github.com/referflow/referflow/shared/ledger"
)

// budgetStore starts moto and creates a table with template.yaml's schema
// (PK/SK, GSI1, on demand). Tests skip when moto is not installed.
func budgetStore(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	srv, err := moto.Start(ctx, moto.Options{Port: freePort(t), LambdaPort: freePort(t)})
	if errors.Is(err, moto.ErrMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	db := dynamodb.NewFromConfig(aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 3,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		}),
	})
	str := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	ks := func(h, r string) []types.KeySchemaElement {
		return []types.KeySchemaElement{{AttributeName: aws.String(h), KeyType: types.KeyTypeHash}, {AttributeName: aws.String(r), KeyType: types.KeyTypeRange}}
	}
	_, err = db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("budget-test"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{str("PK"), str("SK"), str("GSI1PK"), str("GSI1SK")},
		KeySchema:            ks("PK", "SK"),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(IndexByStatus), KeySchema: ks("GSI1PK", "GSI1SK"),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return New(db, "budget-test")
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// milestoneRewards builds a referrer and a referee reward for a referral
// and the reservations the rewards handler would ask for.
func milestoneRewards(referralID string, referrerAmt, refereeAmt, budget, capMinor int64, period string) ([]ledger.Reward, []Reservation) {
	now := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	var rewards []ledger.Reward
	var res []Reservation
	for _, p := range []struct {
		party string
		amt   int64
	}{{"referrer", referrerAmt}, {"referee", refereeAmt}} {
		id := ledger.RewardID(referralID, "won", p.party)
		rewards = append(rewards, ledger.Reward{ID: id, ReferralID: referralID, ProgramID: "prog", Milestone: "won", Party: p.party,
			ReferrerCode: "ACME", Kind: "cash", AmountMinor: p.amt, Currency: "USD", Status: ledger.StatusOnHold,
			HoldUntil: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now, IdempotencyKey: ledger.IdempotencyKey(id)})
		res = append(res, Reservation{RewardID: id, Counter: BudgetCounter(period), LimitMinor: budget, AmountMinor: p.amt, Reason: "budget exhausted"})
		if p.party == "referrer" {
			res = append(res, Reservation{RewardID: id, Counter: ReferrerCapCounter("ACME", period), LimitMinor: capMinor, AmountMinor: p.amt, Reason: "cap reached"})
		}
	}
	return rewards, res
}

func reservedOn(r ledger.Reward, counter string) int64 {
	var sum int64
	for _, rv := range r.Reserved {
		if rv.Counter == counter {
			sum += rv.AmountMinor
		}
	}
	return sum
}

// TestCreateRewardsReservedNeverOverspends fires 40 concurrent reward
// creations (different referrals, one program, one referrer) at a budget and
// a referrer cap that fit only some, then checks that the reserved money
// never exceeds either limit, that each counter equals the money reserved
// by the stored rewards, and that the rewards left out are pending for a
// person with the reason.
func TestCreateRewardsReservedNeverOverspends(t *testing.T) {
	st := budgetStore(t)
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
		rewards  []ledger.Reward
		reserves []Reservation
	}
	jobs := make([]job, n)
	for i := range jobs {
		id := fmt.Sprintf("ref%03d", i)
		rw, rs := milestoneRewards(id, 500+rng.Int64N(1500), 200+rng.Int64N(800), budget, capMinor, period)
		jobs[i] = job{id, rw, rs}
	}
	describe := func(r ledger.Reward) Activity {
		return Activity{At: r.CreatedAt, Type: "reward", Actor: "test", Detail: "reward " + r.ID + " " + string(r.Status)}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.CreateRewardsReserved(ctx, j.id, "won", j.rewards, j.reserves, describe); err != nil {
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
				b, c := reservedOn(r, BudgetCounter(period)), reservedOn(r, ReferrerCapCounter("ACME", period))
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
					if r.Status != ledger.StatusPending || !r.NeedsApproval || (r.StatusReason != "budget exhausted" && r.StatusReason != "cap reached") {
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
		for counter, want := range map[string]int64{BudgetCounter(period): budgetSum, ReferrerCapCounter("ACME", period): capSum} {
			got, err := st.Spent(ctx, "prog", counter)
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
		if _, err := st.CreateRewardsReserved(ctx, j.id, "won", j.rewards, j.reserves, describe); err != nil {
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
			from := []ledger.Status{ledger.StatusPending, ledger.StatusOnHold, ledger.StatusApproved}
			for i := 0; i < 2; i++ {
				changed, err := st.SetRewardStatus(ctx, r, from, ledger.StatusVoided, "deal lost", time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if changed != (i == 0) {
					t.Fatalf("void #%d changed=%v", i+1, changed)
				}
			}
			released = reservedOn(r, BudgetCounter(period))
		}
	}
	// Voided rewards keep their Reserved list for history; count them out.
	var live int64
	for _, j := range jobs {
		stored, _ := st.MilestoneRewards(ctx, j.id, "won")
		for _, r := range stored {
			if r.Status != ledger.StatusVoided {
				live += reservedOn(r, BudgetCounter(period))
			}
		}
	}
	got, _ := st.Spent(ctx, "prog", BudgetCounter(period))
	if got != live || released == 0 {
		t.Errorf("after a void the budget counter is %d, want %d (released %d)", got, live, released)
	}
}

// TestRankReferralConcurrent ranks one referrer's referrals concurrently:
// ranks are 1..n without gaps or repeats, and a repeat keeps the rank.
func TestRankReferralConcurrent(t *testing.T) {
	st := budgetStore(t)
	ctx := context.Background()
	const n = 12
	for i := 0; i < n; i++ {
		if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: referralKey(fmt.Sprintf("r%02d", i))}); err != nil {
			t.Fatal(err)
		}
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
	if _, err := st.RankReferral(ctx, "missing", "prog", "ACME", "2026-Q4", time.Now()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown referral: %v, want ErrNotFound", err)
	}
}

// TestReservationPlanProperties checks the reservation rules on random
// milestones against an in-memory model of the counters, replaying the
// store's loop (conditional ADD fails → leave the last reward on that
// counter out): counters never exceed their limits, a reward reserves on
// all its counters or none, and every left-out reward is pending for a
// person with the reason of a counter it did not fit.
func TestReservationPlanProperties(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		limits := map[string]int64{"SPEND#BUDGET#p": 1 + rng.Int64N(5000), "SPEND#REFERRER#A#p": 1 + rng.Int64N(3000), "SPEND#REFERRER#B#p": 1 + rng.Int64N(3000)}
		spent := map[string]int64{}
		for m := 0; m < 30; m++ {
			code := []string{"A", "B"}[rng.IntN(2)]
			var rewards []ledger.Reward
			var res []Reservation
			for k := 0; k < 1+rng.IntN(3); k++ {
				id := fmt.Sprintf("m%d-%d", m, k)
				amt := rng.Int64N(2000)
				rewards = append(rewards, ledger.Reward{ID: id, AmountMinor: amt, Status: ledger.StatusOnHold})
				res = append(res, Reservation{RewardID: id, Counter: "SPEND#BUDGET#p", LimitMinor: limits["SPEND#BUDGET#p"], AmountMinor: amt, Reason: "budget exhausted"})
				if k == 0 {
					c := "SPEND#REFERRER#" + code + "#p"
					res = append(res, Reservation{RewardID: id, Counter: c, LimitMinor: limits[c], AmountMinor: amt, Reason: "cap reached"})
				}
			}
			plan := newReservationPlan(rewards, res)
			for round := 0; ; round++ {
				if round > len(rewards)+1 {
					t.Fatalf("seed %d: the plan does not converge", seed)
				}
				final, counters := plan.apply()
				failed := false
				for _, c := range counters {
					if spent[c.counter] > c.limit-c.amount { // the ConditionExpression
						failed = plan.dropLast(c.counter) || failed
					}
				}
				if failed {
					continue
				}
				for _, c := range counters {
					spent[c.counter] += c.amount
				}
				for i, r := range final {
					var want int64
					for _, rv := range res {
						if rv.RewardID == r.ID && rv.AmountMinor > 0 {
							want++
						}
					}
					switch {
					case int64(len(r.Reserved)) == want && r.Status == ledger.StatusOnHold:
					case len(r.Reserved) == 0 && r.Status == ledger.StatusPending && r.NeedsApproval && r.StatusReason != "":
					default:
						t.Fatalf("seed %d: reward %d is %s with %d of %d reservations", seed, i, r.Status, len(r.Reserved), want)
					}
				}
				break
			}
			for c, v := range spent {
				if v > limits[c] {
					t.Fatalf("seed %d: counter %s = %d above its limit %d", seed, c, v, limits[c])
				}
			}
		}
	}
}
