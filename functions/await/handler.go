package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/referflow/referflow/shared/logging"
	"github.com/referflow/referflow/shared/referral"
	"github.com/referflow/referflow/shared/workflow"
)

// Store is what the wait step writes.
type Store interface {
	SetWait(ctx context.Context, id, milestone, token string, now time.Time) (*referral.Referral, error)
	SetReviewWait(ctx context.Context, id, token string, now time.Time) (*referral.Referral, error)
}

// Handler is the callback step of "Wait for milestone" and "Wait for manual
// review": it stores the task token where the webhook (or the admin API)
// finds it, then resumes at once if what it waits for already happened.
// Its return value is ignored by Step Functions; only the token resumes.
type Handler struct {
	Store Store
	SFN   workflow.SFN
	Now   func() time.Time
	Log   *slog.Logger
}

// Input is the callback payload.
type Input struct {
	ReferralID string `json:"referral_id"`
	Kind       string `json:"kind"` // "milestone" or "review"
	Milestone  string `json:"milestone"`
	TaskToken  string `json:"task_token"`
}

// Handle stores the token and resumes if already satisfied.
func (h *Handler) Handle(ctx context.Context, in Input) (map[string]any, error) {
	log := logging.From(ctx, h.Log).With("referral_id", in.ReferralID, "kind", in.Kind, "milestone", in.Milestone)
	if in.ReferralID == "" || in.TaskToken == "" {
		return nil, fmt.Errorf("await: referral_id and task_token are required")
	}
	now := h.Now()
	if in.Kind == "review" {
		r, err := h.Store.SetReviewWait(ctx, in.ReferralID, in.TaskToken, now)
		if err != nil {
			return nil, err
		}
		resumed, err := workflow.ResumeReview(ctx, h.SFN, r)
		log.Info("waiting for manual review", "resumed_at_once", resumed)
		return map[string]any{"waiting": !resumed}, err
	}
	r, err := h.Store.SetWait(ctx, in.ReferralID, in.Milestone, in.TaskToken, now)
	if err != nil {
		return nil, err
	}
	// A milestone recorded (or a deal lost) before the wait began is
	// honoured now; otherwise the webhook resumes us when it arrives.
	resumed, err := workflow.Resume(ctx, h.SFN, r)
	if err != nil {
		return nil, err
	}
	log.Info("waiting for milestone", "resumed_at_once", resumed)
	return map[string]any{"waiting": !resumed}, nil
}
