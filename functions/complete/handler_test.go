package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/ledger"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

// fakeStore mirrors store.Transition (CanMove, terminal repeat is a no-op)
// and SetRewardStatus (conditional on the current status).
type fakeStore struct {
	r       *referral.Referral
	rewards []ledger.Reward
	acts    []store.Activity
	sets    []map[string]any
}

func (f *fakeStore) Transition(_ context.Context, id string, to referral.Status, now time.Time, set map[string]any) (*referral.Referral, error) {
	if f.r == nil || f.r.ID != id {
		return nil, store.ErrNotFound
	}
	if f.r.Status == to && to.Terminal() {
		c := *f.r
		return &c, nil
	}
	if !referral.CanMove(f.r.Status, to) {
		c := *f.r
		return &c, fmt.Errorf("%s → %s: %w", f.r.Status, to, store.ErrConflict)
	}
	f.r.Status, f.r.UpdatedAt = to, now
	f.sets = append(f.sets, set)
	if v, ok := set["wait_token"]; ok {
		f.r.WaitToken = v.(string)
	}
	if v, ok := set["review_token"]; ok {
		f.r.ReviewToken = v.(string)
	}
	c := *f.r
	return &c, nil
}

func (f *fakeStore) Rewards(context.Context, string) ([]ledger.Reward, error) {
	return append([]ledger.Reward(nil), f.rewards...), nil
}

func (f *fakeStore) SetRewardStatus(_ context.Context, r ledger.Reward, from []ledger.Status, to ledger.Status, reason string, now time.Time) (bool, error) {
	for i := range f.rewards {
		if f.rewards[i].ID != r.ID {
			continue
		}
		for _, s := range from {
			if f.rewards[i].Status == s {
				f.rewards[i].Status, f.rewards[i].StatusReason = to, reason
				return true, nil
			}
		}
	}
	return false, nil
}

func (f *fakeStore) AddActivity(_ context.Context, _ string, acts ...store.Activity) error {
	f.acts = append(f.acts, acts...)
	return nil
}

var t0 = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

const id = "ref_01J0000000000000000000000C"

func setup(status referral.Status) (*Handler, *fakeStore) {
	st := &fakeStore{
		r: &referral.Referral{ID: id, Status: status, WaitToken: "wt", ReviewToken: "rt"},
		rewards: []ledger.Reward{
			{ID: "rw_pending", Status: ledger.StatusPending},
			{ID: "rw_hold", Status: ledger.StatusOnHold},
			{ID: "rw_approved", Status: ledger.StatusApproved},
			{ID: "rw_paid", Status: ledger.StatusPaid},
			{ID: "rw_failed", Status: ledger.StatusFailed},
			{ID: "rw_voided", Status: ledger.StatusVoided},
		},
	}
	return &Handler{Store: st, Now: func() time.Time { return t0 }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, st
}

func TestComplete(t *testing.T) {
	cases := []struct {
		outcome string
		from    referral.Status
		want    referral.Status
		voided  int
	}{
		{"completed", referral.StatusInProgress, referral.StatusCompleted, 0},
		{"lost", referral.StatusInProgress, referral.StatusLost, 3},
		{"expired", referral.StatusInProgress, referral.StatusExpired, 3},
		{"rejected", referral.StatusVerifying, referral.StatusRejected, 3},
		{"rejected", referral.StatusInReview, referral.StatusRejected, 3},
	}
	for _, c := range cases {
		t.Run(c.outcome+" from "+string(c.from), func(t *testing.T) {
			h, st := setup(c.from)
			out, err := h.Handle(context.Background(), workflow.CompleteInput{ReferralID: id, Outcome: c.outcome})
			if err != nil {
				t.Fatal(err)
			}
			if out["status"] != c.want || out["voided"] != c.voided {
				t.Fatalf("output %v", out)
			}
			if st.r.Status != c.want || st.r.WaitToken != "" || st.r.ReviewToken != "" {
				t.Fatalf("referral %s wait=%q review=%q", st.r.Status, st.r.WaitToken, st.r.ReviewToken)
			}
			want := map[string]ledger.Status{"rw_pending": ledger.StatusVoided, "rw_hold": ledger.StatusVoided, "rw_approved": ledger.StatusVoided,
				"rw_paid": ledger.StatusPaid, "rw_failed": ledger.StatusFailed, "rw_voided": ledger.StatusVoided}
			if c.want == referral.StatusCompleted {
				want["rw_pending"], want["rw_hold"], want["rw_approved"] = ledger.StatusPending, ledger.StatusOnHold, ledger.StatusApproved
			}
			for _, rw := range st.rewards {
				if rw.Status != want[rw.ID] {
					t.Errorf("%s is %s, want %s", rw.ID, rw.Status, want[rw.ID])
				}
			}
			last := st.acts[len(st.acts)-1]
			if last.Type != "closed" || last.Data["status"] != string(c.want) || len(st.acts) != c.voided+1 {
				t.Fatalf("activities %+v", st.acts)
			}
			// Repeated (a retry): the status stays, nothing more is voided.
			out, err = h.Handle(context.Background(), workflow.CompleteInput{ReferralID: id, Outcome: c.outcome})
			if err != nil || out["voided"] != 0 || st.r.Status != c.want {
				t.Fatalf("retry: %v %v", out, err)
			}
		})
	}
}

func TestCompleteErrors(t *testing.T) {
	h, st := setup(referral.StatusInProgress)
	if _, err := h.Handle(context.Background(), workflow.CompleteInput{ReferralID: id, Outcome: "won"}); err == nil {
		t.Fatal("unknown outcome accepted")
	}
	if st.r.Status != referral.StatusInProgress || len(st.acts) != 0 {
		t.Fatal("an unknown outcome changed something")
	}
	// A move the status rules forbid is an error, and nothing is voided.
	h, st = setup(referral.StatusCompleted)
	if _, err := h.Handle(context.Background(), workflow.CompleteInput{ReferralID: id, Outcome: "lost"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("completed → lost: %v", err)
	}
	if st.rewards[0].Status != ledger.StatusPending || len(st.acts) != 0 {
		t.Fatal("a refused move voided rewards")
	}
}

// A referral whose execution ran out of time continues in a new execution
// named after it (<id>-2, <id>-3, ...): deterministic, so a retried step
// starts nothing twice (StartExecution answers ExecutionAlreadyExists).
func TestContinueStartsTheNextExecution(t *testing.T) {
	cases := []struct{ current, next string }{
		{id, id + "-2"},
		{id + "-2", id + "-3"},
		{id + "-19", id + "-20"},
	}
	for _, c := range cases {
		h, st := setup(referral.StatusInProgress)
		var started []string
		h.Continue = func(_ context.Context, referralID, name string) error {
			started = append(started, referralID+" as "+name)
			return nil
		}
		out, err := h.Handle(context.Background(), workflow.CompleteInput{ReferralID: id, Outcome: "continue", Execution: c.current})
		if err != nil {
			t.Fatal(err)
		}
		if len(started) != 1 || started[0] != id+" as "+c.next || out["continued_as"] != c.next {
			t.Fatalf("from %s: started %v, output %v", c.current, started, out)
		}
		if len(st.sets) != 0 {
			t.Fatalf("continuing changed the status (%d transitions)", len(st.sets))
		}
		if len(st.acts) != 1 || !strings.Contains(st.acts[0].Detail, c.next) {
			t.Fatalf("activity %+v", st.acts)
		}
	}
	h, _ := setup(referral.StatusInProgress)
	h.Continue = func(context.Context, string, string) error { return errors.New("throttled") }
	if _, err := h.Handle(context.Background(), workflow.CompleteInput{ReferralID: id, Outcome: "continue", Execution: id}); err == nil {
		t.Fatal("a failed start must fail the step, so Step Functions retries it")
	}
}
