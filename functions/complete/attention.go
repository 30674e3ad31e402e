package main

import (
	"context"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/workflow"
)

// Marker moves a referral to needs_attention (recovery.Service).
type Marker interface {
	Mark(ctx context.Context, id string, a referral.Attention, actor string) (bool, error)
}

// needsAttention is "Mark needs attention": a step kept failing after its
// retries. The referral moves to needs_attention with the failure's name
// and a short cause (and the alarm's metric is emitted); a referral that
// is final, or marked already, is left as it is.
func (h *Handler) needsAttention(ctx context.Context, in workflow.CompleteInput) (map[string]any, error) {
	if in.ReferralID == "" {
		return nil, workflow.BadInput("complete: needs_attention without a referral_id")
	}
	var caught workflow.StepError
	if in.Error != nil {
		caught = *in.Error
	}
	name, cause := caught.Failure()
	marked, err := h.Recovery.Mark(ctx, in.ReferralID, referral.Attention{Error: name, Cause: cause, Execution: in.Execution}, events.ActorWorkflow)
	if err != nil {
		return nil, err
	}
	logging.From(ctx, h.Log).Warn("referral needs attention", "referral_id", in.ReferralID, "execution", in.Execution, "error", name, "marked", marked)
	return map[string]any{"status": referral.StatusNeedsAttention, "marked": marked}, nil
}
