package localtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/referflow/referflow/infra/local/localtest"
)

// TestMotoStepFunctionsRecovery records what moto 5.2.1's interpreter does
// with the ASL that workflows/referral.asl.json uses for recovery (each
// subtest is a row of infra/local/README.md): retriers tried in order with
// MaxAttempts 0 for named errors, States.TaskFailed matching a function's
// own error type, Fail states with CausePath re-raising a custom error out
// of a Map iteration (and what happens to a States.* error that leaves
// one), StopExecution, and DescribeExecution of aborted and missing
// executions (what the reconciler reads).
func TestMotoStepFunctionsRecovery(t *testing.T) {
	st := localtest.Start(t, localtest.Options{Template: fixture(t), SkipSeed: true})
	l := &sfnLab{st: st, ctx: context.Background(), sf: sfn.NewFromConfig(st.AWSConfig()),
		taskArn: "arn:aws:lambda:us-east-1:123456789012:function:" + st.Functions["TaskFunction"]}
	for _, c := range []struct {
		name string
		run  func(*testing.T, *sfnLab)
	}{
		{"NamedErrorFirstRetrierMaxAttemptsZero", labNamedErrorFirstRetrierMaxAttemptsZero},
		{"TaskFailedRetriesAFunctionsOwnErrorType", labTaskFailedRetriesAFunctionsOwnErrorType},
		{"MapIterationReraisesWithCausePath", labMapIterationReraisesWithCausePath},
		{"StatesErrorLeavingAMapIterationBecomesStatesRuntime", labStatesErrorLeavingAMapIterationBecomesStatesRuntime},
		{"StopExecutionInsideAMapOrACallback", labStopExecutionInsideAMapOrACallback},
		{"DescribeAbortedAndMissingExecutions", labDescribeAbortedAndMissingExecutions},
	} {
		t.Run(c.name, func(t *testing.T) { t.Parallel(); c.run(t, l) })
	}
}

// sfnLab runs state machines on the fixture stack's moto.
type sfnLab struct {
	st      *localtest.Stack
	ctx     context.Context
	sf      *sfn.Client
	taskArn string
}

func (l *sfnLab) create(t *testing.T, name, asl string) string {
	t.Helper()
	sm, err := l.sf.CreateStateMachine(l.ctx, &sfn.CreateStateMachineInput{Name: aws.String(name),
		Definition: aws.String(strings.ReplaceAll(asl, "${Task}", l.taskArn)), RoleArn: aws.String("arn:aws:iam::123456789012:role/local")})
	if err != nil {
		t.Fatalf("CreateStateMachine: %v", err)
	}
	return aws.ToString(sm.StateMachineArn)
}

func (l *sfnLab) run(t *testing.T, name, asl, input string) *sfn.DescribeExecutionOutput {
	t.Helper()
	ex, err := l.sf.StartExecution(l.ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(l.create(t, name, asl)), Name: aws.String(name + "-1"), Input: aws.String(input)})
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	return waitExecution(t, l.sf, aws.ToString(ex.ExecutionArn), 30*time.Second)
}

func (l *sfnLab) invocations(t *testing.T, referral string) int {
	t.Helper()
	s, err := l.st.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return s.Referrals[referral].Invocations["TaskFunction"]
}

func labNamedErrorFirstRetrierMaxAttemptsZero(t *testing.T, l *sfnLab) {
	// FixtureError is the function's Go error type, as Referral.Lost is
	// a named error: listed first with MaxAttempts 0, it is not retried
	// although the States.TaskFailed retrier after it matches it too.
	out := l.run(t, "permanent", `{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
			"Parameters":{"FunctionName":"${Task}","Payload":{"mode":"fail","referral_id.$":"$.referral_id"}},
			"Retry":[{"ErrorEquals":["FixtureError"],"MaxAttempts":0},
				{"ErrorEquals":["States.TaskFailed","States.Timeout"],"IntervalSeconds":1,"MaxAttempts":2,"BackoffRate":2,"MaxDelaySeconds":1,"JitterStrategy":"FULL"}],
			"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Caught"}],"End":true},
		"Caught":{"Type":"Pass","End":true}}}`, `{"referral_id":"perm-1"}`)
	if out.Status != sfntypes.ExecutionStatusSucceeded || !strings.Contains(aws.ToString(out.Output), "FixtureError") {
		t.Fatalf("%s %s", out.Status, aws.ToString(out.Output))
	}
	if n := l.invocations(t, "perm-1"); n != 1 {
		t.Errorf("invocations %d, want 1: a MaxAttempts 0 retrier must stop the retries", n)
	}
}

func labTaskFailedRetriesAFunctionsOwnErrorType(t *testing.T, l *sfnLab) {
	out := l.run(t, "taskfailed", `{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
			"Parameters":{"FunctionName":"${Task}","Payload":{"mode":"fail","referral_id.$":"$.referral_id"}},
			"Retry":[{"ErrorEquals":["Referral.Lost"],"MaxAttempts":0},
				{"ErrorEquals":["States.TaskFailed","States.Timeout"],"IntervalSeconds":1,"MaxAttempts":2,"BackoffRate":2,"MaxDelaySeconds":1,"JitterStrategy":"FULL"}],
			"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Caught"}],"End":true},
		"Caught":{"Type":"Pass","End":true}}}`, `{"referral_id":"tf-1"}`)
	if out.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("%s %s", out.Status, aws.ToString(out.Cause))
	}
	if n := l.invocations(t, "tf-1"); n != 3 {
		t.Errorf("invocations %d, want 3 (States.TaskFailed matches FixtureError)", n)
	}
}

func labMapIterationReraisesWithCausePath(t *testing.T, l *sfnLab) {
	// The task catches everything inside the iteration and a Fail state
	// raises a custom name with what was caught (CausePath), which the
	// Map catches; a named error keeps its name and its cause.
	for _, c := range []struct{ name, fail, mapCatch string }{
		{"stepfailed", `"Error":"Referral.StepFailed","CausePath":"States.JsonToString($.error)"`, "Referral.StepFailed"},
		{"lost", `"Error":"Referral.Lost","CausePath":"$.error.Cause"`, "Referral.Lost"},
	} {
		out := l.run(t, "map-"+c.name, `{"StartAt":"Each","States":{
			"Each":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":1,
				"ItemSelector":{"referral_id.$":"$.referral_id"},
				"ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"T","States":{
					"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
						"Parameters":{"FunctionName":"${Task}","Payload":{"mode":"fail","referral_id.$":"$.referral_id"}},
						"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Raise"}],"End":true},
					"Raise":{"Type":"Fail",`+c.fail+`}}},
				"Catch":[{"ErrorEquals":["`+c.mapCatch+`"],"ResultPath":"$.error","Next":"Caught"}],"ResultPath":null,"End":true},
			"Caught":{"Type":"Pass","End":true}}}`, `{"referral_id":"map-`+c.name+`","items":[1]}`)
		if out.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("%s: %s %s %s", c.name, out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
		}
		var o struct {
			Error struct{ Error, Cause string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &o); err != nil || o.Error.Error != c.mapCatch ||
			!strings.Contains(o.Error.Cause, "failing on purpose for map-"+c.name) {
			t.Errorf("%s: caught %s (%v)", c.name, aws.ToString(out.Output), err)
		}
	}
}

func labStatesErrorLeavingAMapIterationBecomesStatesRuntime(t *testing.T, l *sfnLab) {
	// On AWS the Map's catch gets the iteration's States.Timeout. moto
	// cannot name a custom error "States.…" and replaces it with
	// States.Runtime: a Map catch naming States.Timeout never matches
	// (the execution fails), States.ALL catches the wrong name.
	out := l.run(t, "map-states", `{"StartAt":"Each","States":{
		"Each":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":1,
			"ItemSelector":{"referral_id.$":"$.referral_id"},
			"ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"Await","States":{
				"Await":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","TimeoutSeconds":1,
					"Parameters":{"FunctionName":"${Task}","Payload":{"mode":"echo","referral_id.$":"$.referral_id","token.$":"$$.Task.Token"}},"End":true}}},
			"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Caught"}],"ResultPath":null,"End":true},
		"Caught":{"Type":"Pass","End":true}}}`, `{"referral_id":"map-states","items":[1]}`)
	var o struct {
		Error struct{ Error, Cause string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(aws.ToString(out.Output)), &o)
	if out.Status != sfntypes.ExecutionStatusSucceeded || o.Error.Error != "States.Runtime" || !strings.Contains(o.Error.Cause, "States.Timeout") {
		t.Errorf("%s %s: moto now passes a States.* error out of an iteration unchanged; update infra/local/README.md", out.Status, aws.ToString(out.Output))
	}
}

func labStopExecutionInsideAMapOrACallback(t *testing.T, l *sfnLab) {
	// AWS aborts an execution wherever it is (ABORTED). moto ends one
	// stopped inside a Map iteration FAILED, and leaves one waiting for
	// a task token RUNNING until the wait ends.
	stop := func(name, asl string) *sfn.DescribeExecutionOutput {
		ex, err := l.sf.StartExecution(l.ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(l.create(t, name, asl)), Name: aws.String(name + "-1"),
			Input: aws.String(`{"referral_id":"` + name + `","items":[1]}`)})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if _, err := l.sf.StopExecution(l.ctx, &sfn.StopExecutionInput{ExecutionArn: ex.ExecutionArn}); err != nil {
			t.Fatalf("StopExecution: %v", err)
		}
		time.Sleep(2 * time.Second)
		out, err := l.sf.DescribeExecution(l.ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	inMap := stop("stop-map", `{"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.items","ResultPath":null,"End":true,
		"ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":30,"End":true}}}}}}`)
	if inMap.Status != sfntypes.ExecutionStatusFailed {
		t.Errorf("stopped inside a Map: %s %s (moto changed: update infra/local/README.md)", inMap.Status, aws.ToString(inMap.Error))
	}
	t.Logf("stopped inside a Map: %s error %q", inMap.Status, aws.ToString(inMap.Error))
	waiting := stop("stop-callback", `{"StartAt":"Await","States":{
		"Await":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","TimeoutSeconds":20,
			"Parameters":{"FunctionName":"${Task}","Payload":{"mode":"echo","referral_id.$":"$.referral_id","token.$":"$$.Task.Token"}},"End":true}}}`)
	if waiting.Status != sfntypes.ExecutionStatusRunning {
		t.Errorf("stopped while waiting for a token: %s (moto changed: update infra/local/README.md)", waiting.Status)
	}
}

func labDescribeAbortedAndMissingExecutions(t *testing.T, l *sfnLab) {
	arn := l.create(t, "aborted", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":30,"End":true}}}`)
	ex, err := l.sf.StartExecution(l.ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("ab-1"), Input: aws.String(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.sf.StopExecution(l.ctx, &sfn.StopExecutionInput{ExecutionArn: ex.ExecutionArn}); err != nil {
		t.Fatalf("StopExecution: %v", err)
	}
	if out := waitExecution(t, l.sf, aws.ToString(ex.ExecutionArn), 10*time.Second); out.Status != sfntypes.ExecutionStatusAborted {
		t.Errorf("stopped execution is %s", out.Status)
	}
	missing := strings.Replace(arn, ":stateMachine:", ":execution:", 1) + ":ab-2"
	_, err = l.sf.DescribeExecution(l.ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(missing)})
	var dne *sfntypes.ExecutionDoesNotExist
	if !errors.As(err, &dne) {
		t.Errorf("DescribeExecution of a name never started: %v, want ExecutionDoesNotExist", err)
	}
}
