package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/referral"
)

// fakeStore answers the active statuses with found, and needs_attention
// with the first of waiting (the status index's order) read back from it.
type fakeStore struct {
	found    []recovery.Candidate
	err      error
	statuses []referral.Status
	cutoff   time.Time
	limit    int
	moved    []string

	waiting    []*recovery.Tracked
	waitingErr error
	readErr    error
	waitQuery  string
}

func (f *fakeStore) Candidates(_ context.Context, statuses []referral.Status, cutoff time.Time, limit int) ([]recovery.Candidate, error) {
	if len(statuses) == 1 && statuses[0] == referral.StatusNeedsAttention {
		f.waitQuery = fmt.Sprintf("%s limit %d", cutoff.Format(time.RFC3339), limit)
		if f.waitingErr != nil || len(f.waiting) == 0 {
			return nil, f.waitingErr
		}
		return []recovery.Candidate{{ID: f.waiting[0].ID, Status: referral.StatusNeedsAttention}}, nil
	}
	f.statuses, f.cutoff, f.limit = statuses, cutoff, limit
	return f.found, f.err
}

func (f *fakeStore) Tracked(_ context.Context, id string) (*recovery.Tracked, error) {
	for _, t := range f.waiting {
		if t.ID == id && f.readErr == nil {
			return t, nil
		}
	}
	return nil, errors.Join(errors.New("not found"), f.readErr)
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

func waiting(id string, st referral.Status, marked time.Time) *recovery.Tracked {
	r := &referral.Referral{ID: id, Status: st}
	if st == referral.StatusNeedsAttention {
		r.Attention = &referral.Attention{From: referral.StatusInProgress, Error: "Sandbox.Timedout", At: marked}
	}
	return &recovery.Tracked{Referral: r}
}

// Every run publishes the age of the referral waiting longest in
// needs_attention, 0 when none waits (a level the alarm reads as its
// Maximum), in two reads whatever the number of referrals.
func TestReconcilePublishesOldestNeedsAttention(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		waiting []*recovery.Tracked
		want    int64
	}{
		{"none waits", nil, 0},
		{"one marked a day and a minute ago", []*recovery.Tracked{waiting("ref_A", referral.StatusNeedsAttention, now.Add(-24*time.Hour-time.Minute))}, 86460},
		{"the index's first is the oldest", []*recovery.Tracked{
			waiting("ref_B", referral.StatusNeedsAttention, now.Add(-90*time.Second)),
			waiting("ref_C", referral.StatusNeedsAttention, now.Add(-time.Second))}, 90},
		{"resumed between the two reads", []*recovery.Tracked{waiting("ref_D", referral.StatusInProgress, now.Add(-time.Hour))}, 0},
		{"marked after the clock read (clock skew)", []*recovery.Tracked{waiting("ref_E", referral.StatusNeedsAttention, now.Add(time.Second))}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			st := &fakeStore{waiting: tc.waiting}
			h := &Handler{Store: st, Recovery: &fakeChecker{}, Now: func() time.Time { return now },
				Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New(&buf, "reconcile", func() time.Time { return now })}
			res, err := h.Handle(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.OldestNeedsAttention != tc.want {
				t.Errorf("result %+v, want oldest %d", res, tc.want)
			}
			if st.waitQuery != "2026-01-02T12:00:00Z limit 1" {
				t.Errorf("needs_attention query %q: want every referral marked before now, the first only", st.waitQuery)
			}
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("metric line %q: %v", buf.String(), err)
			}
			if line[metrics.OldestNeedsAttention] != float64(tc.want) || !bytes.Contains(buf.Bytes(), []byte(`"Unit":"Seconds"`)) {
				t.Errorf("metric line %s, want %s = %d seconds", buf.String(), metrics.OldestNeedsAttention, tc.want)
			}
			if bytes.Contains(buf.Bytes(), []byte("ref_")) {
				t.Errorf("metric line names a referral: %s", buf.String())
			}
		})
	}
}

// When the gauge cannot be measured the run still looks at every referral,
// publishes no misleading 0, and fails so the errors alarm says so.
func TestReconcileGaugeFailureFailsTheRunAfterTheWork(t *testing.T) {
	boom := errors.New("throttled")
	for _, st := range []*fakeStore{
		{found: []recovery.Candidate{{ID: "ref_A", Status: referral.StatusReceived}}, waitingErr: boom},
		{found: []recovery.Candidate{{ID: "ref_A", Status: referral.StatusReceived}}, readErr: boom,
			waiting: []*recovery.Tracked{waiting("ref_W", referral.StatusNeedsAttention, time.Now())}},
	} {
		var buf bytes.Buffer
		ck := &fakeChecker{actions: map[string]recovery.Action{"ref_A": recovery.Started}}
		h := &Handler{Store: st, Recovery: ck, Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Metrics: metrics.New(&buf, "reconcile", time.Now)}
		res, err := h.Handle(context.Background())
		if !errors.Is(err, boom) {
			t.Errorf("err %v, want %v", err, boom)
		}
		if res.Started != 1 || !reflect.DeepEqual(st.moved, []string{"ref_A:received"}) {
			t.Errorf("the referrals were not looked at first: %+v moved %v", res, st.moved)
		}
		if buf.Len() != 0 {
			t.Errorf("published %s", buf.String())
		}
	}
}
