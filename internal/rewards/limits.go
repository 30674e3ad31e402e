package rewards

import (
	"time"

	"github.com/referflow/referflow/internal/program"
)

// Spending counters live in the program's partition (see internal/store).
// Each counter equals the sum of its live reservations and payments: a
// reward reserves its amount with a conditional ADD (it must fit under the
// limit) in the same transaction that creates it, and its payment keeps
// it; voiding or declining an unpaid reward, or reversing a paid one,
// subtracts it in the same transaction as that change. A reward that did
// not fit reserves nothing; paying it anyway (an override) adds it, without
// the limit, in the transaction that pays it.

// BudgetCounter names the program-budget counter of period ("2026-11").
func BudgetCounter(period string) string { return "SPEND#BUDGET#" + period }

// ReferrerCapCounter names the per-referrer cap counter of period.
func ReferrerCapCounter(code, period string) string {
	return "SPEND#REFERRER#" + code + "#" + period
}

// Limit asks the Repository, when it creates rewards, to count a reward's amount against
// one spending counter of the reward's program, which may hold at most
// LimitMinor.
type Limit struct {
	RewardID    string // the reward (one of the rewards passed along)
	Counter     string // BudgetCounter or ReferrerCapCounter
	LimitMinor  int64  // the counter's limit for the period (> 0)
	AmountMinor int64  // what the reward reserves
	// Reason becomes the reward's status_reason when this reservation does
	// not fit ("budget exhausted", "cap reached", "waits for the next period").
	Reason string
}

// Status reasons of a reward that did not fit a spending limit.
const (
	ReasonBudget     = "budget exhausted"
	ReasonCap        = "cap reached"
	ReasonNextPeriod = "waits for the next period"
)

// limits returns what reward rw reserves: its amount against the program
// budget of the caps period (every party) and, for the referrer, against
// the referrer's cap. A reward that does not fit is recorded as pending
// for a person (program caps.on_exhausted review: reason "budget exhausted"
// or "cap reached"; next_period: reason "waits for the next period").
func limits(p *program.Program, rw Reward, now time.Time) []Limit {
	period := PeriodKey(p.Caps.Period, now)
	if period == "" || rw.AmountMinor <= 0 {
		return nil
	}
	reason := func(r string) string {
		if p.Caps.OnExhausted == program.OnExhaustedNextPeriod {
			return ReasonNextPeriod
		}
		return r
	}
	var out []Limit
	if p.Caps.BudgetMinor > 0 {
		out = append(out, Limit{RewardID: rw.ID, Counter: BudgetCounter(period),
			LimitMinor: p.Caps.BudgetMinor, AmountMinor: rw.AmountMinor, Reason: reason(ReasonBudget)})
	}
	if p.Caps.PerReferrerMinor > 0 && rw.Party == program.PartyReferrer {
		out = append(out, Limit{RewardID: rw.ID, Counter: ReferrerCapCounter(rw.ReferrerCode, period),
			LimitMinor: p.Caps.PerReferrerMinor, AmountMinor: rw.AmountMinor, Reason: reason(ReasonCap)})
	}
	return out
}

// overrides returns what reward rw, which did not fit a limit, counts on
// as a person pays it anyway (an override): its amount on the program
// budget and, for the referrer, on the referrer's cap, of the period it is
// paid in, without their limits (a counter may then hold more than its
// limit, and holds no room for later rewards). Its reversal gives them
// back. Nil when the program has no limits.
func overrides(p *program.Program, rw Reward, now time.Time) []Reservation {
	if p == nil {
		return nil
	}
	var out []Reservation
	for _, l := range limits(p, rw, now) {
		out = append(out, Reservation{Counter: l.Counter, AmountMinor: l.AmountMinor})
	}
	return out
}

// Plan decides which rewards reserve and which are left out.
type Plan struct {
	rewards []Reward
	byID    map[string][]Limit
	blocked map[string]string // reward id -> status reason
}

// CounterAdd is what one counter is increased by, and its limit.
type CounterAdd struct {
	Counter       string
	Amount, Limit int64
}

func NewPlan(rewards []Reward, reservations []Limit) *Plan {
	p := &Plan{rewards: rewards, byID: map[string][]Limit{}, blocked: map[string]string{}}
	for _, rv := range reservations {
		if rv.AmountMinor <= 0 || rv.LimitMinor <= 0 {
			continue
		}
		p.byID[rv.RewardID] = append(p.byID[rv.RewardID], rv)
		if rv.AmountMinor > rv.LimitMinor {
			p.block(rv.RewardID, rv.Reason)
		}
	}
	// Rewards sharing a counter may not fit together even on an empty counter.
	for {
		_, counters := p.Apply()
		over := false
		for _, c := range counters {
			if c.Amount > c.Limit {
				over = p.DropLast(c.Counter) || over
			}
		}
		if !over {
			return p
		}
	}
}

func (p *Plan) block(id, reason string) {
	if _, ok := p.blocked[id]; !ok {
		p.blocked[id] = reason
	}
}

// DropLast leaves out the last still-reserving reward that uses counter.
func (p *Plan) DropLast(counter string) bool {
	for i := len(p.rewards) - 1; i >= 0; i-- {
		id := p.rewards[i].ID
		if _, ok := p.blocked[id]; ok {
			continue
		}
		for _, rv := range p.byID[id] {
			if rv.Counter == counter {
				p.block(id, rv.Reason)
				return true
			}
		}
	}
	return false
}

// Apply returns the rewards as they are to be written and the summed
// counter increases, in first-use order.
func (p *Plan) Apply() ([]Reward, []CounterAdd) {
	out := make([]Reward, len(p.rewards))
	var counters []CounterAdd
	at := map[string]int{}
	for i, r := range p.rewards {
		r.Reserved = nil
		if reason, ok := p.blocked[r.ID]; ok {
			r.Status, r.StatusReason, r.NeedsApproval, r.Limited = StatusPending, reason, true, reason
			out[i] = r
			continue
		}
		for _, rv := range p.byID[r.ID] {
			r.Reserved = append(r.Reserved, Reservation{Counter: rv.Counter, AmountMinor: rv.AmountMinor})
			j, ok := at[rv.Counter]
			if !ok {
				j = len(counters)
				at[rv.Counter] = j
				counters = append(counters, CounterAdd{Counter: rv.Counter, Limit: rv.LimitMinor})
			}
			counters[j].Amount += rv.AmountMinor
		}
		out[i] = r
	}
	return out, counters
}
