package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/referral"
)

// People erases a person's personal data (the store's ErasePerson).
type People interface {
	ErasePerson(ctx context.Context, email, actor string, now time.Time) (int, error)
}

// EraseRequest is the body of POST /admin/people/erase.
type EraseRequest struct {
	Email string `json:"email"`
}

// Erased is the answer to an erasure: how many referrals had the person as
// their referee and are now erased (0 when there is nothing, or nothing
// left, to erase).
type Erased struct {
	Erased int `json:"erased"`
}

// erase serves POST /admin/people/erase: it erases the personal data of
// the referee with the given email from every referral (amounts, ids,
// statuses, rewards, ledger entries and events stay). The email is never
// logged. Repeating the call erases nothing more and answers 0; a call cut
// short is finished by a repeat.
func (h *Handler) erase(ctx context.Context, req apigw.Request) apigw.Response {
	log := logging.From(ctx, h.Log).With("route", "erase_person")
	body, err := apigw.Body(&req)
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", err.Error(), nil)
	}
	if len(body) > maxBody {
		return apigw.TooLarge(maxBody)
	}
	var in EraseRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid",
			map[string]string{"body": "must be a JSON object with email"})
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	switch {
	case email == "":
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid", map[string]string{"email": "is required"})
	case !referral.ValidEmail(email):
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid", map[string]string{"email": "is not an email address"})
	}
	if h.People == nil {
		log.Error("erase: no store for people configured")
		return apigw.Unavailable()
	}
	n, err := h.People.ErasePerson(ctx, email, events.ActorAdmin, h.Now().UTC())
	if err != nil {
		// Whatever was erased stays erased; a repeat finishes the rest.
		log.Error("erase person failed", "erased", n, "error", err)
		return apigw.Unavailable()
	}
	log.Info("personal data erased", "referrals", n)
	return apigw.JSON(http.StatusOK, Erased{Erased: n})
}
