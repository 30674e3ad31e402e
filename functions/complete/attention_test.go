package main

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/workflow"
)

type fakeMarker struct {
	id     string
	a      referral.Attention
	actor  string
	marked bool
	err    error
}

func (f *fakeMarker) Mark(_ context.Context, id string, a referral.Attention, actor string) (bool, error) {
	f.id, f.a, f.actor = id, a, actor
	return f.marked, f.err
}

// "Mark needs attention" gets what the Catch caught; the referral is
// marked with the failure's name and cause (unwrapped from a Map
// iteration's Referral.StepFailed, the Lambda error document's message).
func TestNeedsAttentionRecordsTheCause(t *testing.T) {
	inner, _ := json.Marshal(workflow.StepError{Error: "Sandbox.Timedout", Cause: `{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out after 10.00 seconds"}`})
	for _, c := range []struct {
		name       string
		caught     *workflow.StepError
		error, why string
	}{
		{"top-level task", &workflow.StepError{Error: "wrapError", Cause: `{"errorType":"wrapError","errorMessage":"store: get referral: throttled"}`}, "wrapError", "store: get referral: throttled"},
		{"inside the milestones", &workflow.StepError{Error: workflow.ErrStepFailed, Cause: string(inner)}, "Sandbox.Timedout", "Task timed out after 10.00 seconds"},
		{"nothing caught", nil, "Unknown", ""},
	} {
		h, st := setup(referral.StatusInProgress)
		m := &fakeMarker{marked: true}
		h.Recovery = m
		out, err := h.Handle(context.Background(), workflow.CompleteInput{ReferralID: id, Outcome: "needs_attention", Execution: id + "-2", Error: c.caught})
		if err != nil || out["marked"] != true || out["status"] != referral.StatusNeedsAttention {
			t.Fatalf("%s: %v %v", c.name, out, err)
		}
		if m.id != id || m.a.Error != c.error || m.a.Cause != c.why || m.a.Execution != id+"-2" || m.actor != events.ActorWorkflow {
			t.Errorf("%s: marked %s with %+v by %s", c.name, m.id, m.a, m.actor)
		}
		if len(st.AllEvents()) != 0 || st.status("rw_hold") != "on_hold" {
			t.Errorf("%s: marking voided or recorded something itself", c.name)
		}
	}
	h, _ := setup(referral.StatusInProgress)
	h.Recovery = &fakeMarker{err: errors.New("throttled")}
	if _, err := h.Handle(context.Background(), workflow.CompleteInput{ReferralID: id, Outcome: "needs_attention"}); err == nil {
		t.Fatal("a failed mark must fail the step (it is retried, then the execution fails for the reconciler)")
	}
}

// Payloads the step cannot act on are named errors the workflow does not
// retry.
func TestBadInputIsPermanent(t *testing.T) {
	h, _ := setup(referral.StatusInProgress)
	h.Recovery = &fakeMarker{}
	for _, in := range []workflow.CompleteInput{{ReferralID: id, Outcome: "won"}, {Outcome: "needs_attention"}} {
		_, err := h.Handle(context.Background(), in)
		var named messages.InvokeResponse_Error
		if !errors.As(err, &named) || named.Type != workflow.ErrBadInput {
			t.Errorf("%+v: %v", in, err)
		}
	}
}
