package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// fakeSFN knows which executions exist.
type fakeSFN struct {
	execs map[string]sfntypes.ExecutionStatus
}

func (f *fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	if _, ok := f.execs[aws.ToString(in.Name)]; ok {
		return nil, &sfntypes.ExecutionAlreadyExists{}
	}
	f.execs[aws.ToString(in.Name)] = sfntypes.ExecutionStatusRunning
	return &sfn.StartExecutionOutput{}, nil
}

func (f *fakeSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	arn := aws.ToString(in.ExecutionArn)
	st, ok := f.execs[arn[strings.LastIndex(arn, ":")+1:]]
	if !ok {
		return nil, &sfntypes.ExecutionDoesNotExist{}
	}
	return &sfn.DescribeExecutionOutput{Status: st}, nil
}

// `referflow referral resume` on a referral that needs attention moves it
// back to the status it had, in a new execution; a repeat starts nothing.
func TestResumeCommand(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	const id = "ref_01JB0000000000000000000000"
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	r := &referral.Referral{ID: id, ProgramID: "p", ProgramVersion: 1, Status: referral.StatusReceived, ReferrerCode: "ACME",
		RefereeEmail: "jane@acme.example", RefereeCompany: "Acme", StatusTokenHash: referral.HashToken("t"), CreatedAt: now, UpdatedAt: now}
	if err := st.CreateReferral(ctx, store.NewReferral{Referral: r, Event: events.New(events.ReferralReceived, id, "test", now)}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []referral.Status{referral.StatusVerifying, referral.StatusInProgress} {
		if err := st.Transition(ctx, id, s, now, nil, events.New(events.ReferralVerifying, id, "test", now)); err != nil {
			t.Fatal(err)
		}
	}
	sf := &fakeSFN{execs: map[string]sfntypes.ExecutionStatus{id: sfntypes.ExecutionStatusFailed}}
	svc := &recovery.Service{Store: st, SFN: sf, StateMachineARN: "arn:aws:states:us-east-1:1:stateMachine:m", Now: func() time.Time { return now }}
	if ok, err := svc.Mark(ctx, id, referral.Attention{Error: "Sandbox.Timedout", Cause: "Task timed out"}, events.ActorWorkflow); !ok || err != nil {
		t.Fatalf("mark: %v %v", ok, err)
	}
	var out bytes.Buffer
	if err := resume(ctx, svc, id, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "referral "+id+": resumed in a new execution (status in_progress, execution "+id+"-2)\n" {
		t.Fatalf("output %q", got)
	}
	tr, _ := st.Tracked(ctx, id)
	if tr.Status != referral.StatusInProgress || tr.Attention != nil || tr.Current() != id+"-2" || sf.execs[id+"-2"] != sfntypes.ExecutionStatusRunning {
		t.Fatalf("after resume: %s %+v %s %v", tr.Status, tr.Attention, tr.Current(), sf.execs)
	}
	out.Reset()
	if err := resume(ctx, svc, id, &out); err != nil || !strings.Contains(out.String(), "running: nothing to do") || len(sf.execs) != 2 {
		t.Fatalf("repeat: %v %q %v", err, out.String(), sf.execs)
	}
	a := testApp(t)
	a.g.over.Table = "t"
	if err := a.runResume(ctx, id); err == nil || !strings.Contains(err.Error(), "-state-machine") {
		t.Fatalf("without a state machine: %v", err)
	}
}
