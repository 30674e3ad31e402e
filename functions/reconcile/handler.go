package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/referral"
)

// Store is what the reconciler reads and writes.
type Store interface {
	ReferralsByStatus(ctx context.Context, status referral.Status, cutoff time.Time, limit int32) ([]string, error)
	Requeue(ctx context.Context, id string, now time.Time) error
}

// Handler starts the workflow of every referral that was stored but whose
// execution never started (StartExecution failed after the write). Starting
// an execution that exists already is a no-op, so it is always safe.
type Handler struct {
	Store Store
	Start func(ctx context.Context, referralID string) error
	Now   func() time.Time
	Log   *slog.Logger
	// Grace is how old a "received" referral must be before it is retried
	// (intake normally starts it within a second).
	Grace time.Duration
}

// Result counts what a run did.
type Result struct {
	Found   int `json:"found"`
	Started int `json:"started"`
	Failed  int `json:"failed"`
}

// Handle runs once (every minute on a schedule).
func (h *Handler) Handle(ctx context.Context) (Result, error) {
	log := logging.From(ctx, h.Log)
	ids, err := h.Store.ReferralsByStatus(ctx, referral.StatusReceived, h.Now().Add(-h.Grace), 100)
	if err != nil {
		return Result{}, err
	}
	res := Result{Found: len(ids)}
	for _, id := range ids {
		if err := h.Start(ctx, id); err != nil {
			res.Failed++
			log.Error("start workflow failed", "referral_id", id, "error", err)
		} else {
			res.Started++
			log.Info("workflow started by the reconciler (or it existed already)", "referral_id", id)
		}
		// Behind every newer referral: one that stays "received" although
		// its execution exists (it failed before Verify: the failed-executions
		// alarm fires) is retried without starving the others.
		if err := h.Store.Requeue(ctx, id, h.Now()); err != nil {
			log.Error("requeue failed", "referral_id", id, "error", err)
		}
	}
	return res, nil
}
