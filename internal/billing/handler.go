package billing

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
)

// MaxBody bounds a delivery (Stripe events are a few kilobytes).
const MaxBody = 1 << 20

// Secrets returns the endpoint's current signing secrets (a secret and its
// successor during a rotation).
type Secrets func(ctx context.Context) ([]string, error)

// Applier applies a verified event (*Processor).
type Applier interface {
	Apply(ctx context.Context, ev Event) (Result, error)
}

// Handler serves POST /webhooks/stripe.
type Handler struct {
	Secrets   Secrets
	Processor Applier
	Now       func() time.Time
	Log       *slog.Logger
	Metrics   *metrics.Emitter
}

// Handle answers one delivery: 401 with nothing written on a missing, bad
// or stale signature (checked over the raw body before anything is read),
// 413 on an oversized body, 400 on a body that is not a Stripe event, 503
// when the secret is not configured or the event could not be fully
// applied (Stripe retries), and 200 once the event is recorded, also for a
// customer nobody referred.
func (h *Handler) Handle(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	log := logging.From(ctx, h.Log).With("provider", Provider)
	body, err := apigw.Body(&req)
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_payload", err.Error(), nil), nil
	}
	if len(body) > MaxBody {
		return apigw.TooLarge(MaxBody), nil
	}
	secrets, err := h.Secrets(ctx)
	if err == nil {
		err = Verify(body, apigw.Header(&req, "Stripe-Signature"), secrets, h.Now())
	}
	switch {
	case errors.Is(err, ErrUnauthorized):
		log.Warn("stripe webhook rejected", "error", err)
		h.Metrics.Count("WebhookSignatureFailures", 1, "provider", Provider)
		return apigw.Error(http.StatusUnauthorized, "invalid_signature", "the signature or credential is missing or wrong", nil), nil
	case err != nil:
		log.Error("stripe webhook secret not configured", "error", err)
		return apigw.Unavailable(), nil
	}
	ev, err := Parse(body)
	if err != nil {
		log.Warn("stripe webhook payload rejected", "error", err)
		return apigw.Error(http.StatusBadRequest, "invalid_payload", err.Error(), nil), nil
	}
	log = log.With("event_id", ev.ID, "event_type", ev.Type)
	res, err := h.Processor.Apply(ctx, ev)
	if err != nil {
		log.Error("stripe event not fully applied; asking Stripe to retry", "error", err)
		return apigw.Unavailable(), nil
	}
	h.Metrics.Count("StripeEvents", 1, "outcome", res.Outcome)
	log.Info("stripe event applied", "outcome", res.Outcome, "referral_id", res.ReferralID, "reward_id", res.RewardID)
	return apigw.JSON(http.StatusOK, res), nil
}
