package main

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/workflow"
)

// The pay step reads the referral, sees the deal open, and pays; a loss or
// refund recorded between that read and the payment is caught by the
// payment's own transaction: nothing is paid, the milestone's unpaid
// rewards are voided, and the step ends the referral as lost.
func TestPayStepLosesTheRaceWithALossCleanly(t *testing.T) {
	for _, reason := range []string{"lost", "refunded", "deleted"} {
		t.Run(reason, func(t *testing.T) {
			h, st := setup(t)
			h.Rewards.Now = func() time.Time { return t0.Add(31 * 24 * time.Hour) }
			if _, err := run(h, "won", "hold"); err != nil {
				t.Fatal(err)
			}
			// The webhook records the loss after the step read the referral
			// (the fake store still answers it open).
			st.repo.Lose(refID, t0.Add(30*24*time.Hour+time.Minute), reason)
			n := len(st.repo.AllEvents())
			out, err := run(h, "won", "pay")
			var ie messages.InvokeResponse_Error
			if !errors.As(err, &ie) || ie.Type != workflow.ErrLost {
				t.Fatalf("err = %#v, want Referral.Lost", err)
			}
			if len(st.repo.Entries()) != 0 || out.Paid != 0 {
				t.Fatalf("paid a lost deal: %+v, ledger %+v", out, st.repo.Entries())
			}
			for _, party := range []string{"referrer", "referee"} {
				if rw := st.reward("won", party); rw.Status != rewards.StatusVoided || rw.StatusReason != "deal "+reason+" during the holding period" {
					t.Errorf("%s reward %s (%s), want voided", party, rw.Status, rw.StatusReason)
				}
			}
			for _, ev := range st.repo.AllEvents()[n:] {
				if ev.Type == events.RewardPaid {
					t.Errorf("event %+v", ev)
				}
			}
		})
	}
}
