package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/activity"
	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/review"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

// Store is what the admin API reads and writes besides the rewards
// lifecycle.
type Store interface {
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
	Rewards(ctx context.Context, referralID string) ([]rewards.Reward, error)
	Reward(ctx context.Context, referralID, milestone, party string) (*rewards.Reward, error)
	Events(ctx context.Context, referralID string) ([]events.Event, error)
	RecordReview(ctx context.Context, id, outcome, note string, now time.Time) (*workflow.Waiting, bool, error)
	Transition(ctx context.Context, id string, to referral.Status, now time.Time, set map[string]any, ev events.Event) error
}

// Handler serves the admin routes (IAM-authorised on AWS; the function
// itself does no authentication):
//
//	GET  /admin/referrals/{id}
//	POST /admin/referrals/{id}/review
//	POST /admin/referrals/{id}/resume (resume.go)
//	POST /admin/referrals/{id}/milestones (milestones.go)
//	POST /admin/rewards/{referral_id}/{milestone}/{party}/approve
//	POST /admin/rewards/{referral_id}/{milestone}/{party}/decline
//	POST /admin/rewards/{referral_id}/{milestone}/{party}/rearm|void|reversal-recovered, GET /admin/rewards/failed (payouts.go)
//	POST /admin/people/erase (erase.go)
//	/admin/webhooks... (webhooks.go)
//	/admin/partners... (partners.go)
//	PUT|GET|DELETE /admin/partners/{program}/{code}/payee, /admin/referrals/{id}/payee (payees.go)
//	/admin/programs/{program}/balances, /admin/partners/{program}/{code}/balance,
//	/admin/payout-batches..., /admin/reconciliation (finance.go)
//	GET  /admin/kpis (kpis.go)
//	GET  /admin/feedback (feedback.go)
//	POST /admin/programs/{program}/experiment/end (experiments.go)
type Handler struct {
	Store   Store
	People  People // erases a person's personal data
	Rewards *rewards.Service
	SFN     workflow.SFN
	Resumer Resumer // resumes referrals (resume.go)
	// Milestones records a milestone by hand (milestones.go).
	Milestones Milestones
	// Webhooks registers outbound webhook endpoints and replays their
	// deliveries (webhooks.go).
	Webhooks Webhooks
	// Partners invites, lists, approves, disables, enables partners and
	// changes their codes (partners.go).
	Partners Partners
	// Payees records who partners and referees are paid to (payees.go).
	Payees Payees
	// Failed lists the rewards their rail refused (payouts.go).
	Failed FailedRewards
	// Finance: balances, payout batches, reconciliation (finance.go).
	Finance Finance
	// KPIs: GET /admin/kpis (kpis.go).
	KPIs KPIs
	// Feedback: partners' scores and comments, GET /admin/feedback (feedback.go).
	Feedback FeedbackStore
	// Programs: ending an experiment publishes the program's next version
	// (experiments.go).
	Programs program.Publisher
	Now      func() time.Time
	Log      *slog.Logger
}

// maxBody bounds request bodies.
const maxBody = 16 << 10

// Handle routes one request by its route key.
func (h *Handler) Handle(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	switch {
	case strings.HasSuffix(req.RouteKey, "GET /admin/kpis"):
		return h.kpis(ctx, req), nil // kpis.go
	case req.RouteKey == "GET /admin/feedback":
		return h.feedback(ctx, req), nil // feedback.go
	case isExperimentRoute(req.RouteKey):
		return h.endExperiment(ctx, req), nil // experiments.go
	case isFinanceRoute(req.RouteKey):
		return h.finance(ctx, req), nil // finance.go
	case strings.HasSuffix(req.RouteKey, "/payee"):
		return h.payee(ctx, req), nil // payees.go
	case strings.Contains(req.RouteKey, " /admin/webhooks"):
		return h.webhooks(ctx, req), nil // webhooks.go
	case strings.Contains(req.RouteKey, " /admin/partners"):
		return h.partners(ctx, req), nil // partners.go
	case req.RequestContext.HTTP.Method == http.MethodGet && strings.HasSuffix(req.RouteKey, "/admin/referrals/{id}"):
		return h.referral(ctx, req), nil
	case req.RequestContext.HTTP.Method == http.MethodPost && strings.HasSuffix(req.RouteKey, "/admin/referrals/{id}/review"):
		return h.review(ctx, req), nil
	case req.RequestContext.HTTP.Method == http.MethodPost && strings.HasSuffix(req.RouteKey, "/admin/referrals/{id}/resume"):
		return h.resume(ctx, req), nil
	case req.RequestContext.HTTP.Method == http.MethodPost && strings.HasSuffix(req.RouteKey, "/admin/referrals/{id}/milestones"):
		return h.milestone(ctx, req), nil // milestones.go
	case strings.HasSuffix(req.RouteKey, "/rearm"), strings.HasSuffix(req.RouteKey, "/void"), strings.HasSuffix(req.RouteKey, "/reversal-recovered"),
		strings.HasSuffix(req.RouteKey, " /admin/rewards/failed"):
		return h.payouts(ctx, req), nil // payouts.go
	case req.RequestContext.HTTP.Method == http.MethodPost && strings.HasSuffix(req.RouteKey, "/approve"):
		return h.approve(ctx, req), nil
	case req.RequestContext.HTTP.Method == http.MethodPost && strings.HasSuffix(req.RouteKey, "/decline"):
		return h.decline(ctx, req), nil
	case req.RequestContext.HTTP.Method == http.MethodPost && strings.HasSuffix(req.RouteKey, "/admin/people/erase"):
		return h.erase(ctx, req), nil
	}
	return apigw.Error(http.StatusNotFound, "not_found", "no such admin route", nil), nil
}

// ReferralView is the admin view of a referral: everything, personal data
// included.
type ReferralView struct {
	ReferralID     string            `json:"referral_id"`
	Program        string            `json:"program"`
	ProgramVersion int               `json:"program_version"`
	Status         string            `json:"status"`
	ReferrerCode   string            `json:"referrer_code"`
	Experiment     string            `json:"experiment,omitempty"` // the reward experiment it was assigned to, if any
	Variant        string            `json:"variant,omitempty"`    // its variant in that experiment
	Referee        Referee           `json:"referee"`
	Decision       string            `json:"decision,omitempty"`
	Reasons        []referral.Reason `json:"reasons"`
	Review         *Review           `json:"review,omitempty"`
	Attention      *Attention        `json:"attention,omitempty"` // why it needs attention (resume.go)
	Milestones     []Milestone       `json:"milestones"`
	Deal           Deal              `json:"deal"`
	Rewards        []rewards.Reward  `json:"rewards"`
	Activity       []activity.Line   `json:"activity"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

// Referee is the referred person and company.
type Referee struct {
	Email     string `json:"email"`
	Name      string `json:"name,omitempty"`
	Company   string `json:"company"`
	Domain    string `json:"domain,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Message   string `json:"message,omitempty"`
	Country   string `json:"country,omitempty"`
	Industry  string `json:"industry,omitempty"`
	Employees int    `json:"employees,omitempty"`
}

// Review is the manual review decision.
type Review struct {
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
}

// Milestone is a program milestone and when the referral reached it.
type Milestone struct {
	Name      string     `json:"name"`
	ReachedAt *time.Time `json:"reached_at"`
	// ByHand says who recorded it by hand and why, when a person did.
	ByHand *referral.MilestoneNote `json:"recorded_by_hand,omitempty"`
}

// Deal is what the CRM told about the referral's deal.
type Deal struct {
	Provider    string     `json:"provider,omitempty"`
	RecordID    string     `json:"record_id,omitempty"`
	AmountMinor int64      `json:"amount_minor,omitempty"`
	Currency    string     `json:"currency,omitempty"`
	LostAt      *time.Time `json:"lost_at,omitempty"`
	LostReason  string     `json:"lost_reason,omitempty"`
}

func notFound(what string) apigw.Response {
	return apigw.Error(http.StatusNotFound, "not_found", "no "+what+" with this id", nil)
}

// load reads a referral, answering 404 for a malformed or unknown id.
func (h *Handler) load(ctx context.Context, log *slog.Logger, id string) (*referral.Referral, *apigw.Response) {
	if !referral.ValidID(id) {
		r := notFound("referral")
		return nil, &r
	}
	r, err := h.Store.Referral(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		resp := notFound("referral")
		return nil, &resp
	}
	if err != nil {
		log.Error("read referral failed", "error", err)
		resp := apigw.Unavailable()
		return nil, &resp
	}
	return r, nil
}

func (h *Handler) referral(ctx context.Context, req apigw.Request) apigw.Response {
	id := req.PathParameters["id"]
	log := logging.From(ctx, h.Log).With("referral_id", id, "route", "get_referral")
	r, fail := h.load(ctx, log, id)
	if fail != nil {
		return *fail
	}
	v, err := h.view(ctx, r)
	if err != nil {
		log.Error("read referral details failed", "error", err)
		return apigw.Unavailable()
	}
	return apigw.JSON(http.StatusOK, v)
}

func (h *Handler) view(ctx context.Context, r *referral.Referral) (*ReferralView, error) {
	v := &ReferralView{
		ReferralID: r.ID, Program: r.ProgramID, ProgramVersion: r.ProgramVersion, Status: string(r.Status),
		ReferrerCode: r.ReferrerCode, Experiment: r.Experiment, Variant: r.Variant,
		Decision: r.Decision, Reasons: r.Reasons, Attention: r.Attention,
		Referee: Referee{Email: r.RefereeEmail, Name: r.RefereeName, Company: r.RefereeCompany, Domain: r.RefereeDomain,
			Phone: r.RefereePhone, Message: r.Message, Country: r.Country, Industry: r.Industry, Employees: r.Employees},
		Deal: Deal{Provider: r.CRMProvider, RecordID: r.CRMRecordID, AmountMinor: r.DealAmountMinor, Currency: r.DealCurrency,
			LostAt: r.LostAt, LostReason: r.LostReason},
		Milestones: []Milestone{}, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if v.Reasons == nil {
		v.Reasons = []referral.Reason{}
	}
	if r.ReviewOutcome != "" {
		v.Review = &Review{Outcome: r.ReviewOutcome, Reason: r.ReviewNote}
	}
	if p, err := h.Store.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion); err == nil {
		for _, m := range p.Milestones {
			ms := Milestone{Name: m.Name, ByHand: r.HandNote(m.Name)}
			if at, ok := r.Milestones[m.Name]; ok {
				ms.ReachedAt = &at
			}
			v.Milestones = append(v.Milestones, ms)
		}
	} else {
		for name, at := range r.Milestones {
			v.Milestones = append(v.Milestones, Milestone{Name: name, ReachedAt: &at})
		}
	}
	var err error
	if v.Rewards, err = h.Store.Rewards(ctx, r.ID); err != nil {
		return nil, err
	}
	evs, err := h.Store.Events(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	v.Activity = activity.WithNotes(activity.Log(evs), r.HandNotes)
	if v.Rewards == nil {
		v.Rewards = []rewards.Reward{}
	}
	return v, nil
}

// ReviewRequest is the body of POST /admin/referrals/{id}/review.
type ReviewRequest struct {
	Decision string `json:"decision"` // "approve" or "reject"
	Reason   string `json:"reason"`
}

// ReviewAnswer is the answer to a review.
type ReviewAnswer struct {
	ReferralID string `json:"referral_id"`
	Status     string `json:"status"`
	Outcome    string `json:"outcome"` // approved or rejected
	Reason     string `json:"reason"`
	// Resumed: the waiting workflow was resumed by this call (false when it
	// was not waiting yet: it resumes itself when its wait begins).
	Resumed bool `json:"resumed"`
}

const maxReason = 1000

func decodeReview(body []byte) (ReviewRequest, map[string]string) {
	var in ReviewRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(&in); err != nil {
		return in, map[string]string{"body": "must be a JSON object with decision and reason"}
	}
	bad := map[string]string{}
	switch in.Decision {
	case "approve", "reject":
	case "":
		bad["decision"] = "is required (approve or reject)"
	default:
		bad["decision"] = "must be approve or reject"
	}
	in.Reason = strings.TrimSpace(in.Reason)
	switch {
	case in.Reason == "":
		bad["reason"] = "is required"
	case len(in.Reason) > maxReason:
		bad["reason"] = fmt.Sprintf("must be at most %d characters", maxReason)
	}
	if len(bad) > 0 {
		return in, bad
	}
	return in, nil
}

func (h *Handler) review(ctx context.Context, req apigw.Request) apigw.Response {
	id := req.PathParameters["id"]
	log := logging.From(ctx, h.Log).With("referral_id", id, "route", "review")
	body, err := apigw.Body(&req)
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", err.Error(), nil)
	}
	if len(body) > maxBody {
		return apigw.TooLarge(maxBody)
	}
	in, bad := decodeReview(body)
	if bad != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the review is not valid", bad)
	}
	r, fail := h.load(ctx, log, id)
	if fail != nil {
		return *fail
	}
	res, err := review.Decide(ctx, h.Store, h.SFN, r.ID, in.Decision == "approve", in.Reason, events.ActorAdmin, h.Now().UTC())
	switch {
	case errors.Is(err, review.ErrNotInReview):
		return apigw.Error(http.StatusConflict, "not_in_review", "the referral is "+string(res.Referral.Status)+", not waiting for a review", nil)
	case errors.Is(err, review.ErrDeadline):
		return apigw.Error(http.StatusConflict, "not_in_review", "the review deadline passed first: the program's default ("+res.Referral.ReviewOutcome+") applies", nil)
	case errors.Is(err, review.ErrAlreadyDecided):
		return apigw.Error(http.StatusConflict, "already_reviewed", "the referral was already reviewed: "+res.Referral.ReviewOutcome, nil)
	case errors.Is(err, review.ErrMovedOn):
		return apigw.Error(http.StatusConflict, "not_in_review", "the decision is recorded, but the referral moved on before it applied: it applies when the referral is resumed", nil)
	case err != nil:
		// The decision may be stored; a repeat of this call finishes it.
		log.Error("review failed", "error", err)
		return apigw.Unavailable()
	}
	log.Info("reviewed", "outcome", res.Outcome, "resumed", res.Resumed, "first", res.First)
	return apigw.JSON(http.StatusOK, ReviewAnswer{ReferralID: r.ID, Status: string(res.Status), Outcome: res.Outcome, Reason: res.Referral.ReviewNote, Resumed: res.Resumed})
}

func (h *Handler) approve(ctx context.Context, req apigw.Request) apigw.Response {
	return h.decide(ctx, req, "approve_reward", func(rw rewards.Reward) error {
		// The deal is checked again when the reward is paid (rewards.Approve).
		r, err := h.Store.Referral(ctx, rw.ReferralID)
		if err != nil {
			return err
		}
		p, err := h.Store.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion)
		if err != nil {
			return err
		}
		return h.Rewards.Approve(ctx, r, p, rw, events.ActorAdmin)
	}, rewards.StatusPaid, rewards.StatusApproved, rewards.StatusSending, rewards.StatusFailed, rewards.StatusOnHold)
}

// DeclineRequest is the body of POST .../decline.
type DeclineRequest struct {
	Reason string `json:"reason"`
}

func (h *Handler) decline(ctx context.Context, req apigw.Request) apigw.Response {
	body, err := apigw.Body(&req)
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", err.Error(), nil)
	}
	if len(body) > maxBody {
		return apigw.TooLarge(maxBody)
	}
	var in DeclineRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the decline is not valid", map[string]string{"body": "must be a JSON object with a reason"})
	}
	switch in.Reason = strings.TrimSpace(in.Reason); {
	case in.Reason == "":
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the decline is not valid", map[string]string{"reason": "is required"})
	case len(in.Reason) > maxReason:
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the decline is not valid", map[string]string{"reason": fmt.Sprintf("must be at most %d characters", maxReason)})
	}
	return h.decide(ctx, req, "decline_reward", func(rw rewards.Reward) error {
		return h.Rewards.Decline(ctx, rw, in.Reason, events.ActorAdmin)
	}, rewards.StatusVoided)
}

// decide applies a person's decision on the reward the path names and
// answers the reward as it is afterwards, which must be in one of want
// (409 not_payable otherwise: it moved on meanwhile).
func (h *Handler) decide(ctx context.Context, req apigw.Request, route string, apply func(rewards.Reward) error, want ...rewards.Status) apigw.Response {
	id, milestone, party := req.PathParameters["referral_id"], req.PathParameters["milestone"], req.PathParameters["party"]
	log := logging.From(ctx, h.Log).With("referral_id", id, "milestone", milestone, "party", party, "route", route)
	if !referral.ValidID(id) || milestone == "" || (party != program.PartyReferrer && party != program.PartyReferee) {
		return notFound("reward")
	}
	rw, err := h.Store.Reward(ctx, id, milestone, party)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("reward")
	}
	if err != nil {
		log.Error("read reward failed", "error", err)
		return apigw.Unavailable()
	}
	switch err := apply(*rw); {
	case errors.Is(err, rewards.ErrNotPayable):
		return apigw.Error(http.StatusConflict, "not_payable", "the reward is "+string(rw.Status)+": "+rw.StatusReason, nil)
	case errors.Is(err, rewards.ErrApprovalNotRequired):
		return apigw.Error(http.StatusConflict, "approval_not_required", "the reward is paid by the workflow after its holding period", nil)
	case errors.Is(err, rewards.ErrDealLost):
		return apigw.Error(http.StatusConflict, "not_payable", "the referral's deal was lost or refunded: the reward is not paid", nil)
	case err != nil:
		log.Error(route+" failed", "error", err)
		return apigw.Unavailable()
	}
	after, err := h.Store.Reward(ctx, id, milestone, party)
	if err != nil {
		log.Error("read reward failed", "error", err)
		return apigw.Unavailable()
	}
	if !slices.Contains(want, after.Status) {
		return apigw.Error(http.StatusConflict, "not_payable", "the reward is "+string(after.Status)+": "+after.StatusReason, nil)
	}
	return apigw.JSON(http.StatusOK, after)
}
