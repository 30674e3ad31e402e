package main

import (
	"context"
	"encoding/json"
	"log/slog"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/outbound"
	"github.com/referflow/referflow/internal/publish"
)

// Deliverer makes the deliveries (outbound.Service).
type Deliverer interface {
	Publish(ctx context.Context, ev events.Event) (outbound.Result, error)
	RunDue(ctx context.Context, limit int) (outbound.Result, error)
}

// Handler serves the function's two triggers: a domain event from the
// EventBridge rule (source referflow, detail the events.Event), whose
// deliveries it creates and first attempts; and the every-minute schedule,
// on which it makes the retries that are due.
type Handler struct {
	Out Deliverer
	Log *slog.Logger
	// Batch bounds the retries one scheduled run looks at (0: DefaultBatch).
	Batch int
}

// DefaultBatch is how many due retries a scheduled run looks at; it makes
// as many as its timeout leaves time for, the rest wait for the next run.
const DefaultBatch = 100

// scheduleSource is the source of the schedule's events.
const scheduleSource = "aws.events"

// Handle takes one EventBridge event. An error makes EventBridge send the
// event again (a store write failed): what was done is not done twice. An
// event that can never be delivered (undecodable, without an id, of a
// newer schema) is logged and skipped.
func (h *Handler) Handle(ctx context.Context, in lambdaevents.EventBridgeEvent) (outbound.Result, error) {
	log := logging.From(ctx, h.Log)
	switch in.Source {
	case scheduleSource:
		batch := h.Batch
		if batch <= 0 {
			batch = DefaultBatch
		}
		res, err := h.Out.RunDue(ctx, batch)
		log.Info("webhook retries", "attempted", res.Attempted, "succeeded", res.Succeeded, "failed", res.Failed,
			"retrying", res.Retrying, "queued", res.Queued, "error", err)
		return res, err
	case publish.Source:
	default:
		log.Warn("event of an unknown source skipped", "source", in.Source, "detail_type", in.DetailType)
		return outbound.Result{}, nil
	}
	var ev events.Event
	if err := json.Unmarshal(in.Detail, &ev); err != nil || ev.ID == "" || ev.Type == "" {
		log.Warn("undeliverable event skipped", "detail_type", in.DetailType, "error", err)
		return outbound.Result{}, nil
	}
	log = log.With("event_id", ev.ID, "event_type", ev.Type, "referral_id", ev.ReferralID)
	if ev.Version > events.SchemaVersion {
		log.Warn("event of a newer schema skipped", "version", ev.Version)
		return outbound.Result{}, nil
	}
	res, err := h.Out.Publish(ctx, ev)
	if err != nil {
		log.Error("webhook deliveries not all created", "error", err, "created", res.Created)
		return res, err
	}
	log.Info("webhook deliveries", "created", res.Created, "succeeded", res.Succeeded, "retrying", res.Retrying)
	return res, nil
}
