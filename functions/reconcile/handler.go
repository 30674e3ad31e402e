package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/referral"
)

// Store is what the reconciler lists and reorders.
type Store interface {
	Candidates(ctx context.Context, statuses []referral.Status, cutoff time.Time, limit int) ([]recovery.Candidate, error)
	MoveToBack(ctx context.Context, id string, status referral.Status, now time.Time) error
}

// Checker looks at one referral and acts (recovery.Service).
type Checker interface {
	Check(ctx context.Context, id string) (recovery.Result, error)
}

// Handler looks, on every run, at the referrals still moving (received,
// verifying, in_review, in_progress) that changed least recently: one
// whose execution never started (StartExecution failed after intake, or
// after a resume) is started; one whose execution ended while the
// referral still moves (failed, timed out, aborted) is resumed in a new
// execution, or marked needs_attention when that happened too often. Each
// referral looked at goes behind all the others, so a run looks at the
// next ones and none is starved by one that keeps failing.
type Handler struct {
	Store    Store
	Recovery Checker
	Now      func() time.Time
	Log      *slog.Logger
	// Grace is how long a referral is left alone after its last change
	// (intake starts an execution within a second, each step takes
	// seconds).
	Grace time.Duration
	// Batch bounds how many referrals one run looks at (0: DefaultBatch).
	Batch int
}

// DefaultBatch is how many referrals a run looks at by default.
const DefaultBatch = 50

// active are the statuses of referrals that must have a running execution.
var active = []referral.Status{referral.StatusReceived, referral.StatusVerifying, referral.StatusInReview, referral.StatusInProgress}

// Result counts what a run did.
type Result struct {
	Found   int `json:"found"`
	Running int `json:"running"`
	Started int `json:"started"`
	Resumed int `json:"resumed"`
	Marked  int `json:"marked"`
	Settled int `json:"settled"`
	Failed  int `json:"failed"`
}

// Handle runs once (every minute on a schedule). A failure with one
// referral is logged and counted; the others are still looked at.
func (h *Handler) Handle(ctx context.Context) (Result, error) {
	log := logging.From(ctx, h.Log)
	batch := h.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	found, err := h.Store.Candidates(ctx, active, h.Now().Add(-h.Grace), batch)
	if err != nil {
		return Result{}, err
	}
	res := Result{Found: len(found)}
	for _, c := range found {
		r, err := h.Recovery.Check(ctx, c.ID)
		switch {
		case err != nil:
			res.Failed++
			log.Error("reconcile failed", "referral_id", c.ID, "status", c.Status, "error", err)
		default:
			res.count(r.Action)
			if r.Action != recovery.Running && r.Action != recovery.Settled {
				log.Info("reconciled", "referral_id", c.ID, "action", r.Action, "status", r.Status, "execution", r.Execution)
			}
		}
		if err := h.Store.MoveToBack(ctx, c.ID, c.Status, h.Now()); err != nil {
			log.Error("move to back failed", "referral_id", c.ID, "error", err)
		}
	}
	return res, nil
}

func (r *Result) count(a recovery.Action) {
	switch a {
	case recovery.Running:
		r.Running++
	case recovery.Started:
		r.Started++
	case recovery.Resumed:
		r.Resumed++
	case recovery.Marked:
		r.Marked++
	default:
		r.Settled++
	}
}
