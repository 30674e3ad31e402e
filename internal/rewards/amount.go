// This file computes what a milestone pays: fixed amounts or a percent
// of the deal bounded by a floor and a ceiling, tier multipliers for the
// referrer, and which rewards need a person's approval. It also names the
// periods tiers and caps count in. Everything is integer arithmetic in minor
// units, rounded half up; nothing here reads a clock or a store.

package rewards

import (
	"fmt"
	"math"
	"math/big"

	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
)

// Input is what a milestone's rewards depend on besides the program.
type Input struct {
	// Deal is the deal amount the CRM reported, nil when unknown. Percent
	// rewards need it.
	Deal *money.Money
	// Rank is the referrer's count of successful referrals in the tier
	// period, this one included (1 for the first). Values below 1 mean
	// unknown: no tier applies.
	Rank int
	// Variant is the referral's experiment variant ("" = none): its tiers
	// replace the program's (program.Program.TiersFor).
	Variant string
}

// Line is one reward to record. Its id in the ledger derives from the
// referral, the milestone and Party (a program pays each party at most once
// per milestone).
type Line struct {
	Milestone   string `json:"milestone"`
	Party       string `json:"party"`
	Kind        string `json:"kind"`
	Currency    string `json:"currency"`
	AmountMinor int64  `json:"amount_minor"` // what to pay; 0 pays nothing
	Description string `json:"description"`
	// NeedsApproval: the amount is at or above the program's approval
	// threshold (or in another currency than the program's, where the
	// threshold cannot be compared), so a person approves it first.
	NeedsApproval bool `json:"needs_approval"`
	// MultiplierBP is the tier multiplier applied (10000 = none); only
	// referrer rewards have one. Tier is the index of that tier, -1 if none.
	MultiplierBP int64 `json:"multiplier_bp"`
	Tier         int   `json:"tier"`
	// PercentBP and DealMinor are set for a percent-of-deal reward.
	PercentBP int64 `json:"percent_bp,omitempty"`
	DealMinor int64 `json:"deal_minor,omitempty"`
	// NoDeal: a percent reward had no usable deal amount (none reported, or
	// in another currency) and fell back to the floor (0 when no floor).
	NoDeal bool `json:"no_deal,omitempty"`
	// Bound is "floor" or "ceiling" when the amount was raised or lowered to
	// that bound, else "".
	Bound string `json:"bound,omitempty"`
}

// Compute returns the rewards milestone milestoneIndex pays, one line per
// reward in program order. It returns nil for an index out of range.
//
// Guarantees: a fixed reward pays its amount times the tier multiplier
// (referrer only); a percent reward pays percent x deal x multiplier,
// rounded half up once, then raised to the floor and lowered to the ceiling,
// so floor <= amount <= ceiling whenever they are set; amounts never
// overflow (they saturate at math.MaxInt64) and negative deal amounts count
// as 0.
func Compute(p *program.Program, milestoneIndex int, in Input) []Line {
	if milestoneIndex < 0 || milestoneIndex >= len(p.Milestones) {
		return nil
	}
	m := p.Milestones[milestoneIndex]
	tier, mult := tierIn(p.TiersFor(in.Variant), in.Rank)
	lines := make([]Line, 0, len(m.Rewards))
	for _, r := range m.Rewards {
		l := Line{
			Milestone:    m.Name,
			Party:        r.Party,
			Kind:         r.Kind,
			Currency:     r.Currency,
			Description:  r.Description,
			MultiplierBP: 10000,
			Tier:         -1,
		}
		if l.Currency == "" {
			l.Currency = p.Currency
		}
		if r.Party == program.PartyReferrer && tier >= 0 {
			l.MultiplierBP, l.Tier = mult, tier
		}
		if r.PercentBasisPoints == 0 {
			l.AmountMinor = scale(r.AmountMinor, l.MultiplierBP)
		} else {
			l.PercentBP = r.PercentBasisPoints
			deal, ok := dealIn(in.Deal, l.Currency)
			if ok {
				l.DealMinor = deal
				l.AmountMinor = percentOf(deal, r.PercentBasisPoints, l.MultiplierBP)
			} else {
				l.NoDeal = true
				l.AmountMinor = scale(r.FloorMinor, l.MultiplierBP)
			}
			if r.FloorMinor > 0 && l.AmountMinor < r.FloorMinor {
				l.AmountMinor, l.Bound = r.FloorMinor, "floor"
			}
			if r.CeilingMinor > 0 && l.AmountMinor > r.CeilingMinor {
				l.AmountMinor, l.Bound = r.CeilingMinor, "ceiling"
			}
		}
		if l.Description == "" {
			l.Description = describe(m.Name, l)
		}
		if l.NoDeal {
			l.Description += " (no deal amount: paid the floor)"
		}
		l.NeedsApproval = p.Approval.AutoBelowMinor > 0 &&
			(l.AmountMinor >= p.Approval.AutoBelowMinor || l.Currency != p.Currency)
		lines = append(lines, l)
	}
	return lines
}

// TierFor returns the index and multiplier (basis points) of the tier that
// applies to a referrer of this rank: the tier with the highest From not
// above rank. It returns -1 and 10000 (1x) when none applies.
func TierFor(p *program.Program, rank int) (int, int64) { return tierIn(p.Tiers, rank) }

// tierIn is TierFor among tiers (a program's, or a variant's).
func tierIn(tiers []program.Tier, rank int) (int, int64) {
	idx, mult := -1, int64(10000)
	if rank < 1 {
		return idx, mult
	}
	for i, t := range tiers {
		if t.From <= rank && (idx < 0 || t.From >= tiers[idx].From) {
			idx, mult = i, t.MultiplierBP
		}
	}
	return idx, mult
}

func dealIn(deal *money.Money, currency string) (int64, bool) {
	if deal == nil || (deal.Currency != "" && deal.Currency != currency) {
		return 0, false
	}
	return max(deal.Minor, 0), true
}

func describe(milestone string, l Line) string {
	kind := map[string]string{
		program.KindCash:     "cash reward",
		program.KindCredit:   "account credit",
		program.KindDiscount: "discount",
		program.KindGiftCard: "gift card",
	}[l.Kind]
	if kind == "" {
		kind = l.Kind
	}
	s := fmt.Sprintf("%s for the %s milestone: %s", kind, milestone, money.Format(l.AmountMinor, l.Currency))
	if l.PercentBP > 0 && !l.NoDeal {
		s += fmt.Sprintf(" (%s of %s)", formatBP(l.PercentBP, "%", 2), money.Format(l.DealMinor, l.Currency))
	}
	if l.MultiplierBP != 10000 {
		s += fmt.Sprintf(", tier x%s", formatBP(l.MultiplierBP, "", 4))
	}
	return s
}

// formatBP renders v/10^digits without trailing zeros: 250 with 2 digits is
// "2.5", 15000 with 4 is "1.5".
func formatBP(v int64, suffix string, digits int) string {
	s := new(big.Rat).SetFrac64(v, int64(math.Pow10(digits))).FloatString(digits)
	for len(s) > 1 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s + suffix
}

// scale returns amount x bp / 10000, rounded half up, saturating.
func scale(amount, bp int64) int64 {
	return mulDiv(amount, []int64{bp}, 10000)
}

// percentOf returns deal x percentBP x multiplierBP / 10^8, rounded half up
// once, saturating.
func percentOf(deal, percentBP, multiplierBP int64) int64 {
	return mulDiv(deal, []int64{percentBP, multiplierBP}, 100000000)
}

// mulDiv computes a x f1 x f2 ... / d exactly, rounded half up (away from
// zero for halves), saturating at the int64 range.
func mulDiv(a int64, factors []int64, d int64) int64 {
	n := big.NewInt(a)
	for _, f := range factors {
		n.Mul(n, big.NewInt(f))
	}
	den := big.NewInt(d)
	neg := n.Sign() < 0
	n.Abs(n)
	n.Mul(n, big.NewInt(2))
	n.Add(n, den)
	n.Quo(n, new(big.Int).Mul(den, big.NewInt(2)))
	if neg {
		n.Neg(n)
	}
	switch {
	case !n.IsInt64() && n.Sign() > 0:
		return math.MaxInt64
	case !n.IsInt64():
		return math.MinInt64
	}
	return n.Int64()
}
