package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/referflow/referflow/internal/ledger"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

// Store is what the final step writes.
type Store interface {
	Transition(ctx context.Context, id string, to referral.Status, now time.Time, set map[string]any) (*referral.Referral, error)
	Rewards(ctx context.Context, referralID string) ([]ledger.Reward, error)
	SetRewardStatus(ctx context.Context, r ledger.Reward, from []ledger.Status, to ledger.Status, reason string, now time.Time) (bool, error)
	AddActivity(ctx context.Context, referralID string, acts ...store.Activity) error
}

// Handler closes a referral: completed, lost, expired or rejected. Rewards
// not paid yet are voided when the referral did not complete.
type Handler struct {
	Store Store
	Now   func() time.Time
	Log   *slog.Logger
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

var details = map[string]string{
	"completed": "Referral completed: every milestone reached and its rewards paid",
	"lost":      "Deal lost in the CRM: the referral ended",
	"expired":   "A milestone deadline passed: the referral expired",
	"rejected":  "Referral rejected",
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
	before, err := h.Store.Transition(ctx, in.ReferralID, to, now, map[string]any{"wait_token": "", "review_token": ""})
	if err != nil {
		return nil, err
	}
	voided := 0
	if to != referral.StatusCompleted {
		rewards, err := h.Store.Rewards(ctx, in.ReferralID)
		if err != nil {
			return nil, err
		}
		for _, rw := range rewards {
			if !rw.Status.Payable() {
				continue
			}
			changed, err := h.Store.SetRewardStatus(ctx, rw, []ledger.Status{ledger.StatusPending, ledger.StatusOnHold, ledger.StatusApproved}, ledger.StatusVoided, "referral "+in.Outcome, now)
			if err != nil {
				return nil, err
			}
			if changed {
				voided++
				if err := h.Store.AddActivity(ctx, in.ReferralID, store.Activity{At: now, Type: "reward", Actor: "workflow",
					Detail: "Reward " + rw.ID + " voided: referral " + in.Outcome, Data: map[string]string{"reward_id": rw.ID, "status": string(ledger.StatusVoided)}}); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := h.Store.AddActivity(ctx, in.ReferralID, store.Activity{At: now, Type: "closed", Actor: "workflow", Detail: details[in.Outcome], Data: map[string]string{"status": string(to)}}); err != nil {
		return nil, err
	}
	log.Info("referral closed", "status", to, "voided_rewards", voided, "was", before.Status)
	return map[string]any{"status": to, "voided": voided}, nil
}

// continueReferral starts the execution that carries the referral on; the
// referral itself does not change (it is still in progress).
func (h *Handler) continueReferral(ctx context.Context, in workflow.CompleteInput) (map[string]any, error) {
	next := workflow.NextExecution(in.ReferralID, in.Execution)
	if err := h.Continue(ctx, in.ReferralID, next); err != nil {
		return nil, err
	}
	if err := h.Store.AddActivity(ctx, in.ReferralID, store.Activity{At: h.Now(), Type: "continued", Actor: "workflow",
		Detail: "The next deadline lies beyond this execution's year: the referral continues in execution " + next,
		Data:   map[string]string{"from": in.Execution, "to": next}}); err != nil {
		return nil, err
	}
	logging.From(ctx, h.Log).Info("referral continues in a new execution", "referral_id", in.ReferralID, "execution", next)
	return map[string]any{"continued_as": next}, nil
}
