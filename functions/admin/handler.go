package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/ledger"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

// Store is what the admin API reads and writes.
type Store interface {
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
	Rewards(ctx context.Context, referralID string) ([]ledger.Reward, error)
	Reward(ctx context.Context, referralID, milestone, party string) (*ledger.Reward, error)
	ActivityLog(ctx context.Context, referralID string) ([]store.Activity, error)
	RecordReview(ctx context.Context, id, outcome, note string, now time.Time) (*referral.Referral, bool, error)
	Transition(ctx context.Context, id string, to referral.Status, now time.Time, set map[string]any) (*referral.Referral, error)
	AddActivity(ctx context.Context, referralID string, acts ...store.Activity) error
	SetRewardStatus(ctx context.Context, r ledger.Reward, from []ledger.Status, to ledger.Status, reason string, now time.Time) (bool, error)
	PayToLedger(ctx context.Context, r ledger.Reward, e ledger.Entry, act store.Activity, now time.Time) (bool, error)
}

// Handler serves the admin routes (IAM-authorised on AWS; the function
// itself does no authentication):
//
//	GET  /admin/referrals/{id}
//	POST /admin/referrals/{id}/review
//	POST /admin/rewards/{referral_id}/{milestone}/{party}/approve
type Handler struct {
	Store Store
	SFN   workflow.SFN
	Now   func() time.Time
	Log   *slog.Logger
}

// maxBody bounds request bodies.
const maxBody = 16 << 10

// Handle routes one request by its route key.
func (h *Handler) Handle(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	switch {
	case req.RequestContext.HTTP.Method == http.MethodGet && strings.HasSuffix(req.RouteKey, "/admin/referrals/{id}"):
		return h.referral(ctx, req), nil
	case req.RequestContext.HTTP.Method == http.MethodPost && strings.HasSuffix(req.RouteKey, "/admin/referrals/{id}/review"):
		return h.review(ctx, req), nil
	case req.RequestContext.HTTP.Method == http.MethodPost && strings.HasSuffix(req.RouteKey, "/approve"):
		return h.approve(ctx, req), nil
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
	Referee        Referee           `json:"referee"`
	Decision       string            `json:"decision,omitempty"`
	Reasons        []referral.Reason `json:"reasons"`
	Review         *Review           `json:"review,omitempty"`
	Milestones     []Milestone       `json:"milestones"`
	Deal           Deal              `json:"deal"`
	Rewards        []ledger.Reward   `json:"rewards"`
	Activity       []store.Activity  `json:"activity"`
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
		ReferrerCode: r.ReferrerCode, Decision: r.Decision, Reasons: r.Reasons,
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
			ms := Milestone{Name: m.Name}
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
	if v.Activity, err = h.Store.ActivityLog(ctx, r.ID); err != nil {
		return nil, err
	}
	if v.Rewards == nil {
		v.Rewards = []ledger.Reward{}
	}
	if v.Activity == nil {
		v.Activity = []store.Activity{}
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
	outcome, to := workflow.Approved, referral.StatusInProgress
	if in.Decision == "reject" {
		outcome, to = workflow.Rejected, referral.StatusRejected
	}
	now := h.Now().UTC()
	r, decided, err := h.Store.RecordReview(ctx, r.ID, outcome, in.Reason, now)
	if err != nil {
		log.Error("record review failed", "error", err)
		return apigw.Unavailable()
	}
	switch {
	case !decided && r.ReviewOutcome == "":
		return apigw.Error(http.StatusConflict, "not_in_review", "the referral is "+string(r.Status)+", not waiting for a review", nil)
	case !decided && r.ReviewOutcome != outcome:
		return apigw.Error(http.StatusConflict, "already_reviewed", "the referral was already reviewed: "+r.ReviewOutcome, nil)
	}
	// Decided now, or the same decision repeated: make sure it is applied
	// (every step below is idempotent, so a repeat finishes a cut-short one).
	if _, err := h.Store.Transition(ctx, r.ID, to, now, map[string]any{"decision": outcome}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return apigw.Error(http.StatusConflict, "not_in_review", "the referral moved on before the decision applied", nil)
		}
		log.Error("apply review failed", "error", err)
		return apigw.Unavailable()
	}
	if decided {
		if err := h.Store.AddActivity(ctx, r.ID, store.Activity{At: now, Type: "review", Actor: "admin",
			Detail: "Manual review: " + outcome + " by an admin: " + in.Reason,
			Data:   map[string]string{"outcome": outcome, "by": "admin"}}); err != nil {
			log.Error("activity failed", "error", err)
			return apigw.Unavailable()
		}
	}
	resumed, err := workflow.ResumeReview(ctx, h.SFN, r)
	if err != nil {
		// The decision is stored; a repeat of this call resumes.
		log.Error("resume review failed", "error", err)
		return apigw.Unavailable()
	}
	log.Info("reviewed", "outcome", outcome, "resumed", resumed, "first", decided)
	return apigw.JSON(http.StatusOK, ReviewAnswer{ReferralID: r.ID, Status: string(to), Outcome: outcome, Reason: r.ReviewNote, Resumed: resumed})
}

func (h *Handler) approve(ctx context.Context, req apigw.Request) apigw.Response {
	id, milestone, party := req.PathParameters["referral_id"], req.PathParameters["milestone"], req.PathParameters["party"]
	log := logging.From(ctx, h.Log).With("referral_id", id, "milestone", milestone, "party", party, "route", "approve_reward")
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
	now := h.Now().UTC()
	switch {
	case rw.Status == ledger.StatusPaid:
		return apigw.JSON(http.StatusOK, rw) // paid already: a repeat changes nothing
	case !rw.Status.Payable():
		return apigw.Error(http.StatusConflict, "not_payable", "the reward is "+string(rw.Status)+": "+rw.StatusReason, nil)
	case !rw.NeedsApproval:
		return apigw.Error(http.StatusConflict, "approval_not_required", "the reward is paid by the workflow after its holding period", nil)
	case now.Before(rw.HoldUntil):
		// Still in its holding period: approve it; the workflow pays it when
		// the hold ends (or voids it if the deal is lost meanwhile).
		changed, err := h.Store.SetRewardStatus(ctx, *rw, []ledger.Status{ledger.StatusPending, ledger.StatusOnHold}, ledger.StatusApproved, "approved by an admin", now)
		if err != nil {
			log.Error("approve reward failed", "error", err)
			return apigw.Unavailable()
		}
		if changed {
			if err := h.Store.AddActivity(ctx, id, store.Activity{At: now, Type: "reward", Actor: "admin",
				Detail: "Reward " + rw.ID + " approved by an admin; paid when its holding period ends",
				Data:   map[string]string{"reward_id": rw.ID, "status": string(ledger.StatusApproved)}}); err != nil {
				log.Error("activity failed", "error", err)
				return apigw.Unavailable()
			}
		}
	default:
		detail := fmt.Sprintf("Reward %s approved by an admin and paid to the ledger: %s %s to the %s", rw.ID, ledger.FormatMinor(rw.AmountMinor, rw.Currency), rw.Currency, rw.Party)
		if len(rw.Reserved) == 0 && rw.StatusReason != "" && rw.StatusReason != "awaiting approval" {
			detail += " (an override: it did not fit the program's limits: " + rw.StatusReason + ")"
		}
		paid, err := h.Store.PayToLedger(ctx, *rw, ledger.PayableEntry(*rw, now), store.Activity{At: now, Type: "reward", Actor: "admin",
			Detail: detail, Data: map[string]string{"reward_id": rw.ID, "status": string(ledger.StatusPaid)}}, now)
		if err != nil {
			log.Error("pay reward failed", "error", err)
			return apigw.Unavailable()
		}
		log.Info("reward approved", "paid", paid)
	}
	after, err := h.Store.Reward(ctx, id, milestone, party)
	if err != nil {
		log.Error("read reward failed", "error", err)
		return apigw.Unavailable()
	}
	if after.Status != ledger.StatusPaid && after.Status != ledger.StatusApproved {
		return apigw.Error(http.StatusConflict, "not_payable", "the reward is "+string(after.Status)+": "+after.StatusReason, nil)
	}
	return apigw.JSON(http.StatusOK, after)
}
