package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/referral"
)

// Milestones records a milestone by hand (crm.Ingester.RecordByHand: the
// path a CRM event takes; the console calls the same).
type Milestones interface {
	RecordByHand(ctx context.Context, id, milestone, reason, actor string) (crm.ByHand, error)
}

// MilestoneRequest is the body of POST /admin/referrals/{id}/milestones.
type MilestoneRequest struct {
	Milestone string `json:"milestone"`
	Reason    string `json:"reason"`
}

// MilestoneAnswer is the answer: the referral's milestones after it, and
// whether this call recorded it (false: it had been recorded by hand before).
type MilestoneAnswer struct {
	ReferralID string      `json:"referral_id"`
	Milestone  string      `json:"milestone"`
	Status     string      `json:"status"`
	Recorded   bool        `json:"recorded"`
	Milestones []Milestone `json:"milestones"`
}

// milestone serves POST /admin/referrals/{id}/milestones: one of the
// program's milestones not reached yet is recorded by hand, with the
// reason, and the referral's workflow goes on as if the CRM had reported
// it. Repeating the call changes nothing.
func (h *Handler) milestone(ctx context.Context, req apigw.Request) apigw.Response {
	id := req.PathParameters["id"]
	log := logging.From(ctx, h.Log).With("referral_id", id, "route", "record_milestone")
	var in MilestoneRequest
	if resp, ok := readJSON(&req, &in, "a JSON object with milestone and reason"); !ok {
		return resp
	}
	bad := map[string]string{}
	if strings.TrimSpace(in.Milestone) == "" {
		bad["milestone"] = "is required"
	}
	if r := strings.TrimSpace(in.Reason); r == "" || len([]rune(r)) > crm.MaxReason {
		bad["reason"] = fmt.Sprintf("is required, at most %d characters", crm.MaxReason)
	}
	if len(bad) > 0 {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the milestone is not valid", bad)
	}
	if _, fail := h.load(ctx, log, id); fail != nil {
		return *fail
	}
	res, err := h.Milestones.RecordByHand(ctx, id, in.Milestone, in.Reason, events.ActorAdmin)
	switch {
	case errors.Is(err, referral.ErrNotFound):
		return notFound("referral")
	case errors.Is(err, crm.ErrUnknownMilestone):
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the milestone is not valid", map[string]string{"milestone": "is not a milestone of the referral's program"})
	case errors.Is(err, crm.ErrReached):
		return apigw.Error(http.StatusConflict, "milestone_reached", "the milestone was reached already", nil)
	case errors.Is(err, crm.ErrEnded):
		return apigw.Error(http.StatusConflict, "referral_ended", "the referral is "+string(res.Referral.Status)+": it has ended, its milestones stay as they were", nil)
	case err != nil:
		// What was recorded stays; a repeat of this call finishes it.
		log.Error("record milestone failed", "error", err)
		return apigw.Unavailable()
	}
	log.Info("milestone recorded by hand", "milestone", in.Milestone, "outcome", res.Outcome)
	ans := MilestoneAnswer{ReferralID: id, Milestone: strings.TrimSpace(in.Milestone), Status: string(res.Referral.Status),
		Recorded: res.Outcome == crm.OutcomeMilestone, Milestones: []Milestone{}}
	for name, at := range res.Referral.Milestones {
		at := at.UTC()
		ans.Milestones = append(ans.Milestones, Milestone{Name: name, ReachedAt: &at})
	}
	sortMilestones(ans.Milestones)
	return apigw.JSON(http.StatusOK, ans)
}

// sortMilestones orders milestones by when they were reached, then name.
func sortMilestones(ms []Milestone) {
	sort.Slice(ms, func(i, j int) bool {
		if a, b := *ms[i].ReachedAt, *ms[j].ReachedAt; !a.Equal(b) {
			return a.Before(b)
		}
		return ms[i].Name < ms[j].Name
	})
}
