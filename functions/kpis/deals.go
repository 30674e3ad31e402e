package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/store"
)

// DealStore is what counting the CRM's other deals reads and writes
// (internal/kpis lift.go).
type DealStore interface {
	KPIDealState(ctx context.Context, program, deal string) (kpis.DealState, error)
	ApplyKPIDealEvent(ctx context.Context, eventID, program, deal string, changes []kpis.Change, next kpis.DealState, now time.Time) (bool, error)
}

// observe counts a deal.observed event as an other deal of its program,
// once per deal.
func (h *Handler) observe(ctx context.Context, ev events.Event) error {
	if h.Deals == nil || ev.ProgramID == "" || ev.ReferralID == "" {
		h.Log.Warn("deal event skipped", "event_id", ev.ID, "program_id", ev.ProgramID)
		return nil
	}
	return h.applyDeal(ctx, ev.ID, ev.ProgramID, ev.ReferralID, func(before kpis.DealState) ([]kpis.Change, kpis.DealState, bool) {
		return kpis.PlanDeal(ev, before)
	})
}

// linkDeal takes the CRM record a referral.deal_event names out of the
// other deals of the referral's program and of every program in Observed:
// a referral is linked to it (applied once per event id and program, under
// "<event id>#deal#<program>"). Other events are left alone.
func (h *Handler) linkDeal(ctx context.Context, ev events.Event, program string) error {
	provider, record := ev.Get("provider"), ev.Get("record_id")
	if ev.Type != events.ReferralDealEvent || h.Deals == nil || provider == "" || record == "" {
		return nil
	}
	deal := events.DealKey(provider, record)
	for _, p := range slices.Compact(slices.Sorted(slices.Values(append([]string{program}, h.Observed...)))) {
		if p == "" {
			continue
		}
		if err := h.applyDeal(ctx, ev.ID+"#deal#"+p, p, deal, kpis.PlanDealLinked); err != nil {
			return err
		}
	}
	return nil
}

// applyDeal plans against the deal's state and applies, once per event id,
// re-planning while other events of the deal are applied meanwhile.
func (h *Handler) applyDeal(ctx context.Context, eventID, program, deal string, plan func(kpis.DealState) ([]kpis.Change, kpis.DealState, bool)) error {
	for range maxAttempts {
		before, err := h.Deals.KPIDealState(ctx, program, deal)
		if err != nil {
			return fmt.Errorf("kpis: %w", err)
		}
		changes, next, changed := plan(before)
		if !changed {
			return nil
		}
		applied, err := h.Deals.ApplyKPIDealEvent(ctx, eventID, program, deal, changes, next, h.Now())
		if errors.Is(err, store.ErrKPIStateChanged) {
			continue
		}
		if err != nil {
			return fmt.Errorf("kpis: %w", err)
		}
		h.Log.Info("deal counted", "event_id", eventID, "deal", deal, "program_id", program, "applied", applied)
		return nil
	}
	return fmt.Errorf("kpis: event %s: deal state kept changing", eventID)
}
