package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
)

// MaxBody bounds a delivery: 100 HubSpot events or 100 Salesforce
// notifications fit many times over.
const MaxBody = 1 << 20

// ErrUnknownProvider: no adapter for the path's provider.
var ErrUnknownProvider = errors.New("webhook: unknown provider")

// Adapters returns the adapter for a provider, configured with the current
// secrets. ErrUnknownProvider for a provider Referflow does not serve.
type Adapters func(ctx context.Context, provider string) (crm.Adapter, error)

// Ingest applies a delivery's events.
type Ingest func(ctx context.Context, events []crm.Event) (crm.Summary, error)

// Handler serves POST /webhooks/{provider}: authenticate over the raw
// bytes, parse, then hand every event to the shared ingestion path.
type Handler struct {
	Adapters      Adapters
	Ingest        Ingest
	PublicBaseURL string
	Log           *slog.Logger
	Metrics       *metrics.Emitter
}

// Handle answers one delivery: 200 once every event is recorded, 401 with
// nothing written on a bad signature, 400 on a malformed body, 503 on a
// transient failure so the sender retries.
func (h *Handler) Handle(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	provider := strings.ToLower(req.PathParameters["provider"])
	log := logging.From(ctx, h.Log).With("provider", provider)
	adapter, err := h.Adapters(ctx, provider)
	if errors.Is(err, ErrUnknownProvider) {
		return apigw.Error(http.StatusNotFound, "not_found", "no webhook endpoint for provider "+provider, nil), nil
	}
	if err != nil {
		log.Error("provider not configured", "error", err)
		return apigw.Unavailable(), nil
	}
	body, err := apigw.Body(&req)
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_payload", err.Error(), nil), nil
	}
	if len(body) > MaxBody {
		return apigw.TooLarge(MaxBody), nil
	}
	raw := crm.Request{Method: req.RequestContext.HTTP.Method, URL: apigw.URL(&req, h.PublicBaseURL), Headers: apigw.Headers(&req), Body: body}
	if raw.Method == "" {
		raw.Method = http.MethodPost
	}
	if err := adapter.Authenticate(raw); err != nil {
		log.Warn("webhook rejected", "error", err)
		h.Metrics.Count("WebhookSignatureFailures", 1, "provider", provider)
		return apigw.Error(http.StatusUnauthorized, "invalid_signature", "the signature or credential is missing or wrong", nil), nil
	}
	events, err := adapter.Parse(raw)
	if errors.Is(err, crm.ErrUnauthorized) {
		h.Metrics.Count("WebhookSignatureFailures", 1, "provider", provider)
		return apigw.Error(http.StatusUnauthorized, "invalid_signature", "the signature or credential is missing or wrong", nil), nil
	}
	if err != nil {
		log.Warn("webhook payload rejected", "error", err)
		return apigw.Error(http.StatusBadRequest, "invalid_payload", err.Error(), nil), nil
	}
	start := time.Now()
	sum, err := h.Ingest(ctx, events)
	for outcome, n := range sum.Outcomes {
		h.Metrics.Count("WebhookEvents", n, "provider", provider, "outcome", outcome)
		if outcome == crm.OutcomeMilestone {
			h.Metrics.Count("MilestonesReached", n, "provider", provider)
		}
	}
	if err != nil {
		log.Error("delivery not fully applied; asking the sender to retry", "error", err, "events", len(events))
		if ack, ok := adapter.(crm.Acknowledger); ok {
			ct, b := ack.Nack("temporarily unavailable, retry")
			return apigw.Response{StatusCode: http.StatusServiceUnavailable, Headers: map[string]string{"content-type": ct, "retry-after": "5"}, Body: string(b)}, nil
		}
		return apigw.Unavailable(), nil
	}
	log.Info("delivery applied", "events", len(events), "outcomes", sum.Outcomes, "ms", time.Since(start).Milliseconds())
	if ack, ok := adapter.(crm.Acknowledger); ok {
		ct, b := ack.Ack()
		return apigw.Response{StatusCode: http.StatusOK, Headers: map[string]string{"content-type": ct}, Body: string(b)}, nil
	}
	return apigw.JSON(http.StatusOK, sum), nil
}
