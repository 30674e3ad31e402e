package workflows

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/workflow"
)

const markState = "Mark needs attention"

func lambdaTask(s state) bool {
	return s.Type == "Task" && strings.HasPrefix(s.Resource, "arn:aws:states:::lambda:invoke")
}

func callback(s state) bool { return strings.HasSuffix(s.Resource, ".waitForTaskToken") }

// Every step is idempotent, so every Lambda task retries whatever a
// function reports (its Go error type, Sandbox.Timedout, Lambda.Unknown:
// States.TaskFailed matches them all) with growing, jittered delays; tasks
// that are not callbacks also retry States.Timeout.
func TestEveryLambdaTaskRetriesFailuresWithBackoff(t *testing.T) {
	n := 0
	walk(load(t), "", func(path string, s state, _ machine) {
		if !lambdaTask(s) {
			return
		}
		n++
		var r *retrier
		for i := range s.Retry {
			if slices.Contains(s.Retry[i].ErrorEquals, "States.TaskFailed") {
				r = &s.Retry[i]
			}
		}
		if r == nil {
			t.Errorf("%s: no retrier for States.TaskFailed", path)
			return
		}
		if r.attempts() < 3 || r.IntervalSeconds < 1 || r.BackoffRate < 2 || r.MaxDelaySeconds < 1 || r.JitterStrategy != "FULL" {
			t.Errorf("%s: retrier %+v: want at least 3 attempts, growing (BackoffRate ≥ 2), capped (MaxDelaySeconds) and jittered (FULL)", path, *r)
		}
		if !callback(s) && !slices.Contains(r.ErrorEquals, "States.Timeout") {
			t.Errorf("%s: States.Timeout is not retried", path)
		}
	})
	if n < 13 {
		t.Fatalf("found %d Lambda tasks; the definition lost some", n)
	}
}

// A named error says what happened to the referral (or that its payload is
// wrong): retrying cannot change it. The first retrier of every task lists
// them all with MaxAttempts 0, so the States.TaskFailed retrier (which
// matches them too) never sees them.
func TestNamedErrorsAreNotRetried(t *testing.T) {
	walk(load(t), "", func(path string, s state, _ machine) {
		if !lambdaTask(s) {
			return
		}
		if len(s.Retry) == 0 || !sameSet(s.Retry[0].ErrorEquals, workflow.Permanent) || s.Retry[0].attempts() != 0 {
			t.Errorf("%s: the first retrier must be %v with MaxAttempts 0, is %+v", path, workflow.Permanent, s.Retry)
			return
		}
		for _, r := range s.Retry[1:] {
			for _, e := range r.ErrorEquals {
				if slices.Contains(workflow.Permanent, e) || e == "States.ALL" {
					t.Errorf("%s: a later retrier names %s", path, e)
				}
			}
		}
	})
}

// A callback task's States.Timeout is its deadline (milestone, review):
// caught, never retried.
func TestCallbackDeadlinesAreNotRetried(t *testing.T) {
	walk(load(t), "", func(path string, s state, _ machine) {
		if !callback(s) {
			return
		}
		for _, r := range s.Retry {
			if slices.Contains(r.ErrorEquals, "States.Timeout") {
				t.Errorf("%s: retries its deadline", path)
			}
		}
	})
}

// Whatever still fails after the retries ends in "Mark needs attention":
// at the top level directly; inside the Map through a Fail state raising
// Referral.StepFailed (with what was caught as its cause), which the Map
// catches. Named errors are caught before the catch-all and keep their
// name up to the Map, which catches every error its iteration raises.
func TestEveryFailureEndsInNeedsAttention(t *testing.T) {
	m := load(t)
	var mapState state
	for name, s := range m.States {
		switch {
		case s.Type == "Map":
			mapState = s
		case lambdaTask(s) && name != markState:
			checkCatchAll(t, name, s, func(next string) bool { return next == markState })
		}
	}
	if mapState.ItemProcessor == nil {
		t.Fatal("no Map with an ItemProcessor")
	}
	inner := mapState.ItemProcessor.States
	raised := map[string]bool{}
	for name, s := range inner {
		if s.Type == "Fail" {
			raised[s.Error] = true
		}
		if !lambdaTask(s) {
			continue
		}
		checkCatchAll(t, name, s, func(next string) bool {
			f := inner[next]
			return f.Type == "Fail" && f.Error == workflow.ErrStepFailed && f.CausePath == "States.JsonToString($.error)"
		})
		for _, c := range s.Catch {
			for _, e := range c.ErrorEquals {
				if strings.HasPrefix(e, "Referral.") && inner[c.Next].Error != e {
					t.Errorf("%s: %s is caught to %q, which does not raise it again", name, e, c.Next)
				}
			}
		}
	}
	for e := range raised {
		if !slices.ContainsFunc(mapState.Catch, func(c catcher) bool { return slices.Contains(c.ErrorEquals, e) }) {
			t.Errorf("the iteration raises %s, which the Map does not catch", e)
		}
	}
	for _, c := range mapState.Catch {
		if slices.Contains(c.ErrorEquals, workflow.ErrStepFailed) && (c.Next != markState || c.ResultPath != "$.error") {
			t.Errorf("the Map catches %s to %q (ResultPath %q), want %q with $.error", workflow.ErrStepFailed, c.Next, c.ResultPath, markState)
		}
	}
	checkMark(t, m)
}

// checkCatchAll: the task's last catcher is States.ALL into $.error, to a
// state ok accepts.
func checkCatchAll(t *testing.T, name string, s state, ok func(next string) bool) {
	t.Helper()
	if len(s.Catch) == 0 {
		t.Errorf("%s: no Catch", name)
		return
	}
	last := s.Catch[len(s.Catch)-1]
	if !slices.Equal(last.ErrorEquals, []string{"States.ALL"}) || last.ResultPath != "$.error" || !ok(last.Next) {
		t.Errorf("%s: last catcher %+v: want States.ALL into $.error, towards %s", name, last, markState)
	}
}

func checkMark(t *testing.T, m machine) {
	t.Helper()
	mark, ok := m.States[markState]
	if !ok || !lambdaTask(mark) {
		t.Fatalf("no %q Lambda task", markState)
	}
	var payload map[string]string
	if err := json.Unmarshal(mark.Parameters["Payload"], &payload); err != nil {
		t.Fatal(err)
	}
	if payload["outcome"] != "needs_attention" || payload["execution.$"] != "$$.Execution.Name" || payload["error.$"] != "$.error" || payload["referral_id.$"] != "$.referral_id" {
		t.Errorf("%s payload %v", markState, payload)
	}
	if len(mark.Catch) != 0 {
		t.Errorf("%s catches %v: if it fails, the execution fails and the reconciler takes over", markState, mark.Catch)
	}
	if end := m.States[mark.Next]; end.Type != "Fail" || end.Error != workflow.ErrNeedsAttention {
		t.Errorf("%s goes to %q, want a Fail state raising %s", markState, mark.Next, workflow.ErrNeedsAttention)
	}
}

// The review deadline and an admin's decision resolve to one outcome: the
// deadline step answers the outcome recorded first, and the Choice after it
// reads that answer, not the program's default it was given.
func TestReviewDeadlineOutcomeDecides(t *testing.T) {
	m := load(t)
	s := m.States["Record review deadline"]
	if s.ResultPath == nil || *s.ResultPath != "$.review" || string(s.ResultSelector["outcome.$"]) != `"$.Payload.outcome"` {
		t.Fatalf("Record review deadline: ResultPath %v, ResultSelector %s: the recorded outcome must replace $.review", s.ResultPath, s.ResultSelector["outcome.$"])
	}
	if next := m.States[s.Next]; next.Type != "Choice" {
		t.Fatalf("Record review deadline goes to %q (%s), want the Choice on the outcome", s.Next, next.Type)
	}
	var choice struct {
		Choices []struct{ Variable string } `json:"Choices"`
	}
	if err := json.Unmarshal(mustState(t, s.Next), &choice); err != nil || len(choice.Choices) == 0 || choice.Choices[0].Variable != "$.review.outcome" {
		t.Fatalf("the Choice after the deadline reads %+v, want $.review.outcome", choice)
	}
}

// mustState returns the raw definition of a top-level state.
func mustState(t *testing.T, name string) json.RawMessage {
	t.Helper()
	var raw struct {
		States map[string]json.RawMessage `json:"States"`
	}
	if err := json.Unmarshal(Referral, &raw); err != nil || raw.States[name] == nil {
		t.Fatalf("state %q: %v", name, err)
	}
	return raw.States[name]
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// State names are unique across the whole state machine, nested Map
// processors included (Step Functions requires it).
func TestStateNamesAreUnique(t *testing.T) {
	seen := map[string]string{}
	walk(load(t), "", func(path string, _ state, _ machine) {
		name := path
		if i := strings.LastIndex(path, " / "); i >= 0 {
			name = path[i+len(" / "):]
		}
		if other, ok := seen[name]; ok {
			t.Errorf("state %q is both %q and %q", name, other, path)
		}
		seen[name] = path
	})
}
