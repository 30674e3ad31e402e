package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/rewardstest"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

// Referral reads the fake's referral, as the store does.
func (f *fakeStore) Referral(_ context.Context, rid string) (*referral.Referral, error) {
	if f.r == nil || f.r.ID != rid {
		return nil, store.ErrNotFound
	}
	c := *f.r
	return &c, nil
}

// ProgramVersion is a program of the fake's rewards' milestones.
func (f *fakeStore) ProgramVersion(context.Context, string, int) (*program.Program, error) {
	p := &program.Program{}
	for _, rid := range rewardIDs {
		p.Milestones = append(p.Milestones, program.Milestone{Name: strings.TrimPrefix(rid, "rw_")})
	}
	return p, nil
}

// lossStore is the fake store with the referral's program: qualified (no
// hold) then demo (held) then won.
type lossStore struct {
	*fakeStore
	p *program.Program
}

func (f *lossStore) ProgramVersion(context.Context, string, int) (*program.Program, error) {
	return f.p, nil
}

// lossSetup: the deal was lost at t0 (reason) after reaching reached; the
// referral's rewards are put as given.
func lossSetup(status referral.Status, reason, onLoss string, reached []string, rws ...rewards.Reward) (*Handler, *lossStore) {
	h, st := setup(status)
	st.Repo = rewardsRepoWith(rws...)
	h.Rewards.Repo = st.Repo
	lostAt := t0.Add(-time.Minute)
	st.r.LostAt, st.r.LostReason, st.r.Milestones = &lostAt, reason, map[string]time.Time{}
	for _, m := range reached {
		st.r.Milestones[m] = t0.Add(-72 * time.Hour)
	}
	pays := []program.Reward{{Party: program.PartyReferrer, Kind: program.KindCash, AmountMinor: 20000}}
	ls := &lossStore{fakeStore: st, p: &program.Program{RewardsOnLoss: onLoss,
		Milestones: []program.Milestone{{Name: "qualified", Rewards: pays}, {Name: "demo", Rewards: pays}, {Name: "won", Rewards: pays}}}}
	h.Store = ls
	return h, ls
}

func lossReward(milestone string, st rewards.Status, needsApproval bool, holdUntil time.Time) rewards.Reward {
	rw := rewards.Reward{ID: rewards.RewardID(id, milestone, "referrer"), ReferralID: id, ProgramID: "p", Milestone: milestone,
		Party: "referrer", AmountMinor: 20000, Currency: "USD", Status: st, NeedsApproval: needsApproval, HoldUntil: holdUntil}
	if st == rewards.StatusPending && needsApproval {
		rw.StatusReason = rewards.ReasonAwaitingApproval
	}
	return rw
}

// Completing a referral as lost keeps the rewards earned before the deal
// was lost that wait for a person, when the program keeps them (the
// default); the milestone the loss caught in its hold is voided; under
// rewards_on_loss: void the earned ones are voided too.
func TestLostKeepsEarnedRewardsAsTheProgramSays(t *testing.T) {
	earlier := t0.Add(-48 * time.Hour)
	for _, c := range []struct {
		onLoss string
		want   rewards.Status
		voided int
	}{{program.RewardsOnLossKeep, rewards.StatusPending, 1}, {"", rewards.StatusPending, 1}, {program.RewardsOnLossVoid, rewards.StatusVoided, 2}} {
		h, st := lossSetup(referral.StatusInProgress, "lost", c.onLoss, []string{"qualified", "demo"},
			lossReward("qualified", rewards.StatusPending, true, earlier), lossReward("demo", rewards.StatusOnHold, false, t0.Add(time.Hour)))
		out, err := h.Handle(context.Background(), workflow.CompleteInput{ReferralID: id, Outcome: "lost"})
		if err != nil {
			t.Fatal(err)
		}
		q, _ := st.Get(id, "qualified", "referrer")
		d, _ := st.Get(id, "demo", "referrer")
		if q.Status != c.want || d.Status != rewards.StatusVoided || out["voided"] != c.voided {
			t.Errorf("rewards_on_loss %q: qualified %s, demo %s, output %v; want qualified %s, demo voided", c.onLoss, q.Status, d.Status, out, c.want)
		}
	}
}

// A deal lost after the last milestone's rewards were paid, but before the
// referral was closed as completed, takes the sale back: its paid rewards
// are reversed with new ledger entries, earlier milestones' stay.
func TestCompletedAfterALateLossReversesTheSale(t *testing.T) {
	h, st := lossSetup(referral.StatusInProgress, "lost", program.RewardsOnLossKeep, []string{"qualified", "demo", "won"},
		lossReward("qualified", rewards.StatusPaid, false, t0.Add(-72*time.Hour)), lossReward("won", rewards.StatusPaid, false, t0.Add(-2*time.Hour)))
	if _, err := h.Handle(context.Background(), workflow.CompleteInput{ReferralID: id, Outcome: "completed"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Entry(rewards.RewardID(id, "won", "referrer"), rewards.EntryReversal); !ok {
		t.Error("the won reward paid before the loss was not reversed")
	}
	if _, ok := st.Entry(rewards.RewardID(id, "qualified", "referrer"), rewards.EntryReversal); ok {
		t.Error("the qualified reward was reversed")
	}
	if st.r.Status != referral.StatusCompleted {
		t.Errorf("referral %s", st.r.Status)
	}
}

// rewardsRepoWith is a repository holding rws as created earlier.
func rewardsRepoWith(rws ...rewards.Reward) *rewardstest.Repo {
	repo := rewardstest.New()
	repo.Put(rws...)
	return repo
}
