package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// kpiStore is a program, its counters and clicks, recording what was read.
type kpiStore struct {
	items    []kpis.Item
	err      error
	from, to time.Time
}

func (s *kpiStore) CurrentProgram(_ context.Context, id string) (*program.Program, error) {
	if id != "p1" {
		return nil, fmt.Errorf("store: program %s: %w", id, referral.ErrNotFound)
	}
	return &program.Program{ID: "p1", Currency: "EUR", Milestones: []program.Milestone{{Name: "demo"}, {Name: "won"}}}, nil
}

func (s *kpiStore) KPICounters(_ context.Context, _ string, from, to time.Time) ([]kpis.Item, error) {
	s.from, s.to = from, to
	return s.items, s.err
}

func (s *kpiStore) Clicks(_ context.Context, _, code string, _, _ time.Time) (map[string]int, error) {
	return map[string]int{"2026-11-03": len(code), "2026-11-04": 1}, nil
}

func kpiHandler(s *kpiStore) *Handler {
	return &Handler{KPIs: &kpis.Service{Store: s}, Now: func() time.Time { return now },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestKPIsAnswersTheContract(t *testing.T) {
	s := &kpiStore{items: []kpis.Item{
		{SK: "DAY#2026-11-03", N: map[string]int64{"received": 3, "accepted": 2, "rejected": 1, "rejected:velocity_day": 1,
			"reached:demo": 2, "ttm:demo:1": 2, "reached:won": 1, "ttm:won:5": 1, "customers": 1,
			"revenue:EUR": 1234500, "earned:EUR": 10000, "paid:EUR": 10000}},
		{SK: "PARTNER#2026-11#ACME", N: map[string]int64{"referrals": 3, "customers": 1}},
	}}
	req := request("GET", "/admin/kpis", nil, "")
	req.QueryStringParameters = map[string]string{"program": "p1", "from": "2026-11-01", "to": "2026-11-30"}
	a := call(t, kpiHandler(s), req)
	if a.status != 200 {
		t.Fatalf("%d %v", a.status, a.body)
	}
	if s.from.Format(time.DateOnly) != "2026-11-01" || s.to.Format(time.DateOnly) != "2026-11-30" {
		t.Errorf("read %v..%v", s.from, s.to)
	}
	want := map[string]any{"program": "p1", "from": "2026-11-01", "to": "2026-11-30", "lost": 0.0, "expired": 0.0,
		"cost_per_customer": "100.00", "roi": 122.45}
	for k, v := range want {
		if a.body[k] != v {
			t.Errorf("%s = %v, want %v", k, a.body[k], v)
		}
	}
	refs := a.body["referrals"].(map[string]any)
	if refs["received"] != 3.0 || refs["accepted"] != 2.0 || refs["rejected"] != 1.0 {
		t.Errorf("referrals %v", refs)
	}
	if rev := a.body["revenue"].(map[string]any); rev["amount"] != "12345.00" || rev["currency"] != "EUR" {
		t.Errorf("revenue %v", rev)
	}
	if rc := a.body["reward_cost"].(map[string]any); rc["earned"] != "100.00" || rc["paid"] != "100.00" || rc["reversed"] != "0.00" || rc["currency"] != "EUR" {
		t.Errorf("reward_cost %v", rc)
	}
	funnel := a.body["funnel"].([]any)
	if len(funnel) != 2 || funnel[0].(map[string]any)["conversion"] != 1.0 || funnel[1].(map[string]any)["conversion"] != 0.5 {
		t.Errorf("funnel %v", funnel)
	}
	ttm := a.body["time_to_milestone"].([]any)
	if ttm[1].(map[string]any)["median_days"] != 5.0 || ttm[1].(map[string]any)["p90_days"] != 5.0 {
		t.Errorf("time_to_milestone %v", ttm)
	}
	top := a.body["partners"].(map[string]any)["top"].([]any)[0].(map[string]any)
	if top["referrer_id"] != "ACME" || top["referrals"] != 3.0 || top["customers"] != 1.0 || top["clicks"] != 5.0 {
		t.Errorf("top partner %v", top)
	}
}

func TestKPIsRefusesABadQuery(t *testing.T) {
	tests := []struct {
		name   string
		q      map[string]string
		status int
		code   string
		field  string
	}{
		{"no program", map[string]string{"from": "2026-11-01", "to": "2026-11-02"}, 400, "invalid_request", "program"},
		{"bad date", map[string]string{"program": "p1", "from": "2026-13-01", "to": "2026-11-02"}, 400, "invalid_request", "from"},
		{"to before from", map[string]string{"program": "p1", "from": "2026-11-03", "to": "2026-11-02"}, 400, "invalid_request", "to"},
		{"unknown parameter", map[string]string{"program": "p1", "limit": "5"}, 400, "invalid_request", "limit"},
		{"bad period", map[string]string{"program": "p1", "period": "decade"}, 400, "invalid_request", "period"},
		{"unknown program", map[string]string{"program": "nope"}, 404, "not_found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &kpiStore{}
			req := request("GET", "/admin/kpis", nil, "")
			req.QueryStringParameters = tc.q
			a := call(t, kpiHandler(s), req)
			if a.status != tc.status || errCode(a) != tc.code {
				t.Fatalf("%d %v", a.status, a.body)
			}
			if tc.field != "" {
				fields, _ := a.body["error"].(map[string]any)["fields"].(map[string]any)
				if fields[tc.field] == nil {
					t.Errorf("fields %v lack %s", fields, tc.field)
				}
			}
			if tc.status == 400 && !s.from.IsZero() {
				t.Error("a bad query read counters")
			}
		})
	}
}

func TestKPIsDefaultsToTheMonthAndRetriesFailures(t *testing.T) {
	s := &kpiStore{err: errors.New("throttled")}
	req := request("GET", "/admin/kpis", nil, "")
	req.QueryStringParameters = map[string]string{"program": "p1", "period": "week", "at": "2026-11-20"}
	if a := call(t, kpiHandler(s), req); a.status != 503 || errCode(a) != "temporarily_unavailable" {
		t.Fatalf("%d %v", a.status, a.body)
	}
	if s.from.Format(time.DateOnly) != "2026-11-16" || s.to.Format(time.DateOnly) != "2026-11-22" {
		t.Errorf("week read %v..%v", s.from, s.to)
	}
	s.err = nil
	req.QueryStringParameters = map[string]string{"program": "p1"}
	if a := call(t, kpiHandler(s), req); a.status != 200 || a.body["period"] != "month" || a.body["from"] != "2026-11-01" {
		t.Fatalf("%d %v", a.status, a.body)
	}
}
