package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/workflow"
)

// Store is what the reward steps read besides rewards.
type Store interface {
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
}

// Handler runs "Put rewards on hold" (step hold: compute and record the
// milestone's rewards) and "Pay rewards" (step pay: after the holding
// period, pay them exactly once, each payment checking in its own
// transaction that the deal is still open, or void them when the deal was
// lost meanwhile). The rewards package does the work; this maps it to the
// workflow's payloads and errors.
type Handler struct {
	Store   Store
	Rewards *rewards.Service
	Log     *slog.Logger
	Metrics *metrics.Emitter // nil discards
}

// Handle runs one step; repeating it changes nothing.
func (h *Handler) Handle(ctx context.Context, in workflow.RewardsInput) (workflow.RewardsOutput, error) {
	out := workflow.RewardsOutput{ReferralID: in.ReferralID, Milestone: in.Milestone, RewardIDs: []string{}}
	r, err := h.Store.Referral(ctx, in.ReferralID)
	if err != nil {
		return out, err
	}
	log := logging.From(ctx, h.Log).With("referral_id", r.ID, "milestone", in.Milestone, "step", in.Step)
	switch in.Step {
	case "hold":
		p, err := h.Store.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion)
		if err != nil {
			return out, err
		}
		held, err := h.Rewards.Hold(ctx, r, p, in.Milestone)
		if errors.Is(err, rewards.ErrDealLost) {
			return out, workflow.Fail(workflow.ErrLost, "the deal was "+r.LostReason+" before rewards were computed")
		}
		if err != nil {
			return out, err
		}
		for _, rw := range held.Rewards {
			out.RewardIDs = append(out.RewardIDs, rw.ID)
		}
		out.Held, out.HoldSecondsLeft = held.OnHold, held.HoldSecondsLeft
		log.Info("rewards recorded", "rewards", len(held.Rewards), "on_hold", out.Held, "hold_seconds_left", out.HoldSecondsLeft)
		return out, nil
	case "pay":
		p, err := h.Store.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion)
		if err != nil {
			return out, err
		}
		paid, err := h.Rewards.Pay(ctx, r, p, in.Milestone)
		out.Voided = paid.Voided
		var lost *rewards.LostError
		if errors.As(err, &lost) {
			log.Info("rewards voided; deal lost during hold", "voided", out.Voided, "lost", lost.Reason)
			return out, workflow.Fail(workflow.ErrLost, "the deal was "+lost.Reason+" during the holding period")
		}
		if err != nil {
			return out, err
		}
		for _, rw := range paid.Rewards {
			out.RewardIDs = append(out.RewardIDs, rw.ID)
		}
		for _, rw := range paid.Paid {
			out.Paid++
			h.Metrics.Count("RewardsPaid", 1, "program", rw.ProgramID, "party", rw.Party, "currency", rw.Currency)
		}
		log.Info("rewards paid", "paid", out.Paid)
		return out, nil
	}
	return out, workflow.BadInput("rewards: unknown step %q", in.Step)
}
