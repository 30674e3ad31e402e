package program

import (
	"fmt"
	"sort"

	"github.com/referflow/referflow/internal/money"
)

// validateMilestoneRewards checks each reward of milestone m (at path mp)
// and that no known party has two rewards for it.
func (p *Program) validateMilestoneRewards(m Milestone, mp string, ps *problems) {
	partySeen := map[string]int{}
	for j, r := range m.Rewards {
		rp := fmt.Sprintf("%s.rewards[%d]", mp, j)
		p.validateReward(r, rp, ps)
		if k, dup := partySeen[r.Party]; dup && oneOf(r.Party, parties) {
			ps.add(rp+".party", "the %s already has %s.rewards[%d] for this milestone (one reward per party per milestone)", r.Party, mp, k)
		} else {
			partySeen[r.Party] = j
		}
	}
}

// validateReward checks one reward (at path rp): party, kind, currency, and
// either a positive fixed amount without floor or ceiling, or a percent
// with non-negative, ordered bounds.
func (p *Program) validateReward(r Reward, rp string, ps *problems) {
	if !oneOf(r.Party, parties) {
		ps.add(rp+".party", "unknown party %q (want %s)", r.Party, want(parties))
	}
	if !oneOf(r.Kind, kinds) {
		ps.add(rp+".kind", "unknown kind %q (want %s)", r.Kind, want(kinds))
	}
	if _, ok := money.Exponent(r.Currency); !ok {
		ps.add(rp+".currency", "unknown ISO 4217 currency code %q", r.Currency)
	}
	switch {
	case r.AmountMinor != 0 && r.PercentBasisPoints != 0:
		ps.add(rp, "give either amount or percent, not both")
	case r.PercentBasisPoints == 0:
		if r.AmountMinor <= 0 {
			ps.add(rp+".amount", "must be greater than 0")
		}
		if r.FloorMinor != 0 {
			ps.add(rp+".floor", "applies only to a percent reward")
		}
		if r.CeilingMinor != 0 {
			ps.add(rp+".ceiling", "applies only to a percent reward")
		}
	default:
		if r.PercentBasisPoints < 0 || r.PercentBasisPoints > 10000 {
			ps.add(rp+".percent", "must be greater than 0%% and at most 100%%")
		}
		if r.FloorMinor < 0 {
			ps.add(rp+".floor", "must not be negative")
		}
		if r.CeilingMinor < 0 {
			ps.add(rp+".ceiling", "must not be negative")
		}
		if r.FloorMinor > 0 && r.CeilingMinor > 0 && r.FloorMinor > r.CeilingMinor {
			ps.add(rp+".floor", "%s is above the ceiling %s", money.Format(r.FloorMinor, r.Currency), money.Format(r.CeilingMinor, r.Currency))
		}
	}
}

// validateTiers checks the program's tiers (validateTierList).
func (p *Program) validateTiers(names map[string]int, ps *problems) {
	validateTierList(p.Tiers, "tiers", names, ps)
}

// validateTierList checks each tier of tiers (at path; its
// counts_milestone must be a key of names) and that the tiers are ordered
// by from, never lower their multiplier, and share one period and one
// counted milestone.
func validateTierList(tiers []Tier, path string, names map[string]int, ps *problems) {
	for i, t := range tiers {
		tp := fmt.Sprintf("%s[%d]", path, i)
		if t.From < 1 {
			ps.add(tp+".from", "must be at least 1")
		}
		if t.MultiplierBP <= 0 {
			ps.add(tp+".multiplier", "must be greater than 0")
		}
		if !oneOf(t.Period, periods) {
			ps.add(tp+".period", "unknown period %q (want %s)", t.Period, want(periods))
		}
		if _, ok := names[t.CountsMilestone]; !ok {
			ps.add(tp+".counts_milestone", "no milestone is named %q", t.CountsMilestone)
		}
		if i == 0 {
			if t.From > 1 && t.MultiplierBP > 0 && t.MultiplierBP < 10000 {
				ps.add(tp+".multiplier", "must be at least 1 when the first tier starts after rank 1 (ranks before it earn 1x)")
			}
			continue
		}
		prev := tiers[i-1]
		if t.From <= prev.From {
			ps.add(tp+".from", "tiers must be ordered by from: %d is not above %d", t.From, prev.From)
		}
		if t.MultiplierBP < prev.MultiplierBP && t.MultiplierBP > 0 {
			ps.add(tp+".multiplier", "must not be below the previous tier's (more referrals never earn less)")
		}
		if t.Period != tiers[0].Period {
			ps.add(tp+".period", "all tiers must count in the same period (%s[0] uses %q)", path, tiers[0].Period)
		}
		if t.CountsMilestone != tiers[0].CountsMilestone {
			ps.add(tp+".counts_milestone", "all tiers must count the same milestone (%s[0] counts %q)", path, tiers[0].CountsMilestone)
		}
	}
}

// validateCaps checks the caps' period, amounts and exhaustion policy; when
// any cap is set, every reward must be in the program currency.
func (p *Program) validateCaps(ps *problems) {
	c := p.Caps
	if !oneOf(c.Period, periods) {
		ps.add("caps.period", "unknown period %q (want %s)", c.Period, want(periods))
	}
	if c.PerReferrerMinor < 0 {
		ps.add("caps.per_referrer", "must not be negative")
	}
	if c.BudgetMinor < 0 {
		ps.add("caps.budget", "must not be negative")
	}
	if !oneOf(c.OnExhausted, exhausted) {
		ps.add("caps.on_exhausted", "unknown value %q (want %s)", c.OnExhausted, want(exhausted))
	}
	if c.PerReferrerMinor > 0 || c.BudgetMinor > 0 {
		for i, m := range p.Milestones {
			for j, r := range m.Rewards {
				if r.Currency != p.Currency && r.Currency != "" {
					ps.add(fmt.Sprintf("milestones[%d].rewards[%d].currency", i, j),
						"must be the program currency %s when caps are set (caps are counted in it)", p.Currency)
				}
			}
		}
	}
}

// validatePayout checks how rewards are approved and paid: the automatic
// approval threshold, what a lost deal does to earned rewards
// (rewards_on_loss) and the payout method.
func (p *Program) validatePayout(ps *problems) {
	if p.Approval.AutoBelowMinor < 0 {
		ps.add("approval.auto_below", "must not be negative")
	}
	if !oneOf(p.RewardsOnLoss, onLoss) {
		ps.add("rewards_on_loss", "unknown value %q (want %s)", p.RewardsOnLoss, want(onLoss))
	}
	if !oneOf(p.Payout.Method, payouts) {
		ps.add("payout.method", "unknown payout method %q (want %s)", p.Payout.Method, want(payouts))
	} else {
		p.validateRails(ps)
	}
	p.validateSchedule(ps)
}

// railKinds lists the reward kinds each rail can pay: Stripe pays cash
// (a Connect transfer), credit (customer balance) and discounts (a coupon);
// PayPal pays cash; Tremendous pays gift cards (and cash as a gift card);
// the ledger and manual rails record anything for finance.
var railKinds = map[string][]string{
	PayoutLedger:     {KindCash, KindCredit, KindDiscount, KindGiftCard},
	PayoutManual:     {KindCash, KindCredit, KindDiscount, KindGiftCard},
	PayoutStripe:     {KindCash, KindCredit, KindDiscount},
	PayoutPayPal:     {KindCash},
	PayoutTremendous: {KindCash, KindGiftCard},
}

// validateRails checks payout.rails and that every reward the program
// pays has a rail that can pay its kind.
func (p *Program) validateRails(ps *problems) {
	for _, kind := range sortedKeys(p.Payout.Rails) {
		rail := p.Payout.Rails[kind]
		switch {
		case !oneOf(kind, kinds):
			ps.add("payout.rails."+kind, "unknown reward kind %q (want %s)", kind, want(kinds))
		case !oneOf(rail, payouts):
			ps.add("payout.rails."+kind, "unknown rail %q (want %s)", rail, want(payouts))
		}
	}
	for i, m := range p.Milestones {
		for j, r := range m.Rewards {
			rail := p.RailFor(r.Kind)
			if oneOf(r.Kind, kinds) && oneOf(rail, payouts) && !oneOf(r.Kind, railKinds[rail]) {
				ps.add(fmt.Sprintf("milestones[%d].rewards[%d].kind", i, j), "the %s rail cannot pay a %s reward (set payout.rails.%s to one of %s)",
					rail, r.Kind, r.Kind, want(railsFor(r.Kind)))
			}
		}
	}
}

// railsFor lists the rails that can pay kind.
func railsFor(kind string) []string {
	var out []string
	for _, rail := range payouts {
		if oneOf(kind, railKinds[rail]) {
			out = append(out, rail)
		}
	}
	return out
}

// validateSchedule checks payout.schedule and payout.minimum_minor.
func (p *Program) validateSchedule(ps *problems) {
	if !oneOf(p.Payout.Schedule, schedules) {
		ps.add("payout.schedule", "unknown schedule %q (want %s)", p.Payout.Schedule, want(schedules))
	}
	switch {
	case p.Payout.MinimumMinor < 0:
		ps.add("payout.minimum_minor", "must not be negative")
	case p.Payout.MinimumMinor > 0 && p.Payout.Schedule == ScheduleAtOnce:
		ps.add("payout.minimum_minor", "a minimum needs a weekly or monthly schedule")
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
