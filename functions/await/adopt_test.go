package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/referflow/referflow/internal/workflow"
)

// Issue 9: CRM events parked before the referral existed (its email
// matched later) are applied before the wait begins, so the wait honours
// the milestone they reached.
func TestAwaitAppliesParkedEventsFirst(t *testing.T) {
	h, st, s := setup(nil)
	calls := 0
	h.Adopt = func(_ context.Context, referralID string) (int, error) {
		calls++
		if referralID != id {
			t.Fatalf("adopt for %q", referralID)
		}
		st.r.Milestones["won"] = t0.Add(-time.Hour) // what the parked event recorded
		return 1, nil
	}
	out, err := h.Handle(context.Background(), workflow.CallbackInput{ReferralID: id, Kind: "milestone", Milestone: "won", TaskToken: "tok-won"})
	if err != nil || calls != 1 || out["waiting"] != false {
		t.Fatalf("out %v, %v after %d adoptions", out, err, calls)
	}
	if len(s.successes) != 1 || aws.ToString(s.successes[0].TaskToken) != "tok-won" {
		t.Fatalf("not resumed at once: %d successes", len(s.successes))
	}
	// Review waits adopt nothing.
	if _, err := h.Handle(context.Background(), workflow.CallbackInput{ReferralID: id, Kind: "review", TaskToken: "tok-r"}); err != nil || calls != 1 {
		t.Fatalf("review: %v, %d adoptions", err, calls)
	}
}

// A failure to apply them fails the step (the workflow retries it) before
// the token is stored.
func TestAwaitParkedEventsFailureRetries(t *testing.T) {
	h, st, _ := setup(nil)
	boom := errors.New("throttled")
	h.Adopt = func(context.Context, string) (int, error) { return 0, boom }
	if _, err := h.Handle(context.Background(), workflow.CallbackInput{ReferralID: id, Kind: "milestone", Milestone: "won", TaskToken: "tok-won"}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if st.cb.WaitToken != "" {
		t.Fatal("token stored after a failed adoption")
	}
}
