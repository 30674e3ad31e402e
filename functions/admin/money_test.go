package main

import (
	"context"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// lossStore is the fake store with a program of two milestones that says
// what happens to earned rewards when the deal is lost.
type lossStore struct {
	*fakeStore
	onLoss string
}

func (f *lossStore) ProgramVersion(context.Context, string, int) (*program.Program, error) {
	pays := []program.Reward{{Party: program.PartyReferrer, Kind: program.KindCash, AmountMinor: 300000}}
	return &program.Program{Milestones: []program.Milestone{{Name: "qualified", Rewards: pays}, {Name: "won", Rewards: pays}}, RewardsOnLoss: f.onLoss}, nil
}

// An approval re-checks the referral: the reward of a refunded sale, or of
// a deal lost after it completed, is not paid however long it waited for
// approval; a reward earned before the deal was lost on the way to a later
// milestone is paid when the program keeps such rewards, refused when it
// voids them.
func TestApprovalRechecksTheDeal(t *testing.T) {
	lostAt := now.Add(-time.Hour)
	cases := []struct {
		name      string
		status    referral.Status
		reason    string
		reached   []string
		milestone string
		onLoss    string
		code      int
		want      rewards.Status
	}{
		{"refunded after completion", referral.StatusCompleted, "refunded", []string{"qualified", "won"}, "won", program.RewardsOnLossKeep, 409, rewards.StatusPending},
		{"lost after completion", referral.StatusCompleted, "lost", []string{"qualified", "won"}, "won", program.RewardsOnLossKeep, 409, rewards.StatusPending},
		{"refunded on the way", referral.StatusLost, "refunded", []string{"qualified"}, "qualified", program.RewardsOnLossKeep, 409, rewards.StatusPending},
		{"lost before won: earned reward kept", referral.StatusLost, "lost", []string{"qualified"}, "qualified", program.RewardsOnLossKeep, 200, rewards.StatusPaid},
		{"lost before won: earned reward voided by the program", referral.StatusLost, "lost", []string{"qualified"}, "qualified", program.RewardsOnLossVoid, 409, rewards.StatusPending},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &lossStore{fakeStore: newFakeStore(), onLoss: c.onLoss}
			r := f.referrals[refID]
			r.Status, r.LostAt, r.LostReason, r.Milestones = c.status, &lostAt, c.reason, map[string]time.Time{}
			for _, m := range c.reached {
				r.Milestones[m] = now.Add(-48 * time.Hour)
			}
			f.Put(rewards.Reward{ID: "rw_1", ReferralID: refID, ProgramID: "p", Milestone: c.milestone, Party: "referrer",
				AmountMinor: 300000, Currency: "USD", Status: rewards.StatusPending, StatusReason: rewards.ReasonAwaitingApproval,
				NeedsApproval: true, HoldUntil: lostAt.Add(-time.Hour)})
			h := newHandler(f.fakeStore, &fakeSFN{outputs: map[string]string{}})
			h.Store = f
			a := call(t, h, approveReq(refID, c.milestone, "referrer"))
			if a.status != c.code || (c.code == 409 && errCode(a) != "not_payable") {
				t.Fatalf("answer %d %v, want %d", a.status, a.body, c.code)
			}
			stored, _ := f.Get(refID, c.milestone, "referrer")
			if stored.Status != c.want || f.paid() != map[bool]int{true: 1}[c.want == rewards.StatusPaid] {
				t.Fatalf("reward %s, %d paid; want %s", stored.Status, f.paid(), c.want)
			}
		})
	}
}

// The approval read the referral open; the refund is recorded before the
// payment: the payment's own check refuses it (409), nothing is paid.
func TestApprovalRacingARefund(t *testing.T) {
	f := &lossStore{fakeStore: newFakeStore(), onLoss: program.RewardsOnLossKeep}
	r := f.referrals[refID]
	r.Status, r.Milestones = referral.StatusCompleted, map[string]time.Time{"qualified": now.Add(-48 * time.Hour), "won": now.Add(-48 * time.Hour)}
	f.Put(rewards.Reward{ID: "rw_1", ReferralID: refID, ProgramID: "p", Milestone: "won", Party: "referrer",
		AmountMinor: 300000, Currency: "USD", Status: rewards.StatusPending, StatusReason: rewards.ReasonAwaitingApproval,
		NeedsApproval: true, HoldUntil: now.Add(-2 * time.Hour)})
	f.Lose(refID, now.Add(-time.Minute), "refunded") // the webhook, after the handler's read
	h := newHandler(f.fakeStore, &fakeSFN{outputs: map[string]string{}})
	h.Store = f
	if a := call(t, h, approveReq(refID, "won", "referrer")); a.status != 409 || errCode(a) != "not_payable" {
		t.Fatalf("answer %d %v, want 409 not_payable", a.status, a.body)
	}
	if stored, _ := f.Get(refID, "won", "referrer"); stored.Status != rewards.StatusPending || f.paid() != 0 {
		t.Fatalf("reward %s, %d paid", stored.Status, f.paid())
	}
}
