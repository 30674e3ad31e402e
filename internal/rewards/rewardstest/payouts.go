package rewardstest

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// ClaimReward implements rewards.Repository: a payable reward becomes
// sending with r's rail, generation and key, under check, filed for the
// payouts runner after rewards.SendingGrace.
func (m *Repo) ClaimReward(ctx context.Context, r rewards.Reward, now time.Time, check rewards.DealCheck) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return false, err
	}
	cur, ok := m.rewards[keyOf(r)]
	if !ok || !cur.Status.Payable() {
		return false, nil
	}
	if lost, ok := m.lost[r.ReferralID]; ok && check == rewards.DealOpen {
		return false, &lost
	}
	cur.Status, cur.StatusReason, cur.UpdatedAt = rewards.StatusSending, r.StatusReason, now.UTC()
	cur.Rail, cur.Generation, cur.IdempotencyKey = r.Rail, r.Generation, r.IdempotencyKey
	m.rewards[keyOf(r)] = cur
	m.file(cur, now.Add(rewards.SendingGrace))
	return true, nil
}

// FailReward implements rewards.Repository: sending to failed, keeping
// the reservations, filed for a person.
func (m *Repo) FailReward(ctx context.Context, r rewards.Reward, reason string, ev events.Event, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return false, err
	}
	if err := validEvent(ev); err != nil {
		return false, err
	}
	cur, ok := m.rewards[keyOf(r)]
	if !ok || cur.Status != rewards.StatusSending {
		return false, nil
	}
	cur.Status, cur.StatusReason, cur.UpdatedAt = rewards.StatusFailed, reason, now.UTC()
	m.rewards[keyOf(r)] = cur
	delete(m.due, cur.ID)
	m.failed[cur.ID] = due(cur, "", now)
	m.events = append(m.events, cloneEvent(ev))
	return true, nil
}

// ParkReward implements rewards.Repository.
func (m *Repo) ParkReward(ctx context.Context, r rewards.Reward, from []rewards.Status, to rewards.Status, reason string, due time.Time, ev events.Event, now time.Time) (bool, error) {
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
	m.file(cur, due)
	m.events = append(m.events, cloneEvent(ev))
	return true, nil
}

// ScheduleReward implements rewards.Repository.
func (m *Repo) ScheduleReward(ctx context.Context, r rewards.Reward, due time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return err
	}
	m.file(r, due)
	return nil
}

// RearmReward implements rewards.Repository.
func (m *Repo) RearmReward(ctx context.Context, r rewards.Reward, ev events.Event, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return false, err
	}
	if err := validEvent(ev); err != nil {
		return false, err
	}
	cur, ok := m.rewards[keyOf(r)]
	if !ok || cur.Status != rewards.StatusFailed {
		return false, nil
	}
	cur.Status, cur.StatusReason, cur.UpdatedAt = rewards.StatusApproved, "re-armed", now.UTC()
	cur.Generation, cur.IdempotencyKey, cur.Rail = r.Generation, r.IdempotencyKey, ""
	m.rewards[keyOf(r)] = cur
	delete(m.failed, cur.ID)
	m.file(cur, now)
	m.events = append(m.events, cloneEvent(ev))
	return true, nil
}

func (m *Repo) file(r rewards.Reward, due time.Time) { m.fileFor(r, "", due) }

func (m *Repo) fileFor(r rewards.Reward, action string, at time.Time) {
	m.due[r.ID] = due(r, action, at)
}

// due is the filing of r for action at time at.
func due(r rewards.Reward, action string, at time.Time) rewards.Due {
	return rewards.Due{Action: action, RewardID: r.ID, ReferralID: r.ReferralID, ProgramID: r.ProgramID,
		Milestone: r.Milestone, Party: r.Party, At: at.UTC()}
}

// DueRewards lists the rewards filed for the payouts runner at or before
// before, earliest first (as the store's DueRewards).
func (m *Repo) DueRewards(ctx context.Context, before time.Time, limit int) ([]rewards.Due, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	var out []rewards.Due
	for _, d := range m.due {
		if !d.At.After(before) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].RewardID < out[j].RewardID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// FailedRewards lists the rewards filed for a person, oldest first (as the
// store's FailedRewards).
func (m *Repo) FailedRewards(ctx context.Context, limit int) ([]rewards.Due, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	out := make([]rewards.Due, 0, len(m.failed))
	for _, d := range m.failed {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].At.Before(out[j].At) || (out[i].At.Equal(out[j].At) && out[i].RewardID < out[j].RewardID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Failed lists the ids of the rewards filed for a person (failed at their
// rail, or their reversal refused there), sorted.
func (m *Repo) Failed() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for id := range m.failed {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Unfile drops the filing of r (as the store's Unfile).
func (m *Repo) Unfile(ctx context.Context, r rewards.Reward) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return err
	}
	delete(m.due, r.ID)
	return nil
}

// Reward reads one reward (as the store's Reward): referral.ErrNotFound
// when there is none.
func (m *Repo) Reward(ctx context.Context, referralID, milestone, party string) (*rewards.Reward, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	r, ok := m.rewards[rewardKey(referralID, milestone, party)]
	if !ok {
		return nil, referral.ErrNotFound
	}
	r = cloneReward(r)
	return &r, nil
}

// SettleReversal implements rewards.Repository: only while r is filed for
// its reversal (at the runner or for a person).
func (m *Repo) SettleReversal(ctx context.Context, r rewards.Reward, ev *events.Event, attention bool) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return false, err
	}
	d, filed := m.due[r.ID]
	f, failed := m.failed[r.ID]
	filed = (filed && d.Action == rewards.ActionReverse) || (failed && f.Action == rewards.ActionReverse)
	if !filed {
		return false, nil
	}
	if ev != nil {
		if err := validEvent(*ev); err != nil {
			return false, err
		}
		m.events = append(m.events, cloneEvent(*ev))
	}
	delete(m.due, r.ID)
	delete(m.failed, r.ID)
	if attention && ev != nil {
		m.failed[r.ID] = due(r, rewards.ActionReverse, ev.At)
	}
	return true, nil
}
