package recovery

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/referral"
)

const (
	id      = "ref_01J0000000000000000000000V"
	machine = "arn:aws:states:us-east-1:123456789012:stateMachine:referflow-referral"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

// fakeStore keeps one referral and applies the store's conditions.
type fakeStore struct {
	t      Tracked
	evs    []events.Event
	writes int
	// moveOnce changes the referral's status right after the next read,
	// as a concurrent writer would.
	moveOnce referral.Status
}

func (f *fakeStore) Tracked(context.Context, string) (*Tracked, error) {
	r := *f.t.Referral
	out := &Tracked{Referral: &r, Run: f.t.Run}
	if f.moveOnce != "" {
		f.t.Status, f.moveOnce = f.moveOnce, ""
	}
	return out, nil
}

func (f *fakeStore) MarkNeedsAttention(_ context.Context, _ string, from referral.Status, a referral.Attention, ev events.Event, _ time.Time) (bool, error) {
	if f.t.Status != from {
		return false, nil
	}
	f.t.Status, f.t.Attention, f.t.Execution = referral.StatusNeedsAttention, &a, a.Execution
	f.evs, f.writes = append(f.evs, ev), f.writes+1
	return true, nil
}

func (f *fakeStore) ChangeRun(_ context.Context, _ string, c Change, _ time.Time) (bool, error) {
	if f.t.Status != c.From || f.t.Current() != c.Prev {
		return false, nil
	}
	f.t.Status, f.t.Execution, f.t.Resumes, f.t.Attention = c.To, c.Next, c.Resumes, nil
	f.evs, f.writes = append(f.evs, c.Event), f.writes+1
	return true, nil
}

func (f *fakeStore) AdvanceExecution(_ context.Context, _ string, from, to string) error {
	if f.t.Current() == from {
		f.t.Execution = to
		f.writes++
	}
	return nil
}

// fakeSFN knows executions by name.
type fakeSFN struct {
	execs    map[string]sfntypes.ExecutionStatus
	started  []string
	startErr error
}

func (f *fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	if f.startErr != nil {
		return nil, f.startErr
	}
	name := aws.ToString(in.Name)
	if _, ok := f.execs[name]; ok {
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String(name)}
	}
	if aws.ToString(in.StateMachineArn) != machine || !strings.Contains(aws.ToString(in.Input), id) {
		return nil, errors.New("bad start " + aws.ToString(in.Input))
	}
	f.execs[name] = sfntypes.ExecutionStatusRunning
	f.started = append(f.started, name)
	return &sfn.StartExecutionOutput{}, nil
}

func (f *fakeSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	arn := aws.ToString(in.ExecutionArn)
	name := arn[strings.LastIndex(arn, ":")+1:]
	st, ok := f.execs[name]
	if !ok {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String(arn)}
	}
	out := &sfn.DescribeExecutionOutput{Status: st, Name: aws.String(name)}
	if st == sfntypes.ExecutionStatusFailed {
		out.Error, out.Cause = aws.String("States.Runtime"), aws.String("an invalid path")
	}
	return out, nil
}

type fixture struct {
	svc     *Service
	st      *fakeStore
	sf      *fakeSFN
	metrics *bytes.Buffer
}

func setup(status referral.Status, run Run, execs map[string]sfntypes.ExecutionStatus) fixture {
	st := &fakeStore{t: Tracked{Referral: &referral.Referral{ID: id, ProgramID: "p", ProgramVersion: 2, Status: status}, Run: run}}
	sf := &fakeSFN{execs: execs}
	var buf bytes.Buffer
	svc := &Service{Store: st, SFN: sf, StateMachineARN: machine, Now: func() time.Time { return t0 },
		Metrics: metrics.New(&buf, "test", func() time.Time { return t0 })}
	return fixture{svc, st, sf, &buf}
}

type execs = map[string]sfntypes.ExecutionStatus

const (
	running   = sfntypes.ExecutionStatusRunning
	succeeded = sfntypes.ExecutionStatusSucceeded
	failed    = sfntypes.ExecutionStatusFailed
	aborted   = sfntypes.ExecutionStatusAborted
	timedOut  = sfntypes.ExecutionStatusTimedOut
)

func TestCheck(t *testing.T) {
	cases := []struct {
		name      string
		status    referral.Status
		run       Run
		execs     execs
		want      Result
		started   []string
		resumes   int
		attention string // error recorded when marked
		after     string // "after" of the resumed event
	}{
		{name: "running: nothing to do", status: referral.StatusInProgress, execs: execs{id: running},
			want: Result{Status: referral.StatusInProgress, Execution: id, Action: Running}},
		{name: "never started: start it", status: referral.StatusReceived, execs: execs{},
			want: Result{Status: referral.StatusReceived, Execution: id, Action: Started}, started: []string{id}},
		{name: "aborted: resume in a new execution", status: referral.StatusInProgress, execs: execs{id: aborted},
			want: Result{Status: referral.StatusInProgress, Execution: id + "-2", Action: Resumed}, started: []string{id + "-2"}, resumes: 1,
			after: "execution " + id + " ABORTED"},
		{name: "timed out", status: referral.StatusInReview, run: Run{Execution: id + "-2", Resumes: 1}, execs: execs{id: succeeded, id + "-2": timedOut},
			want: Result{Status: referral.StatusInReview, Execution: id + "-3", Action: Resumed}, started: []string{id + "-3"}, resumes: 2,
			after: "execution " + id + "-2 TIMED_OUT"},
		{name: "failed too often: needs attention", status: referral.StatusVerifying, run: Run{Execution: id + "-4", Resumes: 3}, execs: execs{id + "-4": failed},
			want: Result{Status: referral.StatusNeedsAttention, Execution: id + "-4", Action: Marked}, resumes: 3, attention: "States.Runtime"},
		{name: "aborted too often", status: referral.StatusInProgress, run: Run{Resumes: 3}, execs: execs{id: aborted},
			want: Result{Status: referral.StatusNeedsAttention, Execution: id, Action: Marked}, resumes: 3, attention: "Execution.ABORTED"},
		{name: "continued: follow it", status: referral.StatusInProgress, execs: execs{id: succeeded, id + "-2": succeeded, id + "-3": running},
			want: Result{Status: referral.StatusInProgress, Execution: id + "-3", Action: Running}},
		{name: "succeeded but still moving: resume", status: referral.StatusInProgress, execs: execs{id: succeeded},
			want: Result{Status: referral.StatusInProgress, Execution: id + "-2", Action: Resumed}, started: []string{id + "-2"}, resumes: 1,
			after: "execution " + id + " SUCCEEDED"},
		{name: "a resume cut short before its start", status: referral.StatusInProgress, run: Run{Execution: id + "-3"}, execs: execs{id: failed},
			want: Result{Status: referral.StatusInProgress, Execution: id + "-3", Action: Started}, started: []string{id + "-3"}},
		{name: "final: nothing", status: referral.StatusCompleted, execs: execs{id: failed},
			want: Result{Status: referral.StatusCompleted, Execution: id, Action: Settled}},
		{name: "needs attention already: the operator's", status: referral.StatusNeedsAttention, run: Run{Resumes: 3}, execs: execs{id: failed},
			want: Result{Status: referral.StatusNeedsAttention, Execution: id, Action: Settled}, resumes: 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := setup(c.status, c.run, c.execs)
			got, err := f.svc.Check(context.Background(), id)
			c.want.ReferralID = id
			if err != nil || got != c.want {
				t.Fatalf("Check = %+v, %v; want %+v", got, err, c.want)
			}
			if strings.Join(f.sf.started, ",") != strings.Join(c.started, ",") {
				t.Errorf("started %v, want %v", f.sf.started, c.started)
			}
			if f.st.t.Status != c.want.Status || f.st.t.Current() != c.want.Execution || f.st.t.Resumes != c.resumes {
				t.Errorf("stored %s %s resumes %d", f.st.t.Status, f.st.t.Current(), f.st.t.Resumes)
			}
			checkAttention(t, f, c.attention, c.status)
			if c.after != "" {
				if len(f.st.evs) != 1 || f.st.evs[0].Type != events.ReferralResumed || f.st.evs[0].Actor != events.ActorReconciler ||
					!strings.HasPrefix(f.st.evs[0].Get("after"), c.after) || f.st.evs[0].Get("execution") != c.want.Execution || f.st.evs[0].ProgramID != "p" {
					t.Errorf("events %+v", f.st.evs)
				}
			}
		})
	}
}

func checkAttention(t *testing.T, f fixture, want string, from referral.Status) {
	t.Helper()
	if want == "" {
		if f.metrics.Len() != 0 {
			t.Errorf("metric emitted without a mark: %s", f.metrics)
		}
		return
	}
	a := f.st.t.Attention
	if a == nil || a.Error != want || a.From != from || !a.At.Equal(t0) || a.Execution != f.st.t.Current() || !strings.Contains(a.Cause, "resumed 3 times") {
		t.Errorf("attention %+v", a)
	}
	if !strings.Contains(f.metrics.String(), `"ReferralsNeedingAttention":1`) {
		t.Errorf("metric: %s", f.metrics)
	}
	if len(f.st.evs) != 1 || f.st.evs[0].Type != events.ReferralNeedsAttention || f.st.evs[0].Get("error") != want {
		t.Errorf("events %+v", f.st.evs)
	}
}

func TestCheckStartFailureIsAnError(t *testing.T) {
	f := setup(referral.StatusInProgress, Run{}, execs{id: aborted})
	f.sf.startErr = errors.New("throttled")
	if _, err := f.svc.Check(context.Background(), id); err == nil {
		t.Fatal("no error")
	}
	// The referral names the new execution: the next look starts it.
	f.sf.startErr = nil
	got, err := f.svc.Check(context.Background(), id)
	if err != nil || got.Action != Started || got.Execution != id+"-2" || f.st.t.Resumes != 1 {
		t.Fatalf("%+v %v resumes %d", got, err, f.st.t.Resumes)
	}
}
