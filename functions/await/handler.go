package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/workflow"
)

// Store is what the wait step writes.
type Store interface {
	SetWait(ctx context.Context, id, milestone, token string, now time.Time) (*workflow.Waiting, error)
	SetReviewWait(ctx context.Context, id, token string, now time.Time) (*workflow.Waiting, error)
	StartWait(ctx context.Context, id, milestone string, now time.Time) (time.Time, error)
	// Transition applies a review decision recorded before the wait began
	// whose status change was cut short (workflow.ApplyReview).
	Transition(ctx context.Context, id string, to referral.Status, now time.Time, set map[string]any, ev events.Event) error
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
	// ExecutionBudget is how long one execution may run (Step Functions
	// Standard: one year); Slack is kept free for the steps after a wait.
	ExecutionBudget time.Duration
	Slack           time.Duration
	// Adopt, when set, applies the CRM events parked before the referral
	// existed (matched by its email; crm.Ingester.AdoptReferral) before a
	// milestone wait begins, so that the wait honours them.
	Adopt func(ctx context.Context, referralID string) (int, error)
}

// Invoke is the function's entry point: "Plan the wait" sends kind "plan",
// the callback tasks send kind "milestone" or "review".
func (h *Handler) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	var kind struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(payload, &kind); err != nil {
		return nil, workflow.BadInput("await: payload: %v", err)
	}
	if kind.Kind == "plan" {
		var in workflow.PlanInput
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, workflow.BadInput("await: plan payload: %v", err)
		}
		return h.Plan(ctx, in)
	}
	var in workflow.CallbackInput
	if err := json.Unmarshal(payload, &in); err != nil {
		return nil, workflow.BadInput("await: payload: %v", err)
	}
	return h.Handle(ctx, in)
}

// Plan decides the coming wait. A milestone's deadline runs from the first
// time any execution of the referral began waiting for it; an execution
// lasts at most ExecutionBudget, and the wait leaves room for the holding
// period and Slack after it. When the deadline lies beyond what this
// execution can wait, it waits what fits and continues in a new execution.
func (h *Handler) Plan(ctx context.Context, in workflow.PlanInput) (workflow.WaitPlan, error) {
	started, err := time.Parse(time.RFC3339Nano, in.ExecutionStartedAt)
	if err != nil {
		return workflow.WaitPlan{}, workflow.BadInput("await: plan: execution_started_at %q: %v", in.ExecutionStartedAt, err)
	}
	now := h.Now()
	first, err := h.Store.StartWait(ctx, in.ReferralID, in.Milestone, now)
	if err != nil {
		return workflow.WaitPlan{}, err
	}
	deadlineLeft := int64(first.Add(time.Duration(in.DeadlineSeconds) * time.Second).Sub(now).Seconds())
	budgetLeft := int64(started.Add(h.ExecutionBudget).Sub(now).Seconds()) - in.HoldSeconds - int64(h.Slack.Seconds())
	p := workflow.WaitPlan{WaitSeconds: deadlineLeft}
	if deadlineLeft > budgetLeft {
		p = workflow.WaitPlan{WaitSeconds: budgetLeft, Continues: true}
	}
	// TimeoutSeconds must be positive: a spent wait times out at once.
	p.WaitSeconds = max(p.WaitSeconds, 1)
	logging.From(ctx, h.Log).Info("wait planned", "referral_id", in.ReferralID, "milestone", in.Milestone,
		"wait_seconds", p.WaitSeconds, "continues", p.Continues, "wait_started", first)
	return p, nil
}

// Handle stores the token and resumes if already satisfied.
func (h *Handler) Handle(ctx context.Context, in workflow.CallbackInput) (map[string]any, error) {
	log := logging.From(ctx, h.Log).With("referral_id", in.ReferralID, "kind", in.Kind, "milestone", in.Milestone)
	if in.ReferralID == "" || in.TaskToken == "" {
		return nil, workflow.BadInput("await: referral_id and task_token are required")
	}
	now := h.Now()
	if in.Kind == "review" {
		r, err := h.Store.SetReviewWait(ctx, in.ReferralID, in.TaskToken, now)
		if err != nil {
			return nil, err
		}
		// A decision recorded before this wait (its status change cut short
		// when the referral needed attention) is applied before resuming.
		if err := workflow.ApplyReview(ctx, h.Store, r, events.ActorWorkflow, now); err != nil {
			return nil, fmt.Errorf("await: apply the recorded review: %w", err)
		}
		resumed, err := workflow.ResumeReview(ctx, h.SFN, r)
		log.Info("waiting for manual review", "resumed_at_once", resumed)
		return map[string]any{"waiting": !resumed}, err
	}
	if h.Adopt != nil {
		n, err := h.Adopt(ctx, in.ReferralID)
		if err != nil {
			return nil, fmt.Errorf("await: parked CRM events: %w", err)
		}
		if n > 0 {
			log.Info("parked CRM events applied", "events", n)
		}
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
