package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/referral"
)

// Store is what the reconciler lists, reads and reorders.
type Store interface {
	Candidates(ctx context.Context, statuses []referral.Status, cutoff time.Time, limit int) ([]recovery.Candidate, error)
	MoveToBack(ctx context.Context, id string, status referral.Status, now time.Time) error
	Tracked(ctx context.Context, id string) (*recovery.Tracked, error)
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
// next ones and none is starved by one that keeps failing. Every run also
// publishes how long the oldest referral in needs_attention has waited
// (metrics.OldestNeedsAttention), so a referral nobody resumed raises an
// alarm however long ago it was marked.
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
	// Metrics receives the needs_attention gauge (nil: discarded).
	Metrics *metrics.Emitter
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
	// OldestNeedsAttention is the age in seconds of the referral waiting
	// longest in needs_attention, 0 when none waits.
	OldestNeedsAttention int64 `json:"oldest_needs_attention_seconds"`
}

// Handle runs once (every minute on a schedule). A failure with one
// referral is logged and counted; the others are still looked at. A
// failure to measure the needs_attention gauge is returned after the
// referrals were looked at, so the function's errors alarm says so.
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
	age, err := h.oldestNeedsAttention(ctx)
	if err != nil {
		return res, err
	}
	res.OldestNeedsAttention = int64(age / time.Second)
	h.Metrics.Gauge(metrics.OldestNeedsAttention, float64(res.OldestNeedsAttention), metrics.UnitSeconds)
	return res, nil
}

// oldestNeedsAttention is how long the referral marked needs_attention
// least recently has waited since it was marked (0 when none waits, or
// when it was resumed between the two reads). The status index orders a
// status's referrals by their last change, and only a resume changes a
// referral in needs_attention, so the first one is the oldest: two reads
// whatever the number of referrals.
func (h *Handler) oldestNeedsAttention(ctx context.Context) (time.Duration, error) {
	now := h.Now()
	found, err := h.Store.Candidates(ctx, []referral.Status{referral.StatusNeedsAttention}, now, 1)
	if err != nil {
		return 0, fmt.Errorf("reconcile: oldest needs attention: %w", err)
	}
	if len(found) == 0 {
		return 0, nil
	}
	t, err := h.Store.Tracked(ctx, found[0].ID)
	if err != nil {
		return 0, fmt.Errorf("reconcile: oldest needs attention %s: %w", found[0].ID, err)
	}
	if t.Status != referral.StatusNeedsAttention || t.Attention == nil || !now.After(t.Attention.At) {
		return 0, nil
	}
	return now.Sub(t.Attention.At), nil
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
