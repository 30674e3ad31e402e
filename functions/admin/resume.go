package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/referral"
)

// Attention is why a referral needs attention, in the admin view: the
// status it had (and returns to on resume), the failure's name, a short
// cause, the execution and when.
type Attention = referral.Attention

// Resumer resumes a referral (recovery.Service).
type Resumer interface {
	Resume(ctx context.Context, id, actor string) (recovery.Result, error)
}

// resume is POST /admin/referrals/{id}/resume: a referral that needs
// attention goes back to the status it had and a new execution carries it
// on (every step is idempotent: nothing is paid twice). A referral still
// moving gets its execution started if it is missing, or a new one if it
// ended; one whose execution runs is left alone, so a repeat changes
// nothing. The body, if any, is ignored.
func (h *Handler) resume(ctx context.Context, req apigw.Request) apigw.Response {
	id := req.PathParameters["id"]
	log := logging.From(ctx, h.Log).With("referral_id", id, "route", "resume")
	if _, fail := h.load(ctx, log, id); fail != nil {
		return *fail
	}
	res, err := h.Resumer.Resume(ctx, id, events.ActorAdmin)
	switch {
	case errors.Is(err, recovery.ErrNotResumable):
		return apigw.Error(http.StatusConflict, "not_resumable", "the referral is "+string(res.Status)+": it has ended, there is nothing to resume", nil)
	case err != nil:
		// A resume cut short is finished by a repeat (or the reconciler).
		log.Error("resume failed", "error", err)
		return apigw.Unavailable()
	}
	log.Info("resume", "action", res.Action, "status", res.Status, "execution", res.Execution)
	return apigw.JSON(http.StatusOK, res)
}
