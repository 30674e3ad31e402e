package main

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/referflow/referflow/internal/workflow"
)

// A payload the step cannot act on is Referral.BadInput, which the
// workflow does not retry (retrying cannot fix it).
func TestBadPayloadsArePermanent(t *testing.T) {
	h, _, _ := setup(nil)
	for _, p := range []string{
		`[]`,
		`{"kind":"plan","execution_started_at":"yesterday"}`,
		`{"kind":"plan","deadline_seconds":"soon"}`,
		`{"kind":"milestone","referral_id":"ref_1"}`,
		`{"kind":"review","task_token":"t"}`,
	} {
		_, err := h.Invoke(context.Background(), json.RawMessage(p))
		var named messages.InvokeResponse_Error
		if !errors.As(err, &named) || named.Type != workflow.ErrBadInput {
			t.Errorf("%s: %v", p, err)
		}
	}
}
