package rewards_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// lostReferral is the test referral whose deal was lost (reason) at lostAt
// after reaching milestones.
func lostReferral(reason string, lostAt time.Time, milestones ...string) *referral.Referral {
	r := testReferral()
	r.LostAt, r.LostReason, r.Milestones = &lostAt, reason, map[string]time.Time{}
	for _, m := range milestones {
		r.Milestones[m] = t0.Add(-60 * 24 * time.Hour)
	}
	return r
}

func onLoss(policy string) *program.Program {
	p := testProgram()
	p.RewardsOnLoss = policy
	return p
}

// awaiting is a reward whose hold ended at holdUntil and that waits for a
// person.
func awaiting(milestone, party string, holdUntil time.Time) rewards.Reward {
	return seed(milestone, party, rewards.StatusPending, func(rw *rewards.Reward) {
		rw.NeedsApproval, rw.StatusReason, rw.HoldUntil = true, rewards.ReasonAwaitingApproval, holdUntil
	})
}

// TestKeptOnLoss: which unpaid rewards a lost deal leaves payable.
func TestKeptOnLoss(t *testing.T) {
	lostAt := t0.Add(-time.Hour)
	earned, inHold := lostAt.Add(-time.Minute), lostAt.Add(time.Minute)
	for _, c := range []struct {
		name string
		r    *referral.Referral
		p    *program.Program
		rw   rewards.Reward
		want bool
	}{
		{"open deal", testReferral(), testProgram(), awaiting("qualified", "referrer", earned), true},
		{"earned before the deal was lost on the way", lostReferral("lost", lostAt, "qualified"), testProgram(), awaiting("qualified", "referrer", earned), true},
		{"the same, program keeps", lostReferral("deleted", lostAt, "qualified"), onLoss(program.RewardsOnLossKeep), awaiting("qualified", "referrer", earned), true},
		{"the same, program voids", lostReferral("lost", lostAt, "qualified"), onLoss(program.RewardsOnLossVoid), awaiting("qualified", "referrer", earned), false},
		{"still in its hold when lost", lostReferral("lost", lostAt, "qualified"), testProgram(), awaiting("qualified", "referrer", inHold), false},
		{"refunded: the last milestone is taken back", lostReferral("refunded", lostAt, "qualified"), testProgram(), awaiting("qualified", "referrer", earned), false},
		{"refunded: an earlier milestone stays", lostReferral("refunded", lostAt, "qualified", "won"), testProgram(), awaiting("qualified", "referrer", earned), true},
		{"lost after the last milestone: the sale is taken back", lostReferral("lost", lostAt, "qualified", "won", "renewed"), testProgram(), awaiting("won", "referrer", earned), false},
		{"lost after the last milestone: an earlier one stays", lostReferral("lost", lostAt, "qualified", "won", "renewed"), testProgram(), awaiting("qualified", "referrer", earned), true},
		{"lost after completion", func() *referral.Referral {
			r := lostReferral("lost", lostAt, "qualified", "won")
			r.Status = referral.StatusCompleted
			return r
		}(), testProgram(), awaiting("won", "referrer", earned), false},
		{"no approval needed: the workflow's, voided", lostReferral("lost", lostAt, "qualified"), testProgram(),
			seed("qualified", "referrer", rewards.StatusPending, func(rw *rewards.Reward) { rw.HoldUntil = earned }), false},
		{"approved during its hold", lostReferral("lost", lostAt, "qualified"), testProgram(),
			seed("qualified", "referrer", rewards.StatusApproved, func(rw *rewards.Reward) { rw.NeedsApproval, rw.HoldUntil = true, earned }), false},
	} {
		if got := rewards.KeptOnLoss(c.r, c.p, c.rw); got != c.want {
			t.Errorf("%s: kept = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestApplyLoss: a loss reverses the paid rewards of the sale it takes
// back, voids what it does not keep, leaves the rest, and a repeat changes
// nothing.
func TestApplyLoss(t *testing.T) {
	lostAt := t0.Add(-time.Hour)
	e := newEnv()
	e.repo.Put(
		seed("qualified", "referrer", rewards.StatusPaid, nil),
		awaiting("won", "referee", lostAt.Add(-time.Minute)),
		seed("won", "referrer", rewards.StatusPaid, nil),
		seed("renewed", "referrer", rewards.StatusOnHold, func(rw *rewards.Reward) { rw.HoldUntil = t0.Add(time.Hour) }),
	)
	r := lostReferral("refunded", lostAt, "qualified", "won")
	out, err := e.svc.ApplyLoss(context.Background(), r, testProgram(), events.ActorWebhook("hubspot"))
	if err != nil || out != (rewards.Loss{Reversed: 1, Voided: 2}) {
		t.Fatalf("ApplyLoss = %+v, %v; want the won referrer reversed, the won referee and renewed voided", out, err)
	}
	if _, ok := e.repo.Entry(rewards.RewardID(refID, "won", "referrer"), rewards.EntryReversal); !ok {
		t.Fatal("the won reward was not reversed")
	}
	if _, ok := e.repo.Entry(rewards.RewardID(refID, "qualified", "referrer"), rewards.EntryReversal); ok {
		t.Fatal("the qualified reward was reversed")
	}
	for _, m := range [][2]string{{"won", "referee"}, {"renewed", "referrer"}} {
		if rw, _ := e.repo.Get(refID, m[0], m[1]); rw.Status != rewards.StatusVoided || rw.StatusReason != "deal refunded" {
			t.Errorf("%v is %s (%s), want voided: deal refunded", m, rw.Status, rw.StatusReason)
		}
	}
	n := len(e.repo.AllEvents())
	if again, err := e.svc.ApplyLoss(context.Background(), r, testProgram(), events.ActorWorkflow); err != nil || again != (rewards.Loss{}) || len(e.repo.AllEvents()) != n {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	if out, _ := e.svc.ApplyLoss(context.Background(), testReferral(), testProgram(), events.ActorWorkflow); out != (rewards.Loss{}) {
		t.Fatalf("an open deal: %+v", out)
	}
}

// An approval races the loss: the referral was read open, the loss is
// recorded before the payment. The payment's own check catches it: a
// reward the loss takes back is not paid; one earned before a loss on the
// way is paid when the program keeps it.
func TestApproveRacingALoss(t *testing.T) {
	for _, c := range []struct {
		name, reason, milestone string
		p                       *program.Program
		paid                    bool
		final                   bool // the referral reached the last milestone
	}{
		{"refund", "refunded", "won", testProgram(), false, false},
		{"lost after the last milestone", "lost", "won", testProgram(), false, true},
		{"lost on the way, earned reward kept", "lost", "won", testProgram(), true, false},
		{"lost on the way, program voids", "lost", "won", onLoss(program.RewardsOnLossVoid), false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv()
			rw := awaiting(c.milestone, "referee", t0.Add(-2*time.Hour))
			e.repo.Put(rw)
			r := testReferral()
			if c.final {
				r.Milestones["renewed"] = t0
			}
			e.repo.Lose(refID, t0.Add(-time.Hour), c.reason)
			err := e.svc.Approve(context.Background(), r, c.p, rw, events.ActorAdmin)
			_, paid := e.repo.Entry(rw.ID, rewards.EntryPayable)
			if paid != c.paid || (c.paid && err != nil) || (!c.paid && !errors.Is(err, rewards.ErrDealLost)) {
				t.Fatalf("paid=%v err=%v; want paid=%v", paid, err, c.paid)
			}
		})
	}
}

// TestPayRacingALoss: the pay step read the referral open; the loss is
// recorded before the payment: nothing is paid, the milestone's unpaid
// rewards are voided, whatever the program keeps on a loss.
func TestPayRacingALoss(t *testing.T) {
	for _, milestone := range []string{"qualified", "won"} {
		e := newEnv()
		e.repo.Put(seed(milestone, "referrer", rewards.StatusOnHold, nil))
		e.repo.Lose(refID, t0.Add(-time.Minute), "lost")
		out, err := e.svc.Pay(context.Background(), testReferral(), testProgram(), milestone)
		var lost *rewards.LostError
		if !errors.As(err, &lost) || lost.Reason != "lost" || len(out.Paid) != 0 || out.Voided != 1 || len(e.repo.Entries()) != 0 {
			t.Fatalf("%s: %+v, %v; want nothing paid, one voided, the loss", milestone, out, err)
		}
	}
}
