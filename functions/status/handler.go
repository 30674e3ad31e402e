package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// Store is what the status function reads.
type Store interface {
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
	Rewards(ctx context.Context, referralID string) ([]rewards.Reward, error)
}

// Handler serves GET /referrals/{id}?token=..., as JSON or as a page for
// people.
type Handler struct {
	Store Store
	Log   *slog.Logger
}

// Status is the referrer-facing view: no names, no emails.
type Status struct {
	ReferralID string      `json:"referral_id"`
	Program    string      `json:"program"`
	Status     string      `json:"status"`
	Milestones []Milestone `json:"milestones"`
	Rewards    []Reward    `json:"rewards"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

// Milestone is one milestone of the program and when it was reached.
type Milestone struct {
	Name      string     `json:"name"`
	ReachedAt *time.Time `json:"reached_at"`
}

// Reward is one reward as the referrer sees it.
type Reward struct {
	Milestone   string `json:"milestone"`
	Party       string `json:"party"`
	Kind        string `json:"kind"`
	Amount      string `json:"amount"`
	AmountMinor int64  `json:"amount_minor"`
	Currency    string `json:"currency"`
	Status      string `json:"status"`
}

// Why a status cannot be shown.
var (
	errNotFound    = errors.New("status: no referral with this id and token")
	errUnavailable = errors.New("status: the referral could not be read")
)

// Handle answers one status request: the JSON view, or an HTML page when
// the request prefers text/html (a person following the status link). An
// unknown id and a wrong token get the same answer.
func (h *Handler) Handle(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	html := apigw.PrefersHTML(&req)
	out, programName, err := h.lookup(ctx, req)
	var resp apigw.Response
	switch {
	case errors.Is(err, errNotFound) && html:
		resp = notFoundPage()
	case errors.Is(err, errNotFound):
		resp = apigw.Error(http.StatusNotFound, "not_found", "no referral with this id and token", nil)
	case err != nil && html:
		resp = unavailablePage()
	case err != nil:
		resp = apigw.Unavailable()
	case html:
		resp = statusPage(out, programName)
	default:
		resp = apigw.JSON(http.StatusOK, out)
	}
	resp.Headers["vary"] = "accept"
	return resp, nil
}

// lookup reads the referral whose id and token the request names and
// returns its referrer-facing view and the program's name ("" when its
// version cannot be read): errNotFound for an unknown id or a wrong token,
// errUnavailable when a read fails.
func (h *Handler) lookup(ctx context.Context, req apigw.Request) (*Status, string, error) {
	log := logging.From(ctx, h.Log)
	id := req.PathParameters["id"]
	token := req.QueryStringParameters["token"]
	if !referral.ValidID(id) || token == "" {
		return nil, "", errNotFound
	}
	r, err := h.Store.Referral(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", errNotFound
	}
	if err != nil {
		log.Error("read referral failed", "error", err, "referral_id", id)
		return nil, "", errUnavailable
	}
	if subtle.ConstantTimeCompare([]byte(referral.HashToken(token)), []byte(r.StatusTokenHash)) != 1 {
		return nil, "", errNotFound
	}
	out := &Status{ReferralID: r.ID, Program: r.ProgramID, Status: string(r.Status), UpdatedAt: r.UpdatedAt, Milestones: []Milestone{}, Rewards: []Reward{}}
	programName := ""
	if p, err := h.Store.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion); err == nil {
		programName = p.Name
		for _, m := range p.Milestones {
			ms := Milestone{Name: m.Name}
			if at, ok := r.Milestones[m.Name]; ok {
				at := at
				ms.ReachedAt = &at
			}
			out.Milestones = append(out.Milestones, ms)
		}
	} else {
		log.Warn("program version unreadable; listing reached milestones only", "error", err)
		for name, at := range r.Milestones {
			at := at
			out.Milestones = append(out.Milestones, Milestone{Name: name, ReachedAt: &at})
		}
	}
	rewards, err := h.Store.Rewards(ctx, r.ID)
	if err != nil {
		log.Error("read rewards failed", "error", err, "referral_id", id)
		return nil, "", errUnavailable
	}
	for _, rw := range rewards {
		out.Rewards = append(out.Rewards, Reward{Milestone: rw.Milestone, Party: rw.Party, Kind: rw.Kind,
			Amount: money.FormatMinor(rw.AmountMinor, rw.Currency), AmountMinor: rw.AmountMinor,
			Currency: rw.Currency, Status: string(rw.Status)})
	}
	return out, programName, nil
}
