// Package workflow is the contract between workflows/referral.asl.json and
// the functions it runs: task payloads (ids only — never personal data),
// the error names the definition catches, starting an execution named
// after its referral, and resuming a waiting callback.
package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/referflow/referflow/internal/referral"
)

// Error names the definition matches in Catch (custom names: moto and AWS
// both reject catching States.* re-raised inside a Map).
const (
	ErrLost    = "Referral.Lost"    // the deal was lost or deleted
	ErrExpired = "Referral.Expired" // a milestone deadline passed
)

// Fail returns an error that Step Functions sees with errorType name (what
// Retry and Catch match). aws-lambda-go reports it unchanged.
func Fail(name, message string) error {
	return messages.InvokeResponse_Error{Type: name, Message: message}
}

// Input is the execution input and the payload of Verify: ids only.
type Input struct {
	ReferralID string `json:"referral_id"`
}

// Verdicts of Verify.
const (
	Approved = "approved"
	Rejected = "rejected"
	Review   = "review"
)

// Step is one milestone as the workflow iterates it.
type Step struct {
	Name            string `json:"name"`
	DeadlineSeconds int64  `json:"deadline_seconds"`
	HoldSeconds     int64  `json:"hold_seconds"`
}

// VerifyOutput is what Verify returns to the definition.
type VerifyOutput struct {
	ReferralID            string `json:"referral_id"`
	Outcome               string `json:"outcome"` // Approved, Rejected, Review
	Milestones            []Step `json:"milestones"`
	ReviewDeadlineSeconds int64  `json:"review_deadline_seconds"`
	ReviewDefault         string `json:"review_default"` // Approved or Rejected
}

// VerifyInput is either the verify payload ({referral_id}) or the review-deadline
// payload ({referral_id, step: "review_deadline", outcome}).
type VerifyInput struct {
	ReferralID string `json:"referral_id"`
	Step       string `json:"step"`
	Outcome    string `json:"outcome"`
}

// CallbackInput is the payload of a callback task ("Wait for milestone",
// "Wait for manual review"): ids and the task token only.
type CallbackInput struct {
	ReferralID string `json:"referral_id"`
	Kind       string `json:"kind"` // "milestone" or "review"
	Milestone  string `json:"milestone"`
	TaskToken  string `json:"task_token"`
}

// PlanInput is what "Plan the wait" sends: ids and seconds only.
type PlanInput struct {
	ReferralID         string `json:"referral_id"`
	Milestone          string `json:"milestone"`
	DeadlineSeconds    int64  `json:"deadline_seconds"`
	HoldSeconds        int64  `json:"hold_seconds"`
	ExecutionStartedAt string `json:"execution_started_at"` // $$.Execution.StartTime
}

// WaitPlan is how long the coming wait may last in this execution (the
// output of "Plan the wait").
type WaitPlan struct {
	WaitSeconds int64 `json:"wait_seconds"`
	// Continues: the wait ends because this execution's time is up, not
	// because the deadline passed; the referral goes on in a new execution.
	Continues bool `json:"continues"`
}

// Reached is the output a milestone callback resumes with.
type Reached struct {
	Milestone string    `json:"milestone"`
	ReachedAt time.Time `json:"reached_at"`
}

// RewardsInput is the payload of the reward steps.
type RewardsInput struct {
	ReferralID string `json:"referral_id"`
	Milestone  string `json:"milestone"`
	Step       string `json:"step"` // "hold" or "pay"
}

// RewardsOutput summarises a reward step (ids and amounts only).
type RewardsOutput struct {
	ReferralID string   `json:"referral_id"`
	Milestone  string   `json:"milestone"`
	RewardIDs  []string `json:"reward_ids"`
	Paid       int      `json:"paid"`
	Held       int      `json:"held"`
	Voided     int      `json:"voided"`
	// HoldSecondsLeft is what remains of the holding period (0 when none):
	// the "Holding period" state waits exactly this.
	HoldSecondsLeft int64 `json:"hold_seconds_left"`
}

// CompleteInput is the payload of the final step.
type CompleteInput struct {
	ReferralID string `json:"referral_id"`
	Outcome    string `json:"outcome"` // completed, lost, expired, rejected, or continue
	// Execution is the current execution's name ($$.Execution.Name), for
	// "continue" (the next execution is named after it) and
	// "needs_attention".
	Execution string `json:"execution,omitempty"`
	// Error is what the Catch that led to "Mark needs attention" caught.
	Error *StepError `json:"error,omitempty"`
}

// ErrContinue ends an execution whose time is up before the referral's
// next deadline; the referral goes on in a new execution.
const ErrContinue = "Referral.Continue"

// NextExecution names the execution that continues current for referral
// id: <id>-2 after <id>, <id>-3 after <id>-2. The same current always gives
// the same name, so a retried start finds ExecutionAlreadyExists.
func NextExecution(id, current string) string {
	n := 1
	if rest, ok := strings.CutPrefix(current, id+"-"); ok {
		if k, err := strconv.Atoi(rest); err == nil && k > 1 {
			n = k
		}
	}
	return id + "-" + strconv.Itoa(n+1)
}

// StartNamed starts an execution of referral id under name (continuations).
// An execution that exists already counts as started.
func StartNamed(ctx context.Context, client Starter, stateMachineARN, referralID, name string) error {
	in, _ := json.Marshal(Input{ReferralID: referralID})
	_, err := client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(stateMachineARN),
		Name:            aws.String(name),
		Input:           aws.String(string(in)),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("workflow: start %s: %w", name, err)
	}
	return nil
}

// Starter starts executions.
type Starter interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// SFN is the part of the Step Functions API the workflow helpers use.
type SFN interface {
	Starter
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, opts ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

// Start starts the referral's execution, named with its id. An execution
// that already exists (a retry, the reconciler) counts as started.
func Start(ctx context.Context, client Starter, stateMachineARN, referralID string) error {
	return StartNamed(ctx, client, stateMachineARN, referralID, referralID)
}

// closed reports whether err says the token's task is no longer waiting
// (resumed already, timed out, or its execution ended): nothing to do.
func closed(err error) bool {
	var inv *sfntypes.InvalidToken
	var gone *sfntypes.TaskDoesNotExist
	var timedOut *sfntypes.TaskTimedOut
	return errors.As(err, &inv) || errors.As(err, &gone) || errors.As(err, &timedOut)
}

// Callbacks are the task tokens a referral's execution waits on. They are
// stored on the referral's item but are no part of the referral: only this
// contract reads them.
type Callbacks struct {
	WaitMilestone string `dynamodbav:"wait_milestone,omitempty"` // the milestone the wait is for
	WaitToken     string `dynamodbav:"wait_token,omitempty"`     // "Wait for milestone"
	ReviewToken   string `dynamodbav:"review_token,omitempty"`   // "Wait for manual review"
}

// Waiting is a referral with the callbacks waiting on it, as the store
// returns it after a change that may resume its execution.
type Waiting struct {
	*referral.Referral
	Callbacks
}

// Resume wakes the workflow if it waits on something r now satisfies: the
// milestone it waits for is recorded (SendTaskSuccess), or the deal is lost
// (SendTaskFailure with ErrLost). Both the webhook (after recording) and the
// wait step (after storing its token) call it, so whichever comes second
// resumes; a token resumed twice answers "closed", which is not an error.
// It reports whether it sent anything that was accepted.
func Resume(ctx context.Context, client SFN, r *Waiting) (bool, error) {
	if r.WaitToken == "" || r.Status.Terminal() {
		return false, nil
	}
	var err error
	switch {
	case r.LostAt != nil:
		_, err = client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{
			TaskToken: aws.String(r.WaitToken),
			Error:     aws.String(ErrLost),
			Cause:     aws.String("the deal was " + r.LostReason + " in the CRM"),
		})
	case r.WaitMilestone != "" && r.Reached(r.WaitMilestone):
		out, _ := json.Marshal(Reached{Milestone: r.WaitMilestone, ReachedAt: r.Milestones[r.WaitMilestone]})
		_, err = client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(r.WaitToken), Output: aws.String(string(out))})
	default:
		return false, nil
	}
	if closed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("workflow: resume %s: %w", r.ID, err)
	}
	return true, nil
}

// ReviewDecision is the output the manual review callback resumes with.
type ReviewDecision struct {
	Outcome string `json:"outcome"` // Approved or Rejected
	By      string `json:"by"`      // "admin" or "deadline"
}

// ResumeReview wakes a workflow waiting for manual review once the
// decision is recorded on the referral (same two-sided protocol as Resume).
func ResumeReview(ctx context.Context, client SFN, r *Waiting) (bool, error) {
	if r.ReviewToken == "" || r.ReviewOutcome == "" {
		return false, nil
	}
	out, _ := json.Marshal(ReviewDecision{Outcome: r.ReviewOutcome, By: "admin"})
	_, err := client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(r.ReviewToken), Output: aws.String(string(out))})
	if closed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("workflow: resume review %s: %w", r.ID, err)
	}
	return true, nil
}
