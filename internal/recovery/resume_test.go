package recovery

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
)

func attention(from referral.Status) *referral.Attention {
	return &referral.Attention{From: from, Error: "Sandbox.Timedout", Execution: id + "-2"}
}

func TestResume(t *testing.T) {
	cases := []struct {
		name      string
		status    referral.Status
		attention *referral.Attention
		run       Run
		execs     execs
		want      Result
		started   []string
		err       error
	}{
		{name: "needs attention: back to the status it had, in a new execution", status: referral.StatusNeedsAttention,
			attention: attention(referral.StatusInReview), run: Run{Execution: id + "-2", Resumes: 3}, execs: execs{id: succeeded, id + "-2": failed},
			want: Result{Status: referral.StatusInReview, Execution: id + "-3", Action: Resumed}, started: []string{id + "-3"}},
		{name: "a repeat finds it running", status: referral.StatusInReview, run: Run{Execution: id + "-3"}, execs: execs{id + "-3": running},
			want: Result{Status: referral.StatusInReview, Execution: id + "-3", Action: Running}},
		{name: "a repeat after a start that failed starts it", status: referral.StatusInReview, run: Run{Execution: id + "-3"}, execs: execs{},
			want: Result{Status: referral.StatusInReview, Execution: id + "-3", Action: Started}, started: []string{id + "-3"}},
		{name: "unknown previous status: start over", status: referral.StatusNeedsAttention, execs: execs{id: failed},
			want: Result{Status: referral.StatusReceived, Execution: id + "-2", Action: Resumed}, started: []string{id + "-2"}},
		{name: "still moving but its execution ended: no limit for an operator", status: referral.StatusInProgress, run: Run{Resumes: 7}, execs: execs{id: aborted},
			want: Result{Status: referral.StatusInProgress, Execution: id + "-2", Action: Resumed}, started: []string{id + "-2"}},
		{name: "final", status: referral.StatusLost, execs: execs{id: succeeded},
			want: Result{Status: referral.StatusLost, Execution: id, Action: Settled}, err: ErrNotResumable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := setup(c.status, c.run, c.execs)
			f.st.t.Attention = c.attention
			got, err := f.svc.Resume(context.Background(), id, events.ActorAdmin)
			c.want.ReferralID = id
			if !errors.Is(err, c.err) || got != c.want {
				t.Fatalf("Resume = %+v, %v; want %+v, %v", got, err, c.want, c.err)
			}
			if strings.Join(f.sf.started, ",") != strings.Join(c.started, ",") {
				t.Errorf("started %v, want %v", f.sf.started, c.started)
			}
			if f.st.t.Status != c.want.Status || f.st.t.Current() != c.want.Execution {
				t.Errorf("stored %s %s", f.st.t.Status, f.st.t.Current())
			}
			if c.want.Action != Resumed {
				if f.st.writes != 0 {
					t.Errorf("%d writes", f.st.writes)
				}
				return
			}
			if f.st.t.Attention != nil || f.st.t.Resumes != 0 {
				t.Errorf("attention %+v, resumes %d: a person's resume clears both", f.st.t.Attention, f.st.t.Resumes)
			}
			ev := f.st.evs[len(f.st.evs)-1]
			if ev.Type != events.ReferralResumed || ev.Actor != events.ActorAdmin || ev.Status != string(c.want.Status) ||
				ev.Get("from") != string(c.status) || ev.Get("execution") != c.want.Execution {
				t.Errorf("event %+v", ev)
			}
			// Repeating the resume starts nothing more.
			again, err := f.svc.Resume(context.Background(), id, events.ActorAdmin)
			if err != nil || again.Action != Running || again.Execution != c.want.Execution || len(f.sf.started) != len(c.started) {
				t.Errorf("repeat: %+v %v, started %v", again, err, f.sf.started)
			}
		})
	}
}

// Two resumes at once (an operator and the reconciler, or two clicks): the
// store's condition lets one through; the other finds the new execution.
func TestResumeRaceStartsOneExecution(t *testing.T) {
	f := setup(referral.StatusNeedsAttention, Run{}, execs{id: failed})
	f.st.t.Attention = attention(referral.StatusInProgress)
	// Another resume lands between this one's read and its write.
	f.st.moveOnce = referral.StatusInProgress
	f.st.t.Execution = id + "-2"
	f.sf.execs[id+"-2"] = running
	got, err := f.svc.Resume(context.Background(), id, events.ActorOperator)
	if err != nil || got.Action != Running || got.Execution != id+"-2" || len(f.sf.started) != 0 {
		t.Fatalf("%+v %v started %v", got, err, f.sf.started)
	}
}

func TestMark(t *testing.T) {
	f := setup(referral.StatusInProgress, Run{Execution: id + "-2"}, execs{})
	ok, err := f.svc.Mark(context.Background(), id, referral.Attention{Error: "wrapError",
		Cause: "store: key EMAIL#jane@acme.example:\n throttled"}, events.ActorWorkflow)
	a := f.st.t.Attention
	if err != nil || !ok || f.st.t.Status != referral.StatusNeedsAttention || a == nil {
		t.Fatalf("%v %v %+v", ok, err, f.st.t)
	}
	if a.From != referral.StatusInProgress || a.Cause != "store: key <email>: throttled" || a.Execution != id+"-2" || !a.At.Equal(t0) {
		t.Fatalf("attention %+v", a)
	}
	ev := f.st.evs[0]
	if ev.Type != events.ReferralNeedsAttention || ev.Status != "needs_attention" || ev.Get("from") != "in_progress" ||
		ev.Get("cause") != a.Cause || ev.Get("error") != "wrapError" || ev.Actor != events.ActorWorkflow {
		t.Fatalf("event %+v", ev)
	}
	if !strings.Contains(f.metrics.String(), `"ReferralsNeedingAttention":1`) || strings.Contains(f.metrics.String(), "jane") {
		t.Fatalf("metric %s", f.metrics)
	}
	// Marking again, or a final referral, changes nothing.
	if ok, err := f.svc.Mark(context.Background(), id, referral.Attention{Error: "x"}, events.ActorWorkflow); ok || err != nil || len(f.st.evs) != 1 {
		t.Fatalf("again: %v %v", ok, err)
	}
	f = setup(referral.StatusCompleted, Run{}, execs{})
	if ok, err := f.svc.Mark(context.Background(), id, referral.Attention{Error: "x"}, events.ActorWorkflow); ok || err != nil || f.st.writes != 0 {
		t.Fatalf("final: %v %v", ok, err)
	}
}

// The referral moves between the read and the write (an admin's review
// decision): the mark records the status it really had.
func TestMarkRereadsAfterAMove(t *testing.T) {
	f := setup(referral.StatusInReview, Run{}, execs{})
	f.st.moveOnce = referral.StatusInProgress
	ok, err := f.svc.Mark(context.Background(), id, referral.Attention{Error: "x"}, events.ActorWorkflow)
	if err != nil || !ok || f.st.t.Attention.From != referral.StatusInProgress {
		t.Fatalf("%v %v %+v", ok, err, f.st.t.Attention)
	}
}
