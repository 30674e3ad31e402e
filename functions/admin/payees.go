package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/payees"
)

// Payees records, shows and removes who rewards are paid to
// (internal/payees; the operator CLI calls the same).
type Payees interface {
	SetPartner(ctx context.Context, programID, code string, p payees.Payee, actor string) (*payees.Record, error)
	Partner(ctx context.Context, programID, code string) (*payees.Record, error)
	RemovePartner(ctx context.Context, programID, code string) error
	SetReferee(ctx context.Context, referralID string, p payees.Payee, actor string) (*payees.Record, error)
	Referee(ctx context.Context, referralID string) (*payees.Record, error)
	RemoveReferee(ctx context.Context, referralID string) error
}

// PayeeView is a payee as the admin API shows it: its details masked but
// their last characters (payees.Mask), never whole.
type PayeeView struct {
	Program    string         `json:"program,omitempty"`
	Code       string         `json:"code,omitempty"`
	ReferralID string         `json:"referral_id,omitempty"`
	Method     payees.Method  `json:"method"`
	Details    payees.Details `json:"details"`
	UpdatedAt  time.Time      `json:"updated_at"`
	UpdatedBy  string         `json:"updated_by"`
}

// payeeOwner is whose payee a request is about: a partner (program and
// code) or a referral's referee (id).
type payeeOwner struct{ program, code, referral string }

func (o payeeOwner) what() string {
	if o.referral != "" {
		return "referral"
	}
	return "partner in this program"
}

// deleted is the answer to a removal.
func (o payeeOwner) deleted() map[string]any {
	if o.referral != "" {
		return map[string]any{"referral_id": o.referral, "deleted": true}
	}
	return map[string]any{"program": o.program, "code": o.code, "deleted": true}
}

func (o payeeOwner) view(r *payees.Record) PayeeView {
	m := payees.Mask(r.Payee)
	return PayeeView{Program: o.program, Code: o.code, ReferralID: o.referral, Method: m.Method, Details: m.Details,
		UpdatedAt: r.UpdatedAt, UpdatedBy: r.UpdatedBy}
}

// payee routes the payee of a partner or of a referral's referee:
//
//	PUT    /admin/partners/{program}/{code}/payee   record it (body: method and details)
//	GET    /admin/partners/{program}/{code}/payee   show it, masked
//	DELETE /admin/partners/{program}/{code}/payee   remove it
//	PUT|GET|DELETE /admin/referrals/{id}/payee      the same for the referee (its Stripe customer)
//
// The details are never logged; the answers mask them.
func (h *Handler) payee(ctx context.Context, req apigw.Request) apigw.Response {
	log := logging.From(ctx, h.Log).With("route", "payee")
	if h.Payees == nil {
		log.Error("payee: no payee operations configured")
		return apigw.Unavailable()
	}
	o := payeeOwner{referral: req.PathParameters["id"]}
	if strings.Contains(req.RouteKey, "/admin/partners/") {
		o = payeeOwner{program: strings.ToLower(strings.TrimSpace(req.PathParameters["program"])), code: req.PathParameters["code"]}
	}
	switch req.RequestContext.HTTP.Method {
	case http.MethodPut:
		return h.setPayee(ctx, req, o, log)
	case http.MethodGet:
		var r *payees.Record
		var err error
		if o.referral != "" {
			r, err = h.Payees.Referee(ctx, o.referral)
		} else {
			r, err = h.Payees.Partner(ctx, o.program, o.code)
		}
		if err != nil {
			return payeeFailure(o, err, log)
		}
		return apigw.JSON(http.StatusOK, o.view(r))
	case http.MethodDelete:
		var err error
		if o.referral != "" {
			err = h.Payees.RemoveReferee(ctx, o.referral)
		} else {
			err = h.Payees.RemovePartner(ctx, o.program, o.code)
		}
		if err != nil {
			return payeeFailure(o, err, log)
		}
		log.Info("payee removed", "program", o.program, "code", o.code, "referral_id", o.referral)
		return apigw.JSON(http.StatusOK, o.deleted())
	}
	return apigw.Error(http.StatusNotFound, "not_found", "no such admin route", nil)
}

// setPayee serves PUT .../payee: the payee is validated (400 naming the
// fields, nothing written) and replaces the one recorded.
func (h *Handler) setPayee(ctx context.Context, req apigw.Request, o payeeOwner, log *slog.Logger) apigw.Response {
	var in payees.Payee
	if resp, ok := readJSON(&req, &in, "a JSON object with method and details"); !ok {
		return resp
	}
	var r *payees.Record
	var err error
	if o.referral != "" {
		r, err = h.Payees.SetReferee(ctx, o.referral, in, events.ActorAdmin)
	} else {
		r, err = h.Payees.SetPartner(ctx, o.program, o.code, in, events.ActorAdmin)
	}
	if err != nil {
		return payeeFailure(o, err, log)
	}
	log.Info("payee recorded", "program", o.program, "code", o.code, "referral_id", o.referral, "method", string(r.Method))
	return apigw.JSON(http.StatusOK, o.view(r))
}

// payeeFailure answers a failed payee operation; the error is logged only
// when it is not the caller's (it names ids and methods, never details).
func payeeFailure(o payeeOwner, err error, log *slog.Logger) apigw.Response {
	var inv *payees.Invalid
	switch {
	case errors.As(err, &inv):
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid", inv.Fields)
	case errors.Is(err, payees.ErrNoPayee):
		return apigw.Error(http.StatusNotFound, "not_found", "no payee is recorded for this "+o.what(), nil)
	case errors.Is(err, payees.ErrNotFound):
		return apigw.Error(http.StatusNotFound, "not_found", "no such "+o.what(), nil)
	}
	log.Error("payee operation failed", "error", err)
	return apigw.Unavailable()
}
