package kpis

import (
	"context"
	"fmt"
	"time"

	"github.com/referflow/referflow/internal/program"
)

// Store is what a KPI read needs: the program, the period's counters and
// the clicks on the top partners' links.
type Store interface {
	CurrentProgram(ctx context.Context, id string) (*program.Program, error)
	KPICounters(ctx context.Context, program string, from, to time.Time) ([]Item, error)
	Clicks(ctx context.Context, programID, code string, from, to time.Time) (map[string]int, error)
}

// Service computes reports: the one implementation behind GET /admin/kpis,
// the console's KPI page and `referflow report`.
type Service struct {
	Store Store
}

// Report returns program id's KPIs over per under its current version
// (its currency and milestones). An unknown program is an error matching
// referral.ErrNotFound. Read cost: one program read, the counters
// (Store.KPICounters: O(days + active partners + months)) and one clicks
// query per top partner (at most TopPartners), whatever the number of
// referrals.
func (s *Service) Report(ctx context.Context, id string, per Period) (Report, error) {
	p, err := s.Store.CurrentProgram(ctx, id)
	if err != nil {
		return Report{}, fmt.Errorf("kpis: program: %w", err)
	}
	items, err := s.Store.KPICounters(ctx, id, per.From, per.To)
	if err != nil {
		return Report{}, fmt.Errorf("kpis: counters: %w", err)
	}
	prog := Program{ID: id, Currency: p.Currency, Experiment: ExperimentOf(p)}
	for _, m := range p.Milestones {
		prog.Milestones = append(prog.Milestones, m.Name)
	}
	r := Build(prog, per, items)
	// Clicks, like the partners' other figures, cover the period's months.
	first := time.Date(per.From.Year(), per.From.Month(), 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(per.To.Year(), per.To.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, -1)
	for i := range r.Partners.Top {
		days, err := s.Store.Clicks(ctx, id, r.Partners.Top[i].ReferrerID, first, last)
		if err != nil {
			return Report{}, fmt.Errorf("kpis: clicks: %w", err)
		}
		for _, c := range days {
			r.Partners.Top[i].Clicks += int64(c)
		}
	}
	return r, nil
}
