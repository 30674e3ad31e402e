package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/referral"
)

type fakeStore struct {
	found    []recovery.Candidate
	err      error
	statuses []referral.Status
	cutoff   time.Time
	limit    int
	moved    []string
}

func (f *fakeStore) Candidates(_ context.Context, statuses []referral.Status, cutoff time.Time, limit int) ([]recovery.Candidate, error) {
	f.statuses, f.cutoff, f.limit = statuses, cutoff, limit
	return f.found, f.err
}

func (f *fakeStore) MoveToBack(_ context.Context, id string, status referral.Status, _ time.Time) error {
	f.moved = append(f.moved, id+":"+string(status))
	return nil
}

// fakeChecker answers each referral's action, or an error.
type fakeChecker struct {
	actions map[string]recovery.Action
	checked []string
}

func (f *fakeChecker) Check(_ context.Context, id string) (recovery.Result, error) {
	f.checked = append(f.checked, id)
	a, ok := f.actions[id]
	if !ok {
		return recovery.Result{}, errors.New("throttled")
	}
	return recovery.Result{ReferralID: id, Action: a}, nil
}

func TestReconcile(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	st := &fakeStore{found: []recovery.Candidate{
		{ID: "ref_A", Status: referral.StatusReceived}, {ID: "ref_B", Status: referral.StatusInProgress},
		{ID: "ref_C", Status: referral.StatusInReview}, {ID: "ref_D", Status: referral.StatusVerifying},
		{ID: "ref_E", Status: referral.StatusInProgress}, {ID: "ref_F", Status: referral.StatusInProgress},
	}}
	ck := &fakeChecker{actions: map[string]recovery.Action{"ref_A": recovery.Started, "ref_C": recovery.Resumed,
		"ref_D": recovery.Marked, "ref_E": recovery.Running, "ref_F": recovery.Settled}}
	h := &Handler{Store: st, Recovery: ck, Now: func() time.Time { return now }, Grace: 2 * time.Minute,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	res, err := h.Handle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res != (Result{Found: 6, Started: 1, Failed: 1, Resumed: 1, Marked: 1, Running: 1, Settled: 1}) {
		t.Fatalf("result %+v", res)
	}
	// Every status still moving is covered, older than the grace, bounded.
	if !reflect.DeepEqual(st.statuses, []referral.Status{"received", "verifying", "in_review", "in_progress"}) ||
		!st.cutoff.Equal(now.Add(-2*time.Minute)) || st.limit != DefaultBatch {
		t.Fatalf("query %v %v %d", st.statuses, st.cutoff, st.limit)
	}
	// One that fails does not stop the others, and every referral looked
	// at goes to the back of its status, so none is starved.
	if !reflect.DeepEqual(ck.checked, []string{"ref_A", "ref_B", "ref_C", "ref_D", "ref_E", "ref_F"}) {
		t.Fatalf("checked %v", ck.checked)
	}
	want := []string{"ref_A:received", "ref_B:in_progress", "ref_C:in_review", "ref_D:verifying", "ref_E:in_progress", "ref_F:in_progress"}
	if !reflect.DeepEqual(st.moved, want) {
		t.Fatalf("moved %v", st.moved)
	}
}

func TestReconcileNothingAndErrors(t *testing.T) {
	h := &Handler{Store: &fakeStore{}, Recovery: &fakeChecker{}, Now: time.Now, Batch: 7, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if res, err := h.Handle(context.Background()); err != nil || res != (Result{}) {
		t.Fatalf("%+v %v", res, err)
	}
	if h.Store.(*fakeStore).limit != 7 {
		t.Fatalf("batch %d", h.Store.(*fakeStore).limit)
	}
	boom := errors.New("query failed")
	h.Store = &fakeStore{err: boom}
	if _, err := h.Handle(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}
