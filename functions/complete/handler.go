package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/workflow"
)

// Store is what the final step writes besides rewards.
type Store interface {
	Transition(ctx context.Context, id string, to referral.Status, now time.Time, set map[string]any, ev events.Event) error
	Record(ctx context.Context, evs ...events.Event) error
}

// Handler closes a referral: completed, lost, expired or rejected. Rewards
// not paid yet are voided when the referral did not complete.
type Handler struct {
	Store   Store
	Rewards *rewards.Service
	Now     func() time.Time
	Log     *slog.Logger
	// Continue starts the execution named name for a referral whose
	// current execution ran out of time.
	Continue func(ctx context.Context, referralID, name string) error
}

var outcomes = map[string]referral.Status{
	"completed": referral.StatusCompleted,
	"lost":      referral.StatusLost,
	"expired":   referral.StatusExpired,
	"rejected":  referral.StatusRejected,
}

// Handle closes the referral; repeating it changes nothing.
func (h *Handler) Handle(ctx context.Context, in workflow.CompleteInput) (map[string]any, error) {
	log := logging.From(ctx, h.Log).With("referral_id", in.ReferralID, "outcome", in.Outcome)
	if in.Outcome == "continue" {
		return h.continueReferral(ctx, in)
	}
	to, ok := outcomes[in.Outcome]
	if !ok {
		return nil, fmt.Errorf("complete: unknown outcome %q", in.Outcome)
	}
	now := h.Now()
	ev := events.New(events.ReferralClosed, in.ReferralID, events.ActorWorkflow, now).WithStatus(string(to))
	if err := h.Store.Transition(ctx, in.ReferralID, to, now, map[string]any{"wait_token": "", "review_token": ""}, ev); err != nil {
		return nil, err
	}
	voided := 0
	if to != referral.StatusCompleted {
		var err error
		if voided, err = h.Rewards.VoidUnpaid(ctx, in.ReferralID, "referral "+in.Outcome, events.ActorWorkflow); err != nil {
			return nil, err
		}
	}
	log.Info("referral closed", "status", to, "voided_rewards", voided)
	return map[string]any{"status": to, "voided": voided}, nil
}

// continueReferral starts the execution that carries the referral on; the
// referral itself does not change (it is still in progress).
func (h *Handler) continueReferral(ctx context.Context, in workflow.CompleteInput) (map[string]any, error) {
	next := workflow.NextExecution(in.ReferralID, in.Execution)
	if err := h.Continue(ctx, in.ReferralID, next); err != nil {
		return nil, err
	}
	ev := events.New(events.ReferralContinued, in.ReferralID, events.ActorWorkflow, h.Now()).With("from", in.Execution).With("to", next)
	if err := h.Store.Record(ctx, ev); err != nil {
		return nil, err
	}
	logging.From(ctx, h.Log).Info("referral continues in a new execution", "referral_id", in.ReferralID, "execution", next)
	return map[string]any{"continued_as": next}, nil
}
