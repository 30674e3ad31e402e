package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/rewards"
)

// FailedRewards lists the rewards that failed at their rail and wait for a
// person (the store's FailedRewards).
type FailedRewards interface {
	FailedRewards(ctx context.Context, limit int) ([]rewards.Due, error)
}

// maxFailed bounds the failed rewards one answer lists.
const maxFailed = 500

// FailedList is the answer of GET /admin/rewards/failed.
type FailedList struct {
	Rewards []rewards.Reward `json:"rewards"` // failed at their rail
	// Reversals are paid rewards, reversed in the ledger, whose rail
	// refused to take the payment back: finance recovers it, then says so
	// (POST .../reversal-recovered).
	Reversals []rewards.Reward `json:"reversals"`
}

// payouts serves what a person does about a payout that went wrong:
//
//	GET  /admin/rewards/failed: the rewards their rail refused (oldest first)
//	POST /admin/rewards/{referral_id}/{milestone}/{party}/rearm: retry a
//	     failed reward with a new idempotency key (after its payee's details
//	     were corrected), paid at once
//	POST /admin/rewards/{referral_id}/{milestone}/{party}/void {reason}:
//	     give a failed (or unpaid) reward up, its budget given back
//	POST /admin/rewards/{referral_id}/{milestone}/{party}/reversal-recovered:
//	     a refused reversal's money was recovered outside Referflow
func (h *Handler) payouts(ctx context.Context, req apigw.Request) apigw.Response {
	switch {
	case strings.HasSuffix(req.RouteKey, " /admin/rewards/failed"):
		return h.failed(ctx)
	case strings.HasSuffix(req.RouteKey, "/reversal-recovered"):
		return h.decide(ctx, req, "reversal_recovered", func(rw rewards.Reward) error {
			return h.Rewards.ReversalRecovered(ctx, rw, events.ActorAdmin)
		}, rewards.StatusPaid)
	case strings.HasSuffix(req.RouteKey, "/rearm"):
		return h.decide(ctx, req, "rearm_reward", func(rw rewards.Reward) error {
			// Paid now; an unknown outcome is left to the payouts runner.
			notPaid, err := h.Rewards.Retry(ctx, rw, events.ActorAdmin, h.Store)
			if notPaid != nil {
				logging.From(ctx, h.Log).Warn("re-armed reward not paid yet", "reward_id", rw.ID, "error", notPaid)
			}
			return err
		}, rewards.StatusPaid, rewards.StatusSending, rewards.StatusApproved, rewards.StatusOnHold, rewards.StatusFailed, rewards.StatusVoided)
	}
	var in DeclineRequest
	body, err := apigw.Body(&req)
	if err != nil || len(body) > maxBody || json.Unmarshal(body, &in) != nil || strings.TrimSpace(in.Reason) == "" || len(in.Reason) > maxReason {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the void is not valid",
			map[string]string{"reason": fmt.Sprintf("is required: a JSON object with a reason of at most %d characters", maxReason)})
	}
	return h.decide(ctx, req, "void_reward", func(rw rewards.Reward) error {
		return h.Rewards.Void(ctx, rw, strings.TrimSpace(in.Reason), events.ActorAdmin)
	}, rewards.StatusVoided)
}

// failed answers the rewards waiting for a person after their rail
// refused them, as stored now.
func (h *Handler) failed(ctx context.Context) apigw.Response {
	log := logging.From(ctx, h.Log)
	dues, err := h.Failed.FailedRewards(ctx, maxFailed)
	if err != nil {
		log.Error("list failed rewards", "error", err)
		return apigw.Unavailable()
	}
	out := FailedList{Rewards: []rewards.Reward{}, Reversals: []rewards.Reward{}}
	for _, d := range dues {
		rw, err := h.Store.Reward(ctx, d.ReferralID, d.Milestone, d.Party)
		switch {
		case err != nil:
			continue // erased meanwhile
		case d.Action == rewards.ActionReverse && rw.Status == rewards.StatusPaid:
			out.Reversals = append(out.Reversals, *rw)
		case rw.Status == rewards.StatusFailed:
			out.Rewards = append(out.Rewards, *rw)
		}
	}
	return apigw.JSON(http.StatusOK, out)
}
