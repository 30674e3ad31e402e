package crm

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/activity"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// Rewards gives the rewards lifecycle every reward of a referral.
func (r rewardRepo) Rewards(_ context.Context, referralID string) ([]rewards.Reward, error) {
	if err := r.f.check("Rewards", referralID); err != nil {
		return nil, err
	}
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	return slices.Clone(r.f.rewards[referralID]), nil
}

// SetRewardStatus mirrors the store: the move happens only from one of
// from, and records its event.
func (r rewardRepo) SetRewardStatus(_ context.Context, rw rewards.Reward, from []rewards.Status, to rewards.Status, reason string, ev events.Event, now time.Time) (bool, error) {
	if err := r.f.check("SetRewardStatus", rw.ID); err != nil {
		return false, err
	}
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	for i, cur := range r.f.rewards[rw.ReferralID] {
		if cur.ID != rw.ID || !slices.Contains(from, cur.Status) {
			continue
		}
		cur.Status, cur.StatusReason, cur.UpdatedAt = to, reason, now
		r.f.rewards[rw.ReferralID][i] = cur
		r.f.activities[rw.ReferralID] = append(r.f.activities[rw.ReferralID], activity.Describe(ev))
		return true, nil
	}
	return false, nil
}

func (f *fakeStore) reward(referralID, milestone, party string) rewards.Reward {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, rw := range f.rewards[referralID] {
		if rw.Milestone == milestone && rw.Party == party {
			return rw
		}
	}
	return rewards.Reward{}
}

// A deal lost after the referral completed is recorded (the referral keeps
// its status and milestones) and takes the sale back: the last milestone's
// paid rewards get a reversal entry each, its rewards still waiting for a
// person are voided; earlier milestones' rewards stay. A redelivery
// changes nothing more.
func TestLossAfterCompletionReversesTheSale(t *testing.T) {
	for _, kind := range []Kind{KindStageChanged, KindDeleted} {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, true)
			id := refID(1)
			e.add(id, func(r *referral.Referral) {
				r.Status = referral.StatusCompleted
				r.Milestones = map[string]time.Time{"qualified": t0, "demo": t0, "won": t0}
			})
			e.st.links["hubspot#D1"] = id
			rw := func(milestone, party string, st rewards.Status) rewards.Reward {
				return rewards.Reward{ID: rewards.RewardID(id, milestone, party), ReferralID: id, ProgramID: e.p.ID, Milestone: milestone, Party: party,
					AmountMinor: 10000, Currency: "USD", Status: st, NeedsApproval: st == rewards.StatusPending, HoldUntil: t0}
			}
			e.st.rewards[id] = []rewards.Reward{rw("qualified", "referrer", rewards.StatusPaid), rw("won", "referrer", rewards.StatusPaid), rw("won", "referee", rewards.StatusPending)}
			for _, evID := range []string{"L1", "L1", "L2"} {
				ev := stage(evID, "D1", "default", "closedlost")
				ev.Kind = kind
				e.ingest(t, ev)
			}
			if r := e.st.get(id); r.LostAt == nil || r.Status != referral.StatusCompleted || len(r.Milestones) != 3 {
				t.Fatalf("referral %s lost_at %v milestones %v; want the loss recorded on the completed referral", r.Status, r.LostAt, r.Milestones)
			}
			if len(e.st.reversals) != 1 || e.st.reversals[rewards.RewardID(id, "won", "referrer")].AmountMinor != -10000 {
				t.Fatalf("reversals %+v, want the won referrer reward's", e.st.reversals)
			}
			if st := e.st.reward(id, "won", "referee").Status; st != rewards.StatusVoided {
				t.Errorf("the won reward waiting for approval is %s, want voided", st)
			}
			if st := e.st.reward(id, "qualified", "referrer").Status; st != rewards.StatusPaid {
				t.Errorf("the qualified reward is %s", st)
			}
		})
	}
}
