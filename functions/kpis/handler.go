package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// Store is what the counters' writer reads and writes.
type Store interface {
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
	KPIState(ctx context.Context, referralID string) (kpis.State, error)
	ApplyKPIEvent(ctx context.Context, eventID, program, referralID string, changes []kpis.Change, next kpis.State, now time.Time) (bool, error)
}

// maxAttempts bounds the re-plans when events of one referral are applied
// at the same time (store.ErrKPIStateChanged).
const maxAttempts = 8

// Handler applies each domain event (the target of the EventBridge rule
// on every referflow event) to the KPI counters, once per event id: a
// redelivered event counts nothing twice. An event it cannot apply yet
// fails the invocation, so EventBridge retries it; one it can never apply
// (undecodable, of a newer version, without a program) is logged by id and
// skipped.
type Handler struct {
	Store Store
	Now   func() time.Time
	Log   *slog.Logger

	// Deals counts the CRM's other deals (deals.go); nil counts none.
	// Observed are the programs they are observed under (crm.Ingester's
	// Observe): a deal a referral is linked to leaves their other deals.
	Deals    DealStore
	Observed []string
}

// Handle applies one EventBridge event.
func (h *Handler) Handle(ctx context.Context, in lambdaevents.EventBridgeEvent) error {
	var ev events.Event
	if err := json.Unmarshal(in.Detail, &ev); err != nil {
		h.Log.Warn("undecodable event skipped", "detail_type", in.DetailType, "error", err)
		return nil
	}
	if ev.ID == "" || ev.Version > events.SchemaVersion {
		h.Log.Warn("event skipped", "event_id", ev.ID, "type", string(ev.Type), "version", ev.Version)
		return nil
	}
	if ev.Type == events.DealObserved {
		return h.observe(ctx, ev)
	}
	facts, err := h.facts(ctx, ev)
	if err != nil {
		return err
	}
	if facts.ProgramID == "" {
		h.Log.Warn("event without a program skipped", "event_id", ev.ID, "referral_id", ev.ReferralID)
		return nil
	}
	for range maxAttempts {
		applied, err := h.apply(ctx, ev, facts)
		if errors.Is(err, store.ErrKPIStateChanged) {
			continue
		}
		if err != nil {
			return fmt.Errorf("kpis: %w", err)
		}
		h.Log.Info("event counted", "event_id", ev.ID, "referral_id", ev.ReferralID, "type", string(ev.Type), "applied", applied)
		return h.linkDeal(ctx, ev, facts.ProgramID)
	}
	return fmt.Errorf("kpis: event %s: state kept changing", ev.ID)
}

func (h *Handler) apply(ctx context.Context, ev events.Event, f kpis.Facts) (bool, error) {
	referralID := ev.ReferralID
	var before kpis.State
	if f.ReceivedAt.IsZero() {
		referralID = "" // amounts only: nothing of the referral to remember
	} else {
		var err error
		if before, err = h.Store.KPIState(ctx, referralID); err != nil {
			return false, err
		}
	}
	changes, next := kpis.Plan(ev, f, before)
	return h.Store.ApplyKPIEvent(ctx, ev.ID, f.ProgramID, referralID, changes, next, h.Now())
}

// facts reads the referral and its program version. A referral that is
// gone leaves the event's own amounts to count.
func (h *Handler) facts(ctx context.Context, ev events.Event) (kpis.Facts, error) {
	r, err := h.Store.Referral(ctx, ev.ReferralID)
	if errors.Is(err, referral.ErrNotFound) {
		return kpis.Facts{ProgramID: ev.ProgramID}, nil
	}
	if err != nil {
		return kpis.Facts{}, fmt.Errorf("kpis: read referral: %w", err)
	}
	p, err := h.Store.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion)
	if err != nil {
		return kpis.Facts{}, fmt.Errorf("kpis: read program: %w", err)
	}
	return FactsOf(r, p), nil
}

// FactsOf is what the counters need of a referral under program version p:
// ids, codes, times and amounts, nothing personal.
func FactsOf(r *referral.Referral, p *program.Program) kpis.Facts {
	f := kpis.Facts{ProgramID: r.ProgramID, ReferrerCode: r.ReferrerCode, ReceivedAt: r.CreatedAt,
		Milestones: r.Milestones, DealMinor: r.DealAmountMinor, DealCurrency: r.DealCurrency, Currency: p.Currency,
		Experiment: r.Experiment, Variant: r.Variant}
	if n := len(p.Milestones); n > 0 {
		f.Last = p.Milestones[n-1].Name
	}
	switch r.Status {
	case referral.StatusRejected:
		f.Rejected = true
		for _, reason := range r.Reasons {
			f.Reasons = append(f.Reasons, reason.Code)
		}
	case referral.StatusInProgress, referral.StatusCompleted, referral.StatusLost, referral.StatusExpired:
		f.Accepted = true
	default:
		f.Accepted = r.Decision == "approved"
	}
	switch r.Status {
	case referral.StatusLost:
		f.Ended = kpis.Lost
		if r.LostAt != nil {
			f.EndedAt = *r.LostAt
		}
	case referral.StatusExpired:
		f.Ended = kpis.Expired
	}
	return f
}
