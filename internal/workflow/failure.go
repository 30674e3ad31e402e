package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Error names of recovery. Every task of the definition retries failures
// with backoff (every step is idempotent) except the named, permanent
// errors of Permanent; what still fails is caught and leads to "Mark
// needs attention".
const (
	// ErrBadInput: a payload the step cannot act on (an unknown step or
	// outcome, a missing id). Retrying cannot help.
	ErrBadInput = "Referral.BadInput"
	// ErrStepFailed is raised inside a Map iteration for any failure its
	// task caught, with the caught {Error, Cause} as JSON in its cause:
	// the Map catches custom names only (moto fails the execution when an
	// iteration lets a States.* error out).
	ErrStepFailed = "Referral.StepFailed"
	// ErrNeedsAttention ends an execution whose referral was marked
	// needs_attention.
	ErrNeedsAttention = "Referral.NeedsAttention"
)

// ReviewDeadlineNote is the review note the program's default is recorded
// with when the review deadline passes first ("Record review deadline"):
// the first decision recorded is the referral's.
const ReviewDeadlineNote = "the review deadline passed: the program's default applied"

// Permanent lists the errors no task retries: they say what happened to
// the referral (or its payload), not that a call failed.
var Permanent = []string{ErrLost, ErrExpired, ErrContinue, ErrBadInput}

// BadInput returns the ErrBadInput error a step reports for a payload it
// cannot act on.
func BadInput(format string, args ...any) error {
	return Fail(ErrBadInput, fmt.Sprintf(format, args...))
}

// StepError is what a Catch stores at its ResultPath.
type StepError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Failure returns the name and the cause of what failed: the error an
// ErrStepFailed carries is unwrapped, and a Lambda error document
// ({"errorType","errorMessage"}) gives its message. The cause is as the
// step reported it (referral.ShortCause makes it fit to keep).
func (e StepError) Failure() (name, cause string) {
	if e.Error == ErrStepFailed {
		var inner StepError
		if json.Unmarshal([]byte(e.Cause), &inner) == nil && inner.Error != "" {
			e = inner
		}
	}
	name, cause = e.Error, e.Cause
	var doc struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if strings.HasPrefix(strings.TrimSpace(cause), "{") && json.Unmarshal([]byte(cause), &doc) == nil && doc.ErrorMessage != "" {
		cause = doc.ErrorMessage
	}
	if name == "" {
		name = "Unknown"
	}
	return name, cause
}

// Describer looks executions up.
type Describer interface {
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// Missing is the status Describe gives an execution that does not exist.
const Missing sfntypes.ExecutionStatus = "MISSING"

// Execution is what became of one execution.
type Execution struct {
	Name   string
	Status sfntypes.ExecutionStatus // RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE or Missing
	Error  string                   // why it failed, when it did
	Cause  string
}

// Ended reports whether the execution is over (or never was).
func (e Execution) Ended() bool {
	return e.Status != sfntypes.ExecutionStatusRunning && e.Status != sfntypes.ExecutionStatusPendingRedrive
}

// ExecutionARN is the ARN of execution name of the state machine
// (arn:…:stateMachine:M → arn:…:execution:M:name).
func ExecutionARN(stateMachineARN, name string) string {
	return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// Describe looks execution name of the state machine up.
func Describe(ctx context.Context, client Describer, stateMachineARN, name string) (Execution, error) {
	out, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(ExecutionARN(stateMachineARN, name))})
	var missing *sfntypes.ExecutionDoesNotExist
	if errors.As(err, &missing) {
		return Execution{Name: name, Status: Missing}, nil
	}
	if err != nil {
		return Execution{}, fmt.Errorf("workflow: describe %s: %w", name, err)
	}
	return Execution{Name: name, Status: out.Status, Error: aws.ToString(out.Error), Cause: aws.ToString(out.Cause)}, nil
}
