// Package rewardstest is an in-memory rewards.Repository for tests of the
// rewards lifecycle (rewards.Service) and of the functions that run it. It
// keeps the guarantees of the DynamoDB store (internal/store), so that a
// test passing over it says something true about production:
//
//   - every status move is conditional on the reward's current status, like
//     the store's condition expressions: SetRewardStatus moves a reward only
//     from one of the statuses given, PayReward only a payable reward; a
//     repeated or stale call changes nothing and reports false;
//   - a milestone's rewards are created all or nothing, once: when one of
//     them exists already nothing is written or reserved, and the stored
//     rewards are returned;
//   - reservations are counted against limits with rewards.Plan, replaying
//     the store's loop (a conditional ADD that does not fit leaves the last
//     reward on that counter out): a spending counter never exceeds its
//     limit, a reward reserves on all of its counters or none, and a reward
//     left out is pending with NeedsApproval and the limit's reason; moving
//     a reward to voided or failed gives its reservations back;
//   - every change writes its event in the same step, and only when the
//     change happens; an event without a referral id or a type is refused
//     (nothing is written), as the store refuses it; events are kept in the
//     order they were written (the store lists them by time to the
//     millisecond, so events of the same millisecond may come back from it
//     in another order);
//   - a reward is paid exactly once (one payable ledger entry, only while it
//     is payable) and a paid reward is reversed at most once (one reversal
//     entry; the paid reward keeps its status and amount, and records the
//     entry's time in ReversedAt);
//   - a payment under rewards.DealOpen checks the referral's deal in the
//     same step: once Lose recorded the deal lost (as the store's
//     RecordDeal does, first loss wins) nothing is paid and a
//     *rewards.LostError says when and why;
//   - budgets balance: a payment of a reward that did not fit a limit and
//     carries Reserved (an override) adds them to the counters and keeps
//     them on the paid reward; a reversal gives r.Reserved back, as the
//     store does from the reward it is given (Unbalanced checks it all);
//   - RankReferral ranks a referral once: a repeat returns the same rank and
//     counts nothing.
//
// Rewards and events are copied in and out, so a test never shares memory
// with the stored state. A Repo is safe for concurrent use. It depends on
// nothing of the store or the infrastructure.
package rewardstest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/rewards"
)

// Repo is the in-memory repository. The zero value is not usable: use New.
type Repo struct {
	mu      sync.Mutex
	err     error
	rewards map[string]rewards.Reward // by rewardKey
	entries map[string]rewards.Entry  // by entryKey
	order   []string                  // entry keys, in write order
	events  []events.Event
	spent   map[string]int64 // by spendKey
	ranks   map[string]int   // referral id -> rank
	counts  map[string]int   // program#code#period -> referrals ranked
	limits  []rewards.Limit
	created int
	lost    map[string]rewards.LostError // referral id -> its deal's loss
	due     map[string]rewards.Due       // reward id -> its filing for the payouts runner
	// failed: reward id -> its filing for a person (failed at its rail, or
	// its reversal refused there: Action ActionReverse)
	failed map[string]rewards.Due
}

// The Repo is a rewards.Repository.
var _ rewards.Repository = (*Repo)(nil)

// New returns an empty repository.
func New() *Repo {
	return &Repo{rewards: map[string]rewards.Reward{}, entries: map[string]rewards.Entry{},
		spent: map[string]int64{}, ranks: map[string]int{}, counts: map[string]int{}, lost: map[string]rewards.LostError{},
		due: map[string]rewards.Due{}, failed: map[string]rewards.Due{}}
}

// rewardKey orders rewards the way the store's sort key does
// (REWARD#<milestone>#<party>).
func rewardKey(referralID, milestone, party string) string {
	return referralID + "\x00" + milestone + "#" + party
}

func keyOf(r rewards.Reward) string { return rewardKey(r.ReferralID, r.Milestone, r.Party) }

func entryKey(rewardID string, t rewards.EntryType) string { return rewardID + "#" + string(t) }

func spendKey(programID, counter string) string { return programID + "#" + counter }

func cloneReward(r rewards.Reward) rewards.Reward {
	r.Reserved = slices.Clone(r.Reserved)
	if r.PaidAt != nil {
		at := *r.PaidAt
		r.PaidAt = &at
	}
	if r.ReversedAt != nil {
		at := *r.ReversedAt
		r.ReversedAt = &at
	}
	return r
}

func cloneEvent(ev events.Event) events.Event {
	ev.Data = maps.Clone(ev.Data)
	return ev
}

// Fail makes every later call of the Repository, Record and Events fail
// with err (an outage); nil ends the outage.
func (m *Repo) Fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

func (m *Repo) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return m.err
}

// validEvent refuses what the store cannot write.
func validEvent(ev events.Event) error {
	if ev.ReferralID == "" || ev.Type == "" {
		return fmt.Errorf("rewardstest: event %q without a referral id or type", ev.Type)
	}
	return nil
}

// list returns the stored rewards of referralID whose key continues with
// prefix, in the store's order.
func (m *Repo) list(referralID, prefix string) []rewards.Reward {
	start := referralID + "\x00" + prefix
	var keys []string
	for k := range m.rewards {
		if len(k) >= len(start) && k[:len(start)] == start {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []rewards.Reward
	for _, k := range keys {
		out = append(out, cloneReward(m.rewards[k]))
	}
	return out
}

// Rewards implements rewards.Repository: every reward of a referral,
// ordered by milestone and party.
func (m *Repo) Rewards(ctx context.Context, referralID string) ([]rewards.Reward, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	return m.list(referralID, ""), nil
}

// MilestoneRewards implements rewards.Repository, ordered by party.
func (m *Repo) MilestoneRewards(ctx context.Context, referralID, milestone string) ([]rewards.Reward, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	return m.list(referralID, milestone+"#"), nil
}

// CreateRewards implements rewards.Repository (see the package comment).
func (m *Repo) CreateRewards(ctx context.Context, referralID, milestone string, rws []rewards.Reward, limits []rewards.Limit, created func(rewards.Reward) events.Event) ([]rewards.Reward, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	m.limits = append(m.limits, limits...)
	for _, r := range rws {
		if _, ok := m.rewards[keyOf(r)]; ok {
			return m.list(referralID, milestone+"#"), nil // created by an earlier attempt: reserve nothing
		}
	}
	if len(rws) == 0 {
		return m.list(referralID, milestone+"#"), nil
	}
	final, counters, err := m.fit(rewards.NewPlan(rws, limits), rws[0].ProgramID)
	if err != nil {
		return nil, err
	}
	var evs []events.Event
	for _, r := range final {
		if created == nil {
			break
		}
		ev := created(cloneReward(r))
		if err := validEvent(ev); err != nil {
			return nil, err
		}
		evs = append(evs, cloneEvent(ev))
	}
	for _, r := range final {
		m.rewards[keyOf(r)] = cloneReward(r)
		m.created++
	}
	for _, c := range counters {
		m.spent[spendKey(final[0].ProgramID, c.Counter)] += c.Amount
	}
	m.events = append(m.events, evs...)
	return m.list(referralID, milestone+"#"), nil
}

// fit replays the store's loop: while a counter increase would take the
// counter above its limit, leave the last reward using it out.
func (m *Repo) fit(plan *rewards.Plan, programID string) ([]rewards.Reward, []rewards.CounterAdd, error) {
	for {
		final, counters := plan.Apply()
		full, dropped := false, false
		for _, c := range counters {
			if m.spent[spendKey(programID, c.Counter)] > c.Limit-c.Amount {
				full = true
				dropped = plan.DropLast(c.Counter) || dropped
			}
		}
		switch {
		case !full:
			return final, counters, nil
		case !dropped:
			return nil, nil, fmt.Errorf("rewardstest: a counter is full and no reward can be left out")
		}
	}
}

// RankReferral implements rewards.Repository: the first call for a
// referral counts it in its referrer's period; later calls return the same
// rank.
func (m *Repo) RankReferral(ctx context.Context, referralID, programID, code, period string, _ time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return 0, err
	}
	if r, ok := m.ranks[referralID]; ok {
		return r, nil
	}
	k := programID + "#" + code + "#" + period
	m.counts[k]++
	m.ranks[referralID] = m.counts[k]
	return m.counts[k], nil
}

// SetRewardStatus implements rewards.Repository: the move happens only
// from one of from; moving to voided or failed releases r.Reserved (as the
// store does, from the reward it is given).
func (m *Repo) SetRewardStatus(ctx context.Context, r rewards.Reward, from []rewards.Status, to rewards.Status, reason string, ev events.Event, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return false, err
	}
	if err := validEvent(ev); err != nil {
		return false, err
	}
	cur, ok := m.rewards[keyOf(r)]
	if !ok || !slices.Contains(from, cur.Status) {
		return false, nil
	}
	cur.Status, cur.StatusReason, cur.UpdatedAt = to, reason, now.UTC()
	m.rewards[keyOf(r)] = cur
	if to == rewards.StatusVoided || to == rewards.StatusFailed {
		m.add(r.ProgramID, r.Reserved, -1)
		delete(m.due, cur.ID)
		delete(m.failed, cur.ID)
	}
	m.events = append(m.events, cloneEvent(ev))
	return true, nil
}

// PayReward implements rewards.Repository: only a payable reward without a
// ledger entry of e's type is paid, and under rewards.DealOpen only while
// its referral's deal is not lost (Lose).
func (m *Repo) PayReward(ctx context.Context, r rewards.Reward, e rewards.Entry, ev events.Event, now time.Time, check rewards.DealCheck) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return false, err
	}
	if err := validEvent(ev); err != nil {
		return false, err
	}
	cur, ok := m.rewards[keyOf(r)]
	if _, dup := m.entries[entryKey(e.RewardID, e.Type)]; !ok || dup || !(cur.Status.Payable() || cur.Status == rewards.StatusSending || cur.Status == rewards.StatusFailed) {
		return false, nil
	}
	if lost, ok := m.lost[r.ReferralID]; ok && check == rewards.DealOpen {
		return false, &lost
	}
	at := now.UTC()
	cur.Status, cur.PaidAt, cur.UpdatedAt = rewards.StatusPaid, &at, at
	cur.Rail, cur.Reference = e.Method, e.Reference
	delete(m.due, cur.ID)
	delete(m.failed, cur.ID)
	if r.Limited != "" && len(r.Reserved) > 0 {
		cur.Reserved = slices.Clone(r.Reserved)
		m.add(r.ProgramID, r.Reserved, 1)
	}
	m.rewards[keyOf(r)] = cur
	m.writeEntry(e, ev)
	return true, nil
}

// ReverseReward implements rewards.Repository: only a paid reward, and at
// most once per entry; r.Reserved goes back to its counters.
func (m *Repo) ReverseReward(ctx context.Context, r rewards.Reward, e rewards.Entry, ev events.Event) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return false, err
	}
	if err := validEvent(ev); err != nil {
		return false, err
	}
	cur, ok := m.rewards[keyOf(r)]
	if _, dup := m.entries[entryKey(e.RewardID, e.Type)]; !ok || dup || cur.Status != rewards.StatusPaid {
		return false, nil
	}
	at := e.CreatedAt.UTC()
	cur.ReversedAt = &at
	m.rewards[keyOf(r)] = cur
	if rewards.MovesMoney(r.Rail) {
		m.fileFor(cur, rewards.ActionReverse, at)
	}
	m.add(r.ProgramID, r.Reserved, -1)
	m.writeEntry(e, ev)
	return true, nil
}

// add adds (sign 1) or subtracts (-1) reservations from their counters.
func (m *Repo) add(programID string, rs []rewards.Reservation, sign int64) {
	for _, rv := range rs {
		m.spent[spendKey(programID, rv.Counter)] += sign * rv.AmountMinor
	}
}

// Lose records that the deal of a referral was lost, deleted or refunded
// at a time (the first loss wins, as on the store's referral item): from
// then on a payment under rewards.DealOpen fails with ErrDealLost.
func (m *Repo) Lose(referralID string, at time.Time, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.lost[referralID]; !ok {
		m.lost[referralID] = rewards.LostError{At: at.UTC(), Reason: reason}
	}
}

func (m *Repo) writeEntry(e rewards.Entry, ev events.Event) {
	k := entryKey(e.RewardID, e.Type)
	m.entries[k] = e
	m.order = append(m.order, k)
	m.events = append(m.events, cloneEvent(ev))
}

// Record appends events that accompany no reward change (as the store's
// Record does); functions' fakes record their referral events here so one
// log keeps every event in order.
func (m *Repo) Record(ctx context.Context, evs ...events.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return err
	}
	for _, ev := range evs {
		if err := validEvent(ev); err != nil {
			return err
		}
		m.events = append(m.events, cloneEvent(ev))
	}
	return nil
}

// Events returns a referral's events in the order they were written (the
// store's Events).
func (m *Repo) Events(ctx context.Context, referralID string) ([]events.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	var out []events.Event
	for _, ev := range m.events {
		if ev.ReferralID == referralID {
			out = append(out, cloneEvent(ev))
		}
	}
	return out, nil
}
