package rewards

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

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
			var rewards []Reward
			var res []Limit
			for k := 0; k < 1+rng.IntN(3); k++ {
				id := fmt.Sprintf("m%d-%d", m, k)
				amt := rng.Int64N(2000)
				rewards = append(rewards, Reward{ID: id, AmountMinor: amt, Status: StatusOnHold})
				res = append(res, Limit{RewardID: id, Counter: "SPEND#BUDGET#p", LimitMinor: limits["SPEND#BUDGET#p"], AmountMinor: amt, Reason: "budget exhausted"})
				if k == 0 {
					c := "SPEND#REFERRER#" + code + "#p"
					res = append(res, Limit{RewardID: id, Counter: c, LimitMinor: limits[c], AmountMinor: amt, Reason: "cap reached"})
				}
			}
			plan := NewPlan(rewards, res)
			for round := 0; ; round++ {
				if round > len(rewards)+1 {
					t.Fatalf("seed %d: the plan does not converge", seed)
				}
				final, counters := plan.Apply()
				failed := false
				for _, c := range counters {
					if spent[c.Counter] > c.Limit-c.Amount { // the ConditionExpression
						failed = plan.DropLast(c.Counter) || failed
					}
				}
				if failed {
					continue
				}
				for _, c := range counters {
					spent[c.Counter] += c.Amount
				}
				for i, r := range final {
					var want int64
					for _, rv := range res {
						if rv.RewardID == r.ID && rv.AmountMinor > 0 {
							want++
						}
					}
					switch {
					case int64(len(r.Reserved)) == want && r.Status == StatusOnHold:
					case len(r.Reserved) == 0 && r.Status == StatusPending && r.NeedsApproval && r.StatusReason != "":
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
