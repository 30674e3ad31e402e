package storetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

func move(t *testing.T, st *store.Store, id string, at time.Time, to ...referral.Status) {
	t.Helper()
	for _, s := range to {
		if err := st.Transition(context.Background(), id, s, at, nil, events.New(events.ReferralVerifying, id, "test", at).WithStatus(string(s))); err != nil {
			t.Fatalf("%s → %s: %v", id, s, err)
		}
	}
}

func tracked(t *testing.T, st *store.Store, id string) *recovery.Tracked {
	t.Helper()
	tr, err := st.Tracked(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// A referral's needs_attention, its cause and which execution carries it
// are conditional writes with their event, so that concurrent marks and
// resumes (the workflow, an operator, the reconciler) apply once.
func TestNeedsAttentionAndResumeAreConditionalWrites(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	const id = "ref_R"
	create(t, st, newReferral(id, "r@r.example", ""))
	move(t, st, id, t0, referral.StatusVerifying, referral.StatusInProgress)
	if tr := tracked(t, st, id); tr.Current() != id || tr.Resumes != 0 || tr.Attention != nil {
		t.Fatalf("new referral's run %+v", tr.Run)
	}
	at := t0.Add(time.Minute)
	a := referral.Attention{From: referral.StatusInProgress, Error: "Sandbox.Timedout", Cause: "Task timed out", Execution: id + "-2", At: at}
	ev := events.New(events.ReferralNeedsAttention, id, events.ActorWorkflow, at).WithStatus("needs_attention")
	if ok, err := st.MarkNeedsAttention(ctx, id, referral.StatusInReview, a, ev, at); ok || err != nil {
		t.Fatalf("marked from a status it does not have: %v %v", ok, err)
	}
	if ok, err := st.MarkNeedsAttention(ctx, id, referral.StatusInProgress, a, ev, at); !ok || err != nil {
		t.Fatalf("mark: %v %v", ok, err)
	}
	tr := tracked(t, st, id)
	if tr.Status != referral.StatusNeedsAttention || tr.Attention == nil || *tr.Attention != a || tr.Current() != id+"-2" {
		t.Fatalf("after mark: %s %+v %s", tr.Status, tr.Attention, tr.Current())
	}
	if ids, _ := candidateIDs(ctx, t, st, referral.StatusNeedsAttention, at.Add(time.Second), 10); len(ids) != 1 || ids[0] != id {
		t.Fatalf("status index: %v", ids)
	}
	resume := recovery.Change{From: referral.StatusNeedsAttention, To: referral.StatusInProgress, Prev: id, Next: id + "-3",
		Event: events.New(events.ReferralResumed, id, events.ActorAdmin, at).WithStatus("in_progress")}
	if ok, err := st.ChangeRun(ctx, id, resume, at); ok || err != nil {
		t.Fatalf("resumed from an execution that is not current: %v %v", ok, err)
	}
	resume.Prev = id + "-2"
	if ok, err := st.ChangeRun(ctx, id, resume, at); !ok || err != nil {
		t.Fatalf("resume: %v %v", ok, err)
	}
	if ok, _ := st.ChangeRun(ctx, id, resume, at); ok {
		t.Fatal("the same resume applied twice")
	}
	tr = tracked(t, st, id)
	if tr.Status != referral.StatusInProgress || tr.Attention != nil || tr.Current() != id+"-3" || tr.Resumes != 0 {
		t.Fatalf("after resume: %s %+v %s", tr.Status, tr.Attention, tr.Current())
	}
	evs, _ := st.Events(ctx, id)
	var types []events.Type
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if n := len(types); n < 2 || types[n-2] != events.ReferralNeedsAttention || types[n-1] != events.ReferralResumed {
		t.Fatalf("events %v", types)
	}
	// A continuation found later moves the run forward, never back.
	if err := st.AdvanceExecution(ctx, id, id+"-2", id+"-9"); err != nil || tracked(t, st, id).Current() != id+"-3" {
		t.Fatalf("advanced from a stale execution: %v", err)
	}
	if err := st.AdvanceExecution(ctx, id, id+"-3", id+"-4"); err != nil || tracked(t, st, id).Current() != id+"-4" {
		t.Fatalf("advance: %v", err)
	}
	// The first execution is named after the referral and not stored.
	create(t, st, newReferral("ref_S", "s@s.example", ""))
	c := recovery.Change{From: referral.StatusReceived, To: referral.StatusReceived, Prev: "ref_S", Next: "ref_S-2", Resumes: 1,
		Event: events.New(events.ReferralResumed, "ref_S", events.ActorReconciler, at)}
	if ok, err := st.ChangeRun(ctx, "ref_S", c, at); !ok || err != nil {
		t.Fatalf("resume of a first execution: %v %v", ok, err)
	}
	if tr := tracked(t, st, "ref_S"); tr.Current() != "ref_S-2" || tr.Resumes != 1 {
		t.Fatalf("run %+v", tr.Run)
	}
}

// The reconciler looks at the referrals still moving that changed least
// recently, across statuses; one it looked at goes behind the others.
func TestCandidatesOldestFirstAcrossStatusesAndMoveToBack(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	active := []referral.Status{referral.StatusReceived, referral.StatusVerifying, referral.StatusInReview, referral.StatusInProgress}
	for i, c := range []struct {
		id string
		to []referral.Status
	}{
		{"ref_1", []referral.Status{referral.StatusVerifying, referral.StatusInProgress}},
		{"ref_2", nil},
		{"ref_3", []referral.Status{referral.StatusVerifying, referral.StatusInReview}},
		{"ref_4", []referral.Status{referral.StatusVerifying, referral.StatusInProgress, referral.StatusCompleted}},
		{"ref_5", []referral.Status{referral.StatusVerifying}},
	} {
		r := newReferral(c.id, c.id+"@x.example", "")
		r.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
		create(t, st, r)
		move(t, st, c.id, r.CreatedAt, c.to...)
	}
	got, err := st.Candidates(ctx, active, t0.Add(time.Hour), 3)
	want := []recovery.Candidate{{ID: "ref_1", Status: referral.StatusInProgress}, {ID: "ref_2", Status: referral.StatusReceived}, {ID: "ref_3", Status: referral.StatusInReview}}
	if err != nil || len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("Candidates = %v, %v; want %v", got, err, want)
	}
	if got, _ := st.Candidates(ctx, active, t0.Add(90*time.Second), 10); len(got) != 2 {
		t.Fatalf("cutoff: %v", got)
	}
	if err := st.MoveToBack(ctx, "ref_1", referral.StatusInProgress, t0.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.MoveToBack(ctx, "ref_2", referral.StatusInProgress, t0.Add(30*time.Minute)); err != nil {
		t.Fatal(err) // not in that status: nothing happens
	}
	got, _ = st.Candidates(ctx, active, t0.Add(time.Hour), 10)
	var ids []string
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	if len(ids) != 4 || ids[0] != "ref_2" || ids[3] != "ref_1" {
		t.Fatalf("after MoveToBack: %v", ids)
	}
}
