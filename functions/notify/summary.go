package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// partnersPage is how many partners one query reads.
const partnersPage = 100

// Summaries sends the monthly summary of the calendar month before at
// (UTC) to every active partner with activity in it: one email per partner
// and month whatever the number of runs (claimed under the partner and
// month). Programs are those with activity that month; partners are read
// from each program's partition (REFERRER# items), never by a scan.
func (h *Handler) Summaries(ctx context.Context, at time.Time) error {
	if at.IsZero() {
		at = h.Now()
	}
	at = at.UTC()
	start := time.Date(at.Year(), at.Month()-1, 1, 0, 0, 0, 0, time.UTC)
	log := logging.From(ctx, h.Log).With("month", month(start))
	programs, err := h.Store.MailPrograms(ctx, month(start))
	if err != nil || len(programs) == 0 {
		return err
	}
	links, err := h.links(ctx)
	if err != nil {
		return err
	}
	var first error
	for _, id := range programs {
		if err := h.programSummaries(ctx, log.With("program_id", id), id, start, links); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (h *Handler) programSummaries(ctx context.Context, log *slog.Logger, programID string, start time.Time, links notify.Links) error {
	p, err := h.Store.CurrentProgram(ctx, programID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || !p.Sends(string(notify.KindMonthlySummary)) {
		return err
	}
	var first error
	for cursor := ""; ; {
		partners, next, err := h.Store.PartnersOf(ctx, programID, partnersPage, cursor)
		if err != nil {
			return err
		}
		for _, pt := range partners {
			if err := h.partnerSummary(ctx, log, p, pt, start, links); err != nil && first == nil {
				first = err
			}
		}
		if next == "" {
			return first
		}
		cursor = next
	}
}

// partnerSummary sends one partner's summary, unless the partner is not
// active, had no activity, or switched summaries off.
func (h *Handler) partnerSummary(ctx context.Context, log *slog.Logger, p *program.Program, pt store.Partner, start time.Time, links notify.Links) error {
	if !pt.Active() || pt.Email == "" {
		return nil
	}
	act, err := h.Store.MailActivityOf(ctx, p.ID, pt.Key, month(start))
	if err != nil || act == nil {
		return err
	}
	off, err := h.Store.MailOff(ctx, p.ID, notify.Subscriber{Code: pt.Key}.Key())
	if err != nil || slices.Contains(off, string(notify.KindMonthlySummary)) {
		return err
	}
	t, err := h.tally(ctx, act)
	if err != nil || t.Empty() {
		return err
	}
	m, err := notify.MonthlySummary(p, &pt.Referrer, pt.Key, t.Summary(start), links)
	if err != nil {
		return err
	}
	o := notify.Outgoing{
		Email: notify.Email{Kind: notify.KindMonthlySummary, Message: m},
		To:    pt.Email, Key: "summary#" + p.ID + "#" + month(start) + "#" + pt.Key,
	}
	return h.deliver(ctx, log.With("partner", pt.Key), o)
}

// tally adds up the month from the referrals and rewards its activity
// names, as they stand now: referrals by status, rewards earned (voided
// ones left out) and not paid yet, rewards paid.
func (h *Handler) tally(ctx context.Context, act *store.MailActivity) (notify.Tally, error) {
	var t notify.Tally
	for _, id := range act.Referrals {
		r, err := h.Store.Referral(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return t, err
		}
		t.Referral(string(r.Status))
	}
	for _, ref := range act.Rewards {
		rw, err := h.reward(ctx, ref)
		if err != nil {
			return t, err
		}
		if rw != nil && rw.Status != rewards.StatusVoided {
			t.Earned(rw.AmountMinor, rw.Currency, rw.Status.Payable())
		}
	}
	for _, ref := range act.Paid {
		rw, err := h.reward(ctx, ref)
		if err != nil {
			return t, err
		}
		if rw != nil && rw.Status == rewards.StatusPaid {
			t.Paid(rw.AmountMinor, rw.Currency)
		}
	}
	return t, nil
}

// reward reads "<referral>|<milestone>|<party>" (nil when gone).
func (h *Handler) reward(ctx context.Context, ref string) (*rewards.Reward, error) {
	parts := strings.Split(ref, "|")
	if len(parts) != 3 {
		return nil, nil
	}
	rw, err := h.Store.Reward(ctx, parts[0], parts[1], parts[2])
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return rw, err
}
