package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/workflow"
)

// startStore remembers the first start of each milestone's wait.
type startStore struct {
	fakeStore
	started map[string]time.Time
}

func (s *startStore) StartWait(_ context.Context, id, milestone string, now time.Time) (time.Time, error) {
	if at, ok := s.started[milestone]; ok {
		return at, nil
	}
	s.started[milestone] = now
	return now, nil
}

func TestPlanWait(t *testing.T) {
	day := int64(24 * 3600)
	execStart := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name         string
		now          time.Time
		firstWait    *time.Time // an earlier execution began this wait
		deadline     int64
		hold         int64
		wantSeconds  int64
		wantContinue bool
	}{
		{"fits in this execution", execStart.Add(10 * 24 * time.Hour), nil, 90 * day, 0, 90 * day, false},
		{"hold counts against the budget", execStart.Add(200 * 24 * time.Hour), nil, 90 * day, 30 * day, 90 * day, false},
		{"deadline past the execution's year: wait what fits, then continue",
			execStart.Add(100 * 24 * time.Hour), nil, 365 * day, 30 * day, (365 - 100 - 30 - 1) * day, true},
		{"continued execution: the deadline runs from the first wait",
			execStart.Add(2 * time.Hour), ptr(execStart.Add(-200 * 24 * time.Hour)), 365 * day, 0, 165*day - 2*3600, false},
		{"deadline already passed: time out at once", execStart.Add(time.Hour), ptr(execStart.Add(-400 * 24 * time.Hour)), 365 * day, 0, 1, false},
		{"budget used up: continue at once", execStart.Add(364 * 24 * time.Hour), nil, 90 * day, 0, 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &startStore{started: map[string]time.Time{}}
			if c.firstWait != nil {
				st.started["won"] = *c.firstWait
			}
			h := &Handler{Store: st, Now: func() time.Time { return c.now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				ExecutionBudget: 365 * 24 * time.Hour, Slack: 24 * time.Hour}
			out, err := h.Plan(context.Background(), workflow.PlanInput{ReferralID: "ref_A", Milestone: "won",
				DeadlineSeconds: c.deadline, HoldSeconds: c.hold, ExecutionStartedAt: execStart.Format(time.RFC3339Nano)})
			if err != nil {
				t.Fatal(err)
			}
			if out.WaitSeconds != c.wantSeconds || out.Continues != c.wantContinue {
				t.Fatalf("plan = %+v, want %d s, continues %v", out, c.wantSeconds, c.wantContinue)
			}
		})
	}
}

func ptr(t time.Time) *time.Time { return &t }

func TestInvokeDispatchesOnKind(t *testing.T) {
	st := &startStore{fakeStore: fakeStore{}, started: map[string]time.Time{}}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	h := &Handler{Store: st, SFN: &fakeSFN{}, Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ExecutionBudget: 365 * 24 * time.Hour, Slack: time.Hour}
	out, err := h.Invoke(context.Background(), []byte(`{"kind":"plan","referral_id":"ref_A","milestone":"won","deadline_seconds":60,"hold_seconds":0,"execution_started_at":"2026-03-01T00:00:00Z"}`))
	if p, ok := out.(workflow.WaitPlan); err != nil || !ok || p.WaitSeconds != 60 || p.Continues {
		t.Fatalf("plan = %#v, %v", out, err)
	}
	if _, err := h.Invoke(context.Background(), []byte(`{"kind":"plan","referral_id":"ref_A","milestone":"won","deadline_seconds":60,"execution_started_at":"yesterday"}`)); err == nil {
		t.Fatal("a bad execution start time was accepted")
	}
	// A milestone callback without a token is refused, not planned.
	if _, err := h.Invoke(context.Background(), []byte(`{"kind":"milestone","referral_id":"ref_A","milestone":"won"}`)); err == nil {
		t.Fatal("a callback without a task token was accepted")
	}
}
