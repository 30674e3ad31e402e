package localtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/referflow/referflow/infra/local/localtest"
)

// TestMotoStepFunctions records what moto 5.2.1's Step Functions
// interpreter does with the ASL features Referflow relies on. Each subtest
// is one finding of infra/local/README.md.
func TestMotoStepFunctions(t *testing.T) {
	st := localtest.Start(t, localtest.Options{Template: fixture(t), SkipSeed: true})
	ctx := context.Background()
	sf := sfn.NewFromConfig(st.AWSConfig())
	task := st.Functions["TaskFunction"]
	taskArn := "arn:aws:lambda:us-east-1:123456789012:function:" + task

	run := func(t *testing.T, name, asl, input string, timeout time.Duration) (*sfn.DescribeExecutionOutput, []sfntypes.HistoryEvent, time.Duration) {
		t.Helper()
		def := strings.ReplaceAll(asl, "${Task}", taskArn)
		sm, err := sf.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name: aws.String(name), Definition: aws.String(def),
			RoleArn: aws.String("arn:aws:iam::123456789012:role/local"),
		})
		if err != nil {
			t.Fatalf("CreateStateMachine: %v", err)
		}
		start := time.Now()
		ex, err := sf.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String(name + "-1"), Input: aws.String(input)})
		if err != nil {
			t.Fatalf("StartExecution: %v", err)
		}
		out := waitExecution(t, sf, aws.ToString(ex.ExecutionArn), timeout)
		took := time.Since(start)
		h, err := sf.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: ex.ExecutionArn, MaxResults: 1000})
		if err != nil {
			t.Fatalf("GetExecutionHistory: %v", err)
		}
		return out, h.Events, took
	}
	types := func(evs []sfntypes.HistoryEvent) string {
		var s []string
		for _, e := range evs {
			s = append(s, string(e.Type))
		}
		return strings.Join(s, ",")
	}

	t.Run("RetryOnCustomErrorThenCatch", func(t *testing.T) {
		t.Parallel()
		out, evs, _ := run(t, "retry", `{"StartAt":"Flaky","States":{
			"Flaky":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
				"Parameters":{"FunctionName":"${Task}","Payload":{"mode":"fail","referral_id.$":"$.referral_id"}},
				"Retry":[{"ErrorEquals":["FixtureError"],"IntervalSeconds":1,"MaxAttempts":2,"BackoffRate":1}],
				"Catch":[{"ErrorEquals":["FixtureError"],"ResultPath":"$.error","Next":"Caught"}],
				"End":true},
			"Caught":{"Type":"Pass","End":true}}}`, `{"referral_id":"retry-1"}`, 20*time.Second)
		if out.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("%s %s", out.Status, aws.ToString(out.Cause))
		}
		var o struct {
			Error struct{ Error, Cause string } `json:"error"`
		}
		_ = json.Unmarshal([]byte(aws.ToString(out.Output)), &o)
		if o.Error.Error != "FixtureError" || !strings.Contains(o.Error.Cause, "failing on purpose") {
			t.Errorf("caught error: %s", aws.ToString(out.Output))
		}
		s, err := st.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if n := s.Referrals["retry-1"].Invocations["TaskFunction"]; n != 3 {
			t.Errorf("invocations with Retry MaxAttempts 2: %d, want 3", n)
		}
		got := types(evs)
		for _, want := range []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskFailed", "TaskStateExited", "PassStateEntered", "ExecutionSucceeded"} {
			if !strings.Contains(got, want) {
				t.Errorf("history lacks %s: %s", want, got)
			}
		}
		t.Logf("history: %s", got)
	})

	t.Run("ResultSelectorAndResultPath", func(t *testing.T) {
		t.Parallel()
		out, _, _ := run(t, "selector", `{"StartAt":"T","States":{
			"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
				"Parameters":{"FunctionName":"${Task}","Payload":{"mode":"echo","referral_id.$":"$.referral_id"}},
				"ResultSelector":{"got.$":"$.Payload.echo.referral_id","status.$":"$.StatusCode"},
				"ResultPath":"$.r","End":true}}}`, `{"referral_id":"sel-1"}`, 10*time.Second)
		if out.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("%s %s", out.Status, aws.ToString(out.Cause))
		}
		var o map[string]any
		_ = json.Unmarshal([]byte(aws.ToString(out.Output)), &o)
		r, _ := o["r"].(map[string]any)
		if r["got"] != "sel-1" || fmt.Sprint(r["status"]) != "200" || o["referral_id"] != "sel-1" {
			t.Errorf("output %s", aws.ToString(out.Output))
		}
	})

	t.Run("MapItemsPathItemSelector", func(t *testing.T) {
		t.Parallel()
		out, _, _ := run(t, "map", `{"StartAt":"Each","States":{
			"Each":{"Type":"Map","ItemsPath":"$.milestones","MaxConcurrency":1,
				"ItemSelector":{"referral_id.$":"$.referral_id","milestone.$":"$$.Map.Item.Value","index.$":"$$.Map.Item.Index"},
				"ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"T","States":{
					"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
						"Parameters":{"FunctionName":"${Task}","Payload":{"mode":"echo","referral_id.$":"$.referral_id","token.$":"$.milestone"}},
						"OutputPath":"$.Payload.echo.token","End":true}}},
				"ResultPath":"$.done","End":true}}}`, `{"referral_id":"map-1","milestones":["signed","paid"]}`, 15*time.Second)
		if out.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("%s %s", out.Status, aws.ToString(out.Cause))
		}
		if !strings.Contains(aws.ToString(out.Output), `"done": ["signed", "paid"]`) {
			t.Errorf("output %s", aws.ToString(out.Output))
		}
	})

	t.Run("WaitSecondsPath", func(t *testing.T) {
		t.Parallel()
		out, _, took := run(t, "wait", `{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.hold","End":true}}}`,
			`{"hold":2}`, 15*time.Second)
		if out.Status != sfntypes.ExecutionStatusSucceeded || took < 2*time.Second {
			t.Errorf("%s after %s", out.Status, took)
		}
	})

	t.Run("CallbackTimeoutSecondsPath", func(t *testing.T) {
		t.Parallel()
		out, evs, took := run(t, "cbtimeout", `{"StartAt":"Await","States":{
			"Await":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","TimeoutSecondsPath":"$.timeout",
				"Parameters":{"FunctionName":"${Task}","Payload":{"mode":"echo","referral_id.$":"$.referral_id","token.$":"$$.Task.Token"}},
				"Catch":[{"ErrorEquals":["States.Timeout"],"ResultPath":"$.error","Next":"Expired"}],"End":true},
			"Expired":{"Type":"Pass","End":true}}}`, `{"referral_id":"cb-1","timeout":2}`, 15*time.Second)
		if out.Status != sfntypes.ExecutionStatusSucceeded || !strings.Contains(aws.ToString(out.Output), "States.Timeout") || took < 2*time.Second {
			t.Errorf("%s after %s: %s", out.Status, took, aws.ToString(out.Output))
		}
		if !strings.Contains(types(evs), "TaskTimedOut") {
			t.Errorf("history: %s", types(evs))
		}
	})

	t.Run("ChoiceOnMissingPathIsLenient", func(t *testing.T) {
		t.Parallel()
		// On AWS a Choice rule on a path that is not in the input fails the
		// execution with States.Runtime. moto logs NoSuchJsonPathError and
		// takes the Default branch: guard such rules with IsPresent. Also, a
		// string output is stored unencoded (no, where AWS has "no").
		out, _, _ := run(t, "choice", `{"StartAt":"C","States":{
			"C":{"Type":"Choice","Choices":[{"Variable":"$.missing","BooleanEquals":true,"Next":"Yes"}],"Default":"No"},
			"Yes":{"Type":"Pass","Result":"yes","End":true},
			"No":{"Type":"Pass","Result":"no","End":true}}}`, `{}`, 10*time.Second)
		if out.Status != sfntypes.ExecutionStatusSucceeded || aws.ToString(out.Output) != `no` {
			t.Errorf("%s %s %s", out.Status, aws.ToString(out.Output), aws.ToString(out.Error))
		}
	})
}
