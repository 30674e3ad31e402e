package rewardstest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/rewards"
)

// What a test reads and sets besides the Repository: stored rewards, events,
// entries, counters and ranks, and rewards put in as if created earlier.

// AllEvents returns every event written, in order.
func (m *Repo) AllEvents() []events.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]events.Event, 0, len(m.events))
	for _, ev := range m.events {
		out = append(out, cloneEvent(ev))
	}
	return out
}

// Put stores rewards as they are, as if created earlier: no event is
// written, and their reservations are added to the counters they name.
// An existing reward with the same referral, milestone and party is
// replaced (its reservations are not given back).
func (m *Repo) Put(rws ...rewards.Reward) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rws {
		m.rewards[keyOf(r)] = cloneReward(r)
		for _, rv := range r.Reserved {
			m.spent[spendKey(r.ProgramID, rv.Counter)] += rv.AmountMinor
		}
	}
}

// Get returns the stored reward of party at milestone of a referral.
func (m *Repo) Get(referralID, milestone, party string) (rewards.Reward, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rewards[rewardKey(referralID, milestone, party)]
	return cloneReward(r), ok
}

// All returns every stored reward, ordered by referral, milestone and
// party.
func (m *Repo) All() []rewards.Reward {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := slices.Sorted(maps.Keys(m.rewards))
	out := make([]rewards.Reward, 0, len(keys))
	for _, k := range keys {
		out = append(out, cloneReward(m.rewards[k]))
	}
	return out
}

// Created returns how many rewards CreateRewards has written.
func (m *Repo) Created() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.created
}

// Entries returns the ledger entries in the order they were written.
func (m *Repo) Entries() []rewards.Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]rewards.Entry, 0, len(m.order))
	for _, k := range m.order {
		out = append(out, m.entries[k])
	}
	return out
}

// Entry returns the ledger entry of type t of a reward.
func (m *Repo) Entry(rewardID string, t rewards.EntryType) (rewards.Entry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[entryKey(rewardID, t)]
	return e, ok
}

// Spent returns what the spending counter of a program holds.
func (m *Repo) Spent(programID, counter string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.spent[spendKey(programID, counter)]
}

// SetSpent sets what the spending counter of a program holds (money
// reserved by earlier rewards).
func (m *Repo) SetSpent(programID, counter string, minor int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.spent[spendKey(programID, counter)] = minor
}

// Rank returns the rank RankReferral gave a referral.
func (m *Repo) Rank(referralID string) (int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.ranks[referralID]
	return r, ok
}

// Count returns how many referrals RankReferral counted for a referrer of
// a program in a period.
func (m *Repo) Count(programID, code, period string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts[programID+"#"+code+"#"+period]
}

// Limits returns every limit CreateRewards was asked to reserve against,
// in order (including calls that found the rewards created already).
func (m *Repo) Limits() []rewards.Limit {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.limits)
}

// Unbalanced checks that the budgets of a program balance (each spending
// counter equals the sum of what its live rewards hold on it: the
// reservation of a payable reward, the payment of a paid one not
// reversed) and returns a line per counter that does not, sorted; none
// when every counter balances.
func (m *Repo) Unbalanced(programID string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	live := map[string]int64{}
	for _, r := range m.rewards {
		_, reversed := m.entries[entryKey(r.ID, rewards.EntryReversal)]
		if r.ProgramID != programID || reversed || !(r.Status.Payable() || r.Status == rewards.StatusPaid) {
			continue
		}
		for _, rv := range r.Reserved {
			live[rv.Counter] += rv.AmountMinor
		}
	}
	counters := map[string]bool{}
	for c := range live {
		counters[c] = true
	}
	prefix := spendKey(programID, "")
	for k := range m.spent {
		if strings.HasPrefix(k, prefix) {
			counters[strings.TrimPrefix(k, prefix)] = true
		}
	}
	var out []string
	for _, c := range slices.Sorted(maps.Keys(counters)) {
		if got := m.spent[spendKey(programID, c)]; got != live[c] {
			out = append(out, fmt.Sprintf("%s: counter %d, live rewards %d", c, got, live[c]))
		}
	}
	return out
}
