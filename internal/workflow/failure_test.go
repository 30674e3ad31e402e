package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

func TestStepErrorFailure(t *testing.T) {
	inner, _ := json.Marshal(StepError{Error: "wrapError", Cause: `{"errorMessage":"store: get referral: timeout","errorType":"wrapError"}`})
	for _, c := range []struct {
		name      string
		in        StepError
		want, why string
	}{
		{"lambda error document", StepError{Error: "wrapError", Cause: `{"errorMessage":"store: x","errorType":"wrapError"}`}, "wrapError", "store: x"},
		{"unwrapped from a Map iteration", StepError{Error: ErrStepFailed, Cause: string(inner)}, "wrapError", "store: get referral: timeout"},
		{"plain cause", StepError{Error: "Sandbox.Timedout", Cause: "Task timed out after 10.00 seconds"}, "Sandbox.Timedout", "Task timed out after 10.00 seconds"},
		{"step failed without JSON", StepError{Error: ErrStepFailed, Cause: "?"}, ErrStepFailed, "?"},
		{"nothing known", StepError{}, "Unknown", ""},
	} {
		if name, why := c.in.Failure(); name != c.want || why != c.why {
			t.Errorf("%s: Failure() = %q, %q; want %q, %q", c.name, name, why, c.want, c.why)
		}
	}
}

// Named errors reach Step Functions under their name, so Retry can skip
// them and Catch can match them.
func TestBadInputIsNamed(t *testing.T) {
	var e messages.InvokeResponse_Error
	if err := BadInput("unknown step %q", "x"); !errors.As(err, &e) || e.Type != ErrBadInput || e.Message != `unknown step "x"` {
		t.Fatalf("%#v", err)
	}
	for _, name := range Permanent {
		if name == ErrStepFailed || name == ErrNeedsAttention {
			t.Errorf("%s is raised by a Fail state; listing it as permanent hides a mistake", name)
		}
	}
}

type fakeDescriber struct {
	out *sfn.DescribeExecutionOutput
	err error
	arn string
}

func (f *fakeDescriber) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.arn = aws.ToString(in.ExecutionArn)
	return f.out, f.err
}

func TestDescribe(t *testing.T) {
	const machine = "arn:aws:states:eu-west-1:123456789012:stateMachine:referflow-referral"
	ctx := context.Background()
	d := &fakeDescriber{out: &sfn.DescribeExecutionOutput{Status: sfntypes.ExecutionStatusFailed, Error: aws.String("States.Runtime"), Cause: aws.String("bad path")}}
	ex, err := Describe(ctx, d, machine, "ref_1-2")
	if err != nil || ex != (Execution{Name: "ref_1-2", Status: sfntypes.ExecutionStatusFailed, Error: "States.Runtime", Cause: "bad path"}) || !ex.Ended() {
		t.Fatalf("%+v %v", ex, err)
	}
	if d.arn != "arn:aws:states:eu-west-1:123456789012:execution:referflow-referral:ref_1-2" {
		t.Fatalf("arn %s", d.arn)
	}
	d = &fakeDescriber{err: &sfntypes.ExecutionDoesNotExist{Message: aws.String("no")}}
	if ex, err := Describe(ctx, d, machine, "ref_1"); err != nil || ex.Status != Missing || !ex.Ended() {
		t.Fatalf("missing: %+v %v", ex, err)
	}
	d = &fakeDescriber{err: errBoom}
	if _, err := Describe(ctx, d, machine, "ref_1"); !errors.Is(err, errBoom) {
		t.Fatalf("err %v", err)
	}
	if (Execution{Status: sfntypes.ExecutionStatusRunning}).Ended() {
		t.Fatal("a running execution has not ended")
	}
}
