package console

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/review"
	"github.com/referflow/referflow/internal/rewards"
)

// maxReason bounds a reason an operator writes.
const maxReason = 1000

// reason reads the posted reason; ok false when it is missing or too long.
func reason(r *Request) (string, bool) {
	v := r.Value("reason")
	return v, v != "" && len(v) <= maxReason
}

// back is where an action returns: the page it was sent from (a console
// path, ?back=), else the referral's page.
func back(r *Request, id, done string) apigw.Response {
	to := r.Value("back")
	if !strings.HasPrefix(to, "/console") || strings.HasPrefix(to, "//") || strings.ContainsAny(to, "?#\\") {
		to = "/console/referrals/" + id
	}
	return SeeOther(to + "?done=" + done)
}

// refused answers an action the referral's state refused (409), audited.
func (h *Handler) refused(r *Request, action, why string, targets ...string) apigw.Response {
	_ = h.audit(r, action, r.Value("reason"), "refused: "+why, targets...)
	return h.ErrorPage(r, http.StatusConflict, "This could not be done", why)
}

// referralAction serves POST /console/referrals/{id}/review|resume|milestone.
func (h *Handler) referralAction(r *Request, id, action string) apigw.Response {
	switch action {
	case "review":
		return h.review(r, id)
	case "resume":
		return h.resume(r, id)
	case "milestone":
		return h.recordMilestone(r, id)
	}
	return h.NotFound(r)
}

// MilestoneRecorder records a milestone by hand: the same operation as
// POST /admin/referrals/{id}/milestones (crm.Ingester.RecordByHand, the
// path a CRM event takes).
type MilestoneRecorder interface {
	RecordByHand(ctx context.Context, id, milestone, reason, actor string) (crm.ByHand, error)
}

// recordMilestone records one of the program's milestones not reached yet
// by hand, with the operator's reason: the workflow goes on as if the CRM
// had reported it.
func (h *Handler) recordMilestone(r *Request, id string) apigw.Response {
	milestone := r.Value("milestone")
	why, ok := reason(r)
	if milestone == "" || !ok {
		return h.ErrorPage(r, http.StatusBadRequest, "A milestone needs a reason", "Go back, choose the milestone and write why you record it by hand (at most 1,000 characters).")
	}
	targets := []string{"referral", id, "milestone", milestone}
	res, err := h.Milestones.RecordByHand(r.Ctx, id, milestone, why, r.Op.Actor())
	switch {
	case isNotFound(err):
		return h.NotFound(r)
	case errors.Is(err, crm.ErrReason):
		return h.ErrorPage(r, http.StatusBadRequest, "A milestone needs a reason", "Go back and write why (at most 1,000 characters).")
	case errors.Is(err, crm.ErrUnknownMilestone):
		return h.ErrorPage(r, http.StatusBadRequest, "No such milestone", "The referral's program has no milestone "+milestone+": go back and choose one from the list.")
	case errors.Is(err, crm.ErrReached):
		return h.refused(r, "referral.milestone", "The milestone "+milestone+" was reached already.", targets...)
	case errors.Is(err, crm.ErrEnded):
		return h.refused(r, "referral.milestone", "The referral is "+string(res.Referral.Status)+": it has ended, its milestones stay as they were.", targets...)
	case err != nil:
		r.Log.Error("record milestone failed", "referral_id", id, "error", err)
		return h.Unavailable(r)
	}
	_ = h.audit(r, "referral.milestone", why, res.Outcome, targets...)
	return back(r, id, "milestone")
}

// review approves or rejects a referral waiting for review: the same
// operation as POST /admin/referrals/{id}/review (review.Decide).
func (h *Handler) review(r *Request, id string) apigw.Response {
	decision := r.Value("decision")
	why, ok := reason(r)
	if (decision != "approve" && decision != "reject") || !ok {
		return h.ErrorPage(r, http.StatusBadRequest, "A decision needs a reason", "Go back, choose approve or reject and write why (at most 1,000 characters).")
	}
	action := "review." + decision
	res, err := review.Decide(r.Ctx, h.Store, h.SFN, id, decision == "approve", why, r.Op.Actor(), h.Now().UTC())
	switch {
	case isNotFound(err):
		return h.NotFound(r)
	case errors.Is(err, review.ErrNotInReview):
		return h.refused(r, action, "The referral is "+string(res.Referral.Status)+": it is not waiting for a review.", "referral", id)
	case errors.Is(err, review.ErrDeadline):
		return h.refused(r, action, "The review deadline passed first: the program's default ("+res.Referral.ReviewOutcome+") applies.", "referral", id)
	case errors.Is(err, review.ErrAlreadyDecided):
		return h.refused(r, action, "The referral was already reviewed: "+res.Referral.ReviewOutcome+".", "referral", id)
	case errors.Is(err, review.ErrMovedOn):
		_ = h.audit(r, action, why, "recorded; applies on resume", "referral", id)
		return h.ErrorPage(r, http.StatusConflict, "The decision is recorded", "The referral moved on before it applied: it applies when the referral is resumed.")
	case err != nil:
		r.Log.Error("review failed", "referral_id", id, "error", err)
		return h.Unavailable(r)
	}
	_ = h.audit(r, action, why, "ok", "referral", id)
	r.Log.Info("reviewed", "referral_id", id, "outcome", res.Outcome, "resumed", res.Resumed)
	return back(r, id, map[bool]string{true: "approved", false: "rejected"}[decision == "approve"])
}

// resume resumes a referral: the same operation as
// POST /admin/referrals/{id}/resume (recovery.Service).
func (h *Handler) resume(r *Request, id string) apigw.Response {
	res, err := h.Resumer.Resume(r.Ctx, id, r.Op.Actor())
	switch {
	case isNotFound(err):
		return h.NotFound(r)
	case errors.Is(err, recovery.ErrNotResumable):
		return h.refused(r, "referral.resume", "The referral is "+string(res.Status)+": it has ended, there is nothing to resume.", "referral", id)
	case err != nil:
		r.Log.Error("resume failed", "referral_id", id, "error", err)
		return h.Unavailable(r)
	}
	_ = h.audit(r, "referral.resume", "", string(res.Action), "referral", id)
	return back(r, id, "resumed")
}

// rewardAction serves POST /console/rewards/{referral}/{milestone}/{party}/approve|decline|rearm|void:
// the same operations as the admin API's (rewards.Service).
func (h *Handler) rewardAction(r *Request) apigw.Response {
	parts := strings.Split(strings.TrimPrefix(r.Path, "/rewards/"), "/")
	if r.Method != http.MethodPost || len(parts) != 4 || !referral.ValidID(parts[0]) || parts[1] == "" ||
		(parts[2] != program.PartyReferrer && parts[2] != program.PartyReferee) {
		return h.NotFound(r)
	}
	id, verb := parts[0], parts[3]
	rw, err := h.Store.Reward(r.Ctx, id, parts[1], parts[2])
	if isNotFound(err) {
		return h.NotFound(r)
	}
	if err != nil {
		r.Log.Error("read reward failed", "error", err)
		return h.Unavailable(r)
	}
	targets := []string{"referral", id, "reward", rw.ID}
	why, hasReason := reason(r)
	if (verb == "decline" || verb == "void") && !hasReason {
		return h.ErrorPage(r, http.StatusBadRequest, "This needs a reason", "Go back and write why (at most 1,000 characters).")
	}
	var done string
	switch verb {
	case "approve":
		err, done = h.approveReward(r, *rw), "reward-approved"
	case "decline":
		err, done = h.Rewards.Decline(r.Ctx, *rw, why, r.Op.Actor()), "reward-declined"
	case "rearm":
		err, done = h.rearm(r, *rw), "rearmed"
	case "void":
		err, done = h.Rewards.Void(r.Ctx, *rw, why, r.Op.Actor()), "voided"
	default:
		return h.NotFound(r)
	}
	action := "reward." + verb
	switch {
	case errors.Is(err, rewards.ErrNotPayable):
		return h.refused(r, action, "The reward is "+string(rw.Status)+": "+rw.StatusReason+".", targets...)
	case errors.Is(err, rewards.ErrApprovalNotRequired):
		return h.refused(r, action, "The reward does not need approval: the workflow pays it after its holding period.", targets...)
	case errors.Is(err, rewards.ErrDealLost):
		return h.refused(r, action, "The referral's deal was lost or refunded: the reward is not paid.", targets...)
	case err != nil:
		r.Log.Error(action+" failed", "reward_id", rw.ID, "error", err)
		return h.Unavailable(r)
	}
	_ = h.audit(r, action, why, "ok", targets...)
	return back(r, id, done)
}

// approveReward approves a reward needing a person's approval (the deal
// is checked again when it is paid).
func (h *Handler) approveReward(r *Request, rw rewards.Reward) error {
	ref, err := h.Store.Referral(r.Ctx, rw.ReferralID)
	if err != nil {
		return err
	}
	p, err := h.Store.ProgramVersion(r.Ctx, ref.ProgramID, ref.ProgramVersion)
	if err != nil {
		return err
	}
	return h.Rewards.Approve(r.Ctx, ref, p, rw, r.Op.Actor())
}

// rearm re-arms a failed reward and pays it at once, as the admin API
// does; an unknown outcome is left to the payouts runner.
func (h *Handler) rearm(r *Request, rw rewards.Reward) error {
	notPaid, err := h.Rewards.Retry(r.Ctx, rw, r.Op.Actor(), h.Store)
	if notPaid != nil {
		r.Log.Warn("re-armed reward not paid yet", "reward_id", rw.ID, "error", notPaid)
	}
	return err
}
