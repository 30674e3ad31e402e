package rewards

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
)

func load(t *testing.T, doc string) *program.Program {
	t.Helper()
	p, err := program.Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const doc = `
schema: 1
id: rewards
currency: USD
milestones:
  - name: qualified
    deadline: 30d
    rewards:
      - {party: referrer, kind: cash, amount: 100}
  - name: won
    deadline: 365d
    rewards:
      - {party: referrer, kind: cash, percent: "10%", floor: 250, ceiling: 5000}
      - {party: referee, kind: discount, percent: "2.5%"}
  - name: renewed
    deadline: 365d
    rewards:
      - {party: referee, kind: gift_card, amount: 50, currency: EUR}
tiers:
  - {from: 1, multiplier: 1}
  - {from: 3, multiplier: 1.25}
  - {from: 5, multiplier: 1.5}
approval:
  auto_below: 1000
`

func TestCompute(t *testing.T) {
	p := load(t, doc)
	usd := func(minor int64) *money.Money { return &money.Money{Minor: minor, Currency: "USD"} }
	type want struct {
		party    string
		amount   int64
		mult     int64
		approval bool
		noDeal   bool
		bound    string
	}
	for _, c := range []struct {
		name      string
		milestone int
		in        Input
		want      []want
	}{
		{"fixed, no tier", 0, Input{Rank: 1}, []want{{"referrer", 10000, 10000, false, false, ""}}},
		{"fixed, rank unknown", 0, Input{}, []want{{"referrer", 10000, 10000, false, false, ""}}},
		{"fixed, tier 2", 0, Input{Rank: 4}, []want{{"referrer", 12500, 12500, false, false, ""}}},
		{"fixed, tier 3", 0, Input{Rank: 50}, []want{{"referrer", 15000, 15000, false, false, ""}}},
		{"percent of 12,000.00", 1, Input{Deal: usd(1200000), Rank: 1}, []want{
			{"referrer", 120000, 10000, true, false, ""},
			{"referee", 30000, 10000, false, false, ""},
		}},
		{"percent raised to floor", 1, Input{Deal: usd(100000), Rank: 1}, []want{
			{"referrer", 25000, 10000, false, false, "floor"},
			{"referee", 2500, 10000, false, false, ""},
		}},
		{"percent lowered to ceiling", 1, Input{Deal: usd(10000000), Rank: 5}, []want{
			{"referrer", 500000, 15000, true, false, "ceiling"},
			{"referee", 250000, 10000, true, false, ""},
		}},
		{"round half up once", 1, Input{Deal: usd(1005), Rank: 3}, []want{ // 1005 * 10% * 1.25 = 125.625 -> floor
			{"referrer", 25000, 12500, false, false, "floor"},
			{"referee", 25, 10000, false, false, ""}, // 25.125 -> 25
		}},
		{"half rounds up", 1, Input{Deal: usd(20), Rank: 1}, []want{ // referee: 20 * 2.5% = 0.5 -> 1
			{"referrer", 25000, 10000, false, false, "floor"},
			{"referee", 1, 10000, false, false, ""},
		}},
		{"no deal: floor, or 0", 1, Input{Rank: 1}, []want{
			{"referrer", 25000, 10000, false, true, ""},
			{"referee", 0, 10000, false, true, ""},
		}},
		{"deal in another currency", 1, Input{Deal: &money.Money{Minor: 1200000, Currency: "EUR"}, Rank: 1}, []want{
			{"referrer", 25000, 10000, false, true, ""},
			{"referee", 0, 10000, false, true, ""},
		}},
		{"deal without currency is the reward's", 1, Input{Deal: &money.Money{Minor: 1200000}, Rank: 1}, []want{
			{"referrer", 120000, 10000, true, false, ""},
			{"referee", 30000, 10000, false, false, ""},
		}},
		{"negative deal counts as 0", 1, Input{Deal: usd(-500), Rank: 1}, []want{
			{"referrer", 25000, 10000, false, false, "floor"},
			{"referee", 0, 10000, false, false, ""},
		}},
		{"huge deal saturates", 1, Input{Deal: usd(math.MaxInt64), Rank: 1}, []want{
			{"referrer", 500000, 10000, true, false, "ceiling"},
			{"referee", 230584300921369395, 10000, true, false, ""},
		}},
		{"foreign currency needs approval", 2, Input{Rank: 9}, []want{{"referee", 5000, 10000, true, false, ""}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines := Compute(p, c.milestone, c.in)
			if len(lines) != len(c.want) {
				t.Fatalf("%d lines, want %d: %+v", len(lines), len(c.want), lines)
			}
			for i, w := range c.want {
				l := lines[i]
				if l.Party != w.party || l.AmountMinor != w.amount || l.MultiplierBP != w.mult || l.NeedsApproval != w.approval || l.NoDeal != w.noDeal || l.Bound != w.bound {
					t.Errorf("line %d = %+v\nwant %+v", i, l, w)
				}
				if l.Milestone != p.Milestones[c.milestone].Name || l.Description == "" || l.Currency == "" {
					t.Errorf("line %d incomplete: %+v", i, l)
				}
				if l.NoDeal && !strings.Contains(l.Description, "no deal amount") {
					t.Errorf("line %d does not say it fell back: %q", i, l.Description)
				}
			}
		})
	}
	if Compute(p, 3, Input{}) != nil || Compute(p, -1, Input{}) != nil {
		t.Error("out-of-range milestone must give nil")
	}
}

func TestDescription(t *testing.T) {
	p := load(t, doc)
	l := Compute(p, 1, Input{Deal: &money.Money{Minor: 1200000, Currency: "USD"}, Rank: 3})
	want := "cash reward for the won milestone: 1500.00 USD (10% of 12000.00 USD), tier x1.25"
	if l[0].Description != want {
		t.Errorf("description %q, want %q", l[0].Description, want)
	}
}

func TestTierFor(t *testing.T) {
	p := load(t, doc)
	for rank, want := range map[int]int{-1: -1, 0: -1, 1: 0, 2: 0, 3: 1, 4: 1, 5: 2, 1000: 2} {
		if got, _ := TierFor(p, rank); got != want {
			t.Errorf("TierFor(%d) = %d, want %d", rank, got, want)
		}
	}
	p.Tiers = nil
	if i, m := TierFor(p, 3); i != -1 || m != 10000 {
		t.Errorf("no tiers: %d %d", i, m)
	}
}

// reference computes a percent reward with exact rationals.
func reference(deal, pct, mult, floor, ceil int64) int64 {
	r := new(big.Rat).SetFrac(
		new(big.Int).Mul(new(big.Int).Mul(big.NewInt(max(deal, 0)), big.NewInt(pct)), big.NewInt(mult)),
		big.NewInt(100000000))
	r.Add(r, big.NewRat(1, 2))
	v := new(big.Int).Quo(r.Num(), r.Denom()) // floor(x + 1/2) for x >= 0
	out := int64(math.MaxInt64)
	if v.IsInt64() {
		out = v.Int64()
	}
	if floor > 0 && out < floor {
		out = floor
	}
	if ceil > 0 && out > ceil {
		out = ceil
	}
	return out
}

func randomProgram(rng *rand.Rand) *program.Program {
	floor := rng.Int64N(100000)
	ceil := int64(0)
	if rng.IntN(3) > 0 {
		ceil = floor + rng.Int64N(10000000)
	}
	if rng.IntN(4) == 0 {
		floor = 0
	}
	p := &program.Program{
		Schema: 1, ID: "prop",
		Milestones: []program.Milestone{{
			Name: "won", DeadlineSeconds: 1,
			Rewards: []program.Reward{
				{Party: program.PartyReferrer, Kind: program.KindCash, PercentBasisPoints: 1 + rng.Int64N(10000), FloorMinor: floor, CeilingMinor: ceil},
				{Party: program.PartyReferee, Kind: program.KindCredit, AmountMinor: 1 + rng.Int64N(1000000)},
			},
		}},
	}
	from, mult := 0, int64(1+rng.Int64N(20000))
	if rng.IntN(2) == 0 {
		mult = 10000 + rng.Int64N(10000) // the first tier may start after rank 1 only at 1x or more
	}
	for n := rng.IntN(5); n > 0; n-- {
		from += 1 + rng.IntN(5)
		if len(p.Tiers) == 0 && mult < 10000 {
			from = 1
		}
		mult += rng.Int64N(10000)
		p.Tiers = append(p.Tiers, program.Tier{From: from, MultiplierBP: mult})
	}
	p.SetDefaults()
	return p
}

func TestProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		p := randomProgram(rng)
		if err := p.Validate(); err != nil {
			t.Fatalf("generated an invalid program: %v", err)
		}
		r := p.Milestones[0].Rewards[0]
		deal := rng.Int64N(1 << uint(rng.IntN(62)+1))
		prevPct := int64(-1)
		var total, check int64
		for rank := 1; rank <= 30; rank++ { // rank 0 is "unknown": 1x, outside the order
			lines := Compute(p, 0, Input{Deal: &money.Money{Minor: deal, Currency: "USD"}, Rank: rank})
			pct, fixed := lines[0].AmountMinor, lines[1].AmountMinor
			// monotonic in rank, for the referrer; the referee has no tier
			if pct < prevPct || fixed != p.Milestones[0].Rewards[1].AmountMinor {
				t.Fatalf("rank %d: amounts %d (prev %d), %d for %+v", rank, pct, prevPct, fixed, p)
			}
			prevPct = pct
			// floor <= amount <= ceiling; never above the ceiling
			if (r.FloorMinor > 0 && pct < r.FloorMinor) || (r.CeilingMinor > 0 && pct > r.CeilingMinor) {
				t.Fatalf("amount %d outside [%d, %d]", pct, r.FloorMinor, r.CeilingMinor)
			}
			// exact: equals the rational reference
			if want := reference(deal, r.PercentBasisPoints, lines[0].MultiplierBP, r.FloorMinor, r.CeilingMinor); pct != want {
				t.Fatalf("deal %d pct %d mult %d: got %d, want %d", deal, r.PercentBasisPoints, lines[0].MultiplierBP, pct, want)
			}
			total += pct + fixed
			check += lines[0].AmountMinor + lines[1].AmountMinor
		}
		if total != check {
			t.Fatal("sums differ")
		}
		// a percent reward never pays more than its share of the deal x multiplier, unless raised to the floor
		l := Compute(p, 0, Input{Deal: &money.Money{Minor: deal, Currency: "USD"}, Rank: 1})[0]
		if l.Bound != "floor" && l.AmountMinor > reference(deal, r.PercentBasisPoints, l.MultiplierBP, 0, 0) {
			t.Fatalf("paid %d, more than the share", l.AmountMinor)
		}
	}
}

func TestMulDiv(t *testing.T) {
	for _, c := range []struct {
		a, f, d, want int64
	}{
		{5, 1, 10, 1},    // 0.5 -> 1
		{4, 1, 10, 0},    // 0.4 -> 0
		{15, 1, 10, 2},   // 1.5 -> 2
		{-15, 1, 10, -2}, // halves away from zero
		{math.MaxInt64, 2, 1, math.MaxInt64},
		{math.MinInt64, 2, 1, math.MinInt64},
		{12345, 15000, 10000, 18518}, // 18517.5 -> 18518
	} {
		if got := mulDiv(c.a, []int64{c.f}, c.d); got != c.want {
			t.Errorf("mulDiv(%d, %d, %d) = %d, want %d", c.a, c.f, c.d, got, c.want)
		}
	}
}
