package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/workflow"
)

// Store is what the final step writes besides rewards.
type Store interface {
	Transition(ctx context.Context, id string, to referral.Status, now time.Time, set map[string]any, ev events.Event) error
	Record(ctx context.Context, evs ...events.Event) error
	AdvanceExecution(ctx context.Context, id, from, to string) error
	// The referral and its program say what a lost deal does to rewards.
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
}

// Handler closes a referral: completed, lost, expired or rejected. When
// its deal was lost (or refunded) the loss settles the rewards
// (rewards.ApplyLoss: rewards earned before it may be kept, a sale taken
// back is reversed, even on a referral closed as completed because the
// loss came after its last payment); otherwise rewards not paid yet are
// voided when the referral did not complete.
type Handler struct {
	Store   Store
	Rewards *rewards.Service
	Now     func() time.Time
	Log     *slog.Logger
	// Continue starts the execution named name for a referral whose
	// current execution ran out of time.
	Continue func(ctx context.Context, referralID, name string) error
	// Recovery marks a referral needs_attention ("Mark needs attention").
	Recovery Marker
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
	switch in.Outcome {
	case "continue":
		return h.continueReferral(ctx, in)
	case "needs_attention":
		return h.needsAttention(ctx, in)
	}
	to, ok := outcomes[in.Outcome]
	if !ok {
		return nil, workflow.BadInput("complete: unknown outcome %q", in.Outcome)
	}
	now := h.Now()
	ev := events.New(events.ReferralClosed, in.ReferralID, events.ActorWorkflow, now).WithStatus(string(to))
	if err := h.Store.Transition(ctx, in.ReferralID, to, now, map[string]any{"wait_token": "", "review_token": ""}, ev); err != nil {
		return nil, err
	}
	loss, err := h.settle(ctx, in, to)
	if err != nil {
		return nil, err
	}
	log.Info("referral closed", "status", to, "voided_rewards", loss.Voided, "reversed_rewards", loss.Reversed)
	out := map[string]any{"status": to, "voided": loss.Voided}
	if loss.Reversed > 0 {
		out["reversed"] = loss.Reversed
	}
	return out, nil
}

// settle applies the loss of the referral's deal to its rewards, or voids
// the unpaid ones of a referral that did not complete.
func (h *Handler) settle(ctx context.Context, in workflow.CompleteInput, to referral.Status) (rewards.Loss, error) {
	r, err := h.Store.Referral(ctx, in.ReferralID)
	if err != nil {
		return rewards.Loss{}, err
	}
	if r.LostAt != nil {
		p, err := h.Store.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion)
		if err != nil {
			return rewards.Loss{}, err
		}
		return h.Rewards.ApplyLoss(ctx, r, p, events.ActorWorkflow)
	}
	if to == referral.StatusCompleted {
		return rewards.Loss{}, nil
	}
	n, err := h.Rewards.VoidUnpaid(ctx, in.ReferralID, "referral "+in.Outcome, events.ActorWorkflow)
	return rewards.Loss{Voided: n}, err
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
	// Where the referral runs now, for the reconciler and resumes.
	if err := h.Store.AdvanceExecution(ctx, in.ReferralID, in.Execution, next); err != nil {
		return nil, err
	}
	logging.From(ctx, h.Log).Info("referral continues in a new execution", "referral_id", in.ReferralID, "execution", next)
	return map[string]any{"continued_as": next}, nil
}
