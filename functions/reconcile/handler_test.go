package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/referral"
)

type fakeStore struct {
	ids      []string
	err      error
	status   referral.Status
	cutoff   time.Time
	limit    int32
	requeued []string
}

func (f *fakeStore) Requeue(_ context.Context, id string, _ time.Time) error {
	f.requeued = append(f.requeued, id)
	return nil
}

func (f *fakeStore) ReferralsByStatus(_ context.Context, status referral.Status, cutoff time.Time, limit int32) ([]string, error) {
	f.status, f.cutoff, f.limit = status, cutoff, limit
	return f.ids, f.err
}

func TestReconcile(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	st := &fakeStore{ids: []string{"ref_A", "ref_B", "ref_C"}}
	var started []string
	h := &Handler{Store: st, Now: func() time.Time { return now }, Grace: 2 * time.Minute,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Start: func(_ context.Context, id string) error {
			started = append(started, id)
			if id == "ref_B" {
				return errors.New("throttled")
			}
			return nil
		}}
	res, err := h.Handle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res != (Result{Found: 3, Started: 2, Failed: 1}) {
		t.Fatalf("result %+v", res)
	}
	if !reflect.DeepEqual(started, []string{"ref_A", "ref_B", "ref_C"}) {
		t.Fatalf("started %v", started)
	}
	if st.status != referral.StatusReceived || !st.cutoff.Equal(now.Add(-2*time.Minute)) || st.limit != 100 {
		t.Fatalf("query %s %v %d", st.status, st.cutoff, st.limit)
	}
	// Every referral tried goes to the back of the queue, so one whose
	// execution exists but failed before Verify cannot starve newer ones.
	if !reflect.DeepEqual(st.requeued, []string{"ref_A", "ref_B", "ref_C"}) {
		t.Fatalf("requeued %v", st.requeued)
	}
}

func TestReconcileNothingAndErrors(t *testing.T) {
	h := &Handler{Store: &fakeStore{}, Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Start: func(context.Context, string) error { t.Fatal("started with nothing listed"); return nil }}
	if res, err := h.Handle(context.Background()); err != nil || res != (Result{}) {
		t.Fatalf("%+v %v", res, err)
	}
	boom := errors.New("query failed")
	h.Store = &fakeStore{err: boom}
	if _, err := h.Handle(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}
