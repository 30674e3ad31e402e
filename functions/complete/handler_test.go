package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/activity"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/rewardstest"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

// fakeStore mirrors store.Transition (allowed from referral.From(to), a
// terminal status repeated is a no-op that records nothing, the event is
// written with the move) and store.Record; rewards and events live in the
// in-memory rewards repository (status changes conditional on the current
// status, each written with its event), shared with the rewards service.
type fakeStore struct {
	*rewardstest.Repo
	r    *referral.Referral
	cb   workflow.Callbacks // stored beside the referral
	sets []map[string]any
	// execution is the referral's current execution ("": the first).
	execution string
}

func (f *fakeStore) Transition(ctx context.Context, id string, to referral.Status, now time.Time, set map[string]any, ev events.Event) error {
	if f.r == nil || f.r.ID != id {
		return store.ErrNotFound
	}
	if f.r.Status == to && to.Terminal() {
		return nil
	}
	if !slices.Contains(referral.From(to), f.r.Status) {
		return fmt.Errorf("%s → %s: %w", f.r.Status, to, store.ErrConflict)
	}
	if err := f.Record(ctx, ev); err != nil {
		return err
	}
	f.r.Status, f.r.UpdatedAt = to, now
	f.sets = append(f.sets, set)
	if v, ok := set["wait_token"]; ok {
		f.cb.WaitToken = v.(string)
	}
	if v, ok := set["review_token"]; ok {
		f.cb.ReviewToken = v.(string)
	}
	return nil
}

// AdvanceExecution records where the referral runs, if from still did.
func (f *fakeStore) AdvanceExecution(_ context.Context, id, from, to string) error {
	if f.execution == "" && from == id || f.execution == from {
		f.execution = to
	}
	return nil
}

var t0 = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

const id = "ref_01J0000000000000000000000C"

// rewardIDs are the test referral's rewards, each in the status its name
// says (one per milestone, all for the referrer).
var rewardIDs = []string{"rw_pending", "rw_hold", "rw_approved", "rw_paid", "rw_failed", "rw_voided"}

func setup(status referral.Status) (*Handler, *fakeStore) {
	st := &fakeStore{Repo: rewardstest.New(), r: &referral.Referral{ID: id, Status: status},
		cb: workflow.Callbacks{WaitToken: "wt", ReviewToken: "rt"}}
	statuses := []rewards.Status{rewards.StatusPending, rewards.StatusOnHold, rewards.StatusApproved, rewards.StatusPaid, rewards.StatusFailed, rewards.StatusVoided}
	for i, rid := range rewardIDs {
		st.Put(rewards.Reward{ID: rid, ReferralID: id, ProgramID: "p", Milestone: strings.TrimPrefix(rid, "rw_"), Party: "referrer", Status: statuses[i]})
	}
	clock := func() time.Time { return t0 }
	return &Handler{Store: st, Rewards: &rewards.Service{Repo: st.Repo, Now: clock}, Now: clock,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, st
}

// status returns the stored status of a reward by id.
func (f *fakeStore) status(rid string) rewards.Status {
	rw, _ := f.Get(id, strings.TrimPrefix(rid, "rw_"), "referrer")
	return rw.Status
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
			if st.r.Status != c.want || st.cb.WaitToken != "" || st.cb.ReviewToken != "" {
				t.Fatalf("referral %s wait=%q review=%q", st.r.Status, st.cb.WaitToken, st.cb.ReviewToken)
			}
			want := map[string]rewards.Status{"rw_pending": rewards.StatusVoided, "rw_hold": rewards.StatusVoided, "rw_approved": rewards.StatusVoided,
				"rw_paid": rewards.StatusPaid, "rw_failed": rewards.StatusFailed, "rw_voided": rewards.StatusVoided}
			if c.want == referral.StatusCompleted {
				want["rw_pending"], want["rw_hold"], want["rw_approved"] = rewards.StatusPending, rewards.StatusOnHold, rewards.StatusApproved
			}
			for _, rid := range rewardIDs {
				if got := st.status(rid); got != want[rid] {
					t.Errorf("%s is %s, want %s", rid, got, want[rid])
				}
			}
			checkClosedEvents(t, st, c.outcome, c.want, c.voided)
			// Repeated (a retry): the status stays, nothing more is voided
			// or recorded.
			n := len(st.AllEvents())
			out, err = h.Handle(context.Background(), workflow.CompleteInput{ReferralID: id, Outcome: c.outcome})
			if err != nil || out["voided"] != 0 || st.r.Status != c.want || len(st.AllEvents()) != n {
				t.Fatalf("retry: %v %v, %d events (had %d)", out, err, len(st.AllEvents()), n)
			}
		})
	}
}

// checkClosedEvents: the close is recorded with the move (referral.closed,
// its activity line), then one reward.voided event per voided reward.
func checkClosedEvents(t *testing.T, st *fakeStore, outcome string, to referral.Status, voided int) {
	t.Helper()
	evs := st.AllEvents()
	if len(evs) != voided+1 {
		t.Fatalf("events %+v, want the close and %d voided", evs, voided)
	}
	closed, line := evs[0], activity.Describe(evs[0])
	if closed.Type != events.ReferralClosed || closed.Status != string(to) || closed.ReferralID != id || closed.Actor != events.ActorWorkflow ||
		!closed.At.Equal(t0) || line.Detail == "" || line.Detail == string(events.ReferralClosed) {
		t.Fatalf("close event %+v, activity %q", closed, line.Detail)
	}
	for _, ev := range evs[1:] {
		if ev.Type != events.RewardVoided || ev.Status != string(rewards.StatusVoided) || ev.Get("reason") != "referral "+outcome ||
			activity.Describe(ev).Detail != "Reward "+ev.RewardID+" voided: referral "+outcome || st.status(ev.RewardID) != rewards.StatusVoided {
			t.Errorf("event %+v", ev)
		}
	}
}

func TestCompleteErrors(t *testing.T) {
	h, st := setup(referral.StatusInProgress)
	if _, err := h.Handle(context.Background(), workflow.CompleteInput{ReferralID: id, Outcome: "won"}); err == nil {
		t.Fatal("unknown outcome accepted")
	}
	if st.r.Status != referral.StatusInProgress || len(st.AllEvents()) != 0 {
		t.Fatal("an unknown outcome changed something")
	}
	// A move the status rules forbid is an error, and nothing is voided.
	h, st = setup(referral.StatusCompleted)
	if _, err := h.Handle(context.Background(), workflow.CompleteInput{ReferralID: id, Outcome: "lost"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("completed → lost: %v", err)
	}
	if st.status("rw_pending") != rewards.StatusPending || len(st.AllEvents()) != 0 {
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
		if c.current != id {
			st.execution = c.current
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
		if st.execution != c.next {
			t.Fatalf("the referral runs in %q, want %s", st.execution, c.next)
		}
		evs := st.AllEvents()
		if len(evs) != 1 || evs[0].Type != events.ReferralContinued || evs[0].ReferralID != id || evs[0].Get("from") != c.current ||
			evs[0].Get("to") != c.next || !strings.Contains(activity.Describe(evs[0]).Detail, c.next) {
			t.Fatalf("events %+v", evs)
		}
	}
	h, st := setup(referral.StatusInProgress)
	h.Continue = func(context.Context, string, string) error { return errors.New("throttled") }
	if _, err := h.Handle(context.Background(), workflow.CompleteInput{ReferralID: id, Outcome: "continue", Execution: id}); err == nil {
		t.Fatal("a failed start must fail the step, so Step Functions retries it")
	}
	if evs := st.AllEvents(); len(evs) != 0 {
		t.Fatalf("a failed start recorded %+v", evs)
	}
}
