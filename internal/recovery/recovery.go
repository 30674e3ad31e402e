// Package recovery keeps every referral either moving, final, or visibly
// stopped: a referral whose workflow step kept failing is marked
// needs_attention with its cause (the workflow's "Mark needs attention"
// step, or the reconciler); an operator resumes it (admin API, CLI); and
// the reconciler finds any referral whose execution ended, or never
// started, while the referral still moves, and resumes it.
//
// Resuming starts a new execution named after the previous one
// (workflow.NextExecution: <id>-2, <id>-3, …), so a repeated resume finds
// ExecutionAlreadyExists instead of a second execution; every step of the
// workflow is idempotent, so the new execution passes through what is done
// (milestones reached resume at once, rewards paid are not paid again).
package recovery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/workflow"
)

// Run is which execution carries a referral, stored beside the referral.
type Run struct {
	// Execution is the current execution's name; "" is the first one,
	// named after the referral.
	Execution string `dynamodbav:"execution,omitempty"`
	// Resumes counts the reconciler's resumes since an operator last
	// resumed the referral.
	Resumes int `dynamodbav:"resumes,omitempty"`
}

// Tracked is a referral with its run.
type Tracked struct {
	*referral.Referral
	Run
}

// Current is the name of the referral's current execution.
func (t *Tracked) Current() string {
	if t.Execution == "" {
		return t.ID
	}
	return t.Execution
}

// Change moves a referral's run: from status From and execution Prev to
// status To and execution Next, with Resumes, recording Event; the
// referral's Attention is cleared.
type Change struct {
	From, To   referral.Status
	Prev, Next string
	Resumes    int
	Event      events.Event
}

// Candidate is a referral the reconciler looks at.
type Candidate struct {
	ID     string
	Status referral.Status
}

// Store is what recovery reads and writes (internal/store implements it).
type Store interface {
	Tracked(ctx context.Context, id string) (*Tracked, error)
	// MarkNeedsAttention moves the referral from status from to
	// needs_attention with a (and a.Execution as its current execution),
	// recording ev. false: it was no longer in status from.
	MarkNeedsAttention(ctx context.Context, id string, from referral.Status, a referral.Attention, ev events.Event, now time.Time) (bool, error)
	// ChangeRun applies c. false: the referral was no longer in status
	// c.From with execution c.Prev.
	ChangeRun(ctx context.Context, id string, c Change, now time.Time) (bool, error)
	// AdvanceExecution records that execution to carries the referral
	// now, if from still did (a continuation found later).
	AdvanceExecution(ctx context.Context, id, from, to string) error
}

// SFN is the part of the Step Functions API recovery uses.
type SFN interface {
	workflow.Starter
	workflow.Describer
}

// DefaultMaxResumes is how many times the reconciler resumes a referral
// whose execution ended early before it marks it needs_attention.
const DefaultMaxResumes = 3

// Service marks, resumes and checks referrals.
type Service struct {
	Store           Store
	SFN             SFN
	StateMachineARN string
	Now             func() time.Time
	Metrics         *metrics.Emitter // nil discards
	MaxResumes      int              // 0: DefaultMaxResumes
}

// Action says what a resume or a check did.
type Action string

// Actions.
const (
	Running Action = "running" // its execution runs: nothing to do
	Started Action = "started" // its execution was missing and is started now
	Resumed Action = "resumed" // a new execution carries it on
	Marked  Action = "marked"  // it needs attention now
	Settled Action = "settled" // final or needing attention already, or moved meanwhile: nothing to do
)

// Result is what a resume or a check did.
type Result struct {
	ReferralID string          `json:"referral_id"`
	Status     referral.Status `json:"status"`
	Execution  string          `json:"execution"`
	Action     Action          `json:"action"`
}

// ErrNotResumable: the referral is final.
var ErrNotResumable = errors.New("recovery: the referral is final")

// maxHops bounds how far a check follows continued executions.
const maxHops = 5

// Mark moves referral id to needs_attention with a, from whatever status
// still moving it has (a.From is set from it). It reports false when the
// referral is final or needs attention already: nothing to mark.
func (s *Service) Mark(ctx context.Context, id string, a referral.Attention, actor string) (bool, error) {
	a.Cause = referral.ShortCause(a.Cause)
	for attempt := 0; attempt < 3; attempt++ {
		t, err := s.Store.Tracked(ctx, id)
		if err != nil {
			return false, err
		}
		if !t.Status.Active() {
			return false, nil
		}
		now := s.Now().UTC()
		a.From, a.At = t.Status, now
		if a.Execution == "" {
			a.Execution = t.Current()
		}
		ev := event(events.ReferralNeedsAttention, t, actor, now).WithStatus(string(referral.StatusNeedsAttention)).
			With("from", string(a.From)).With("error", a.Error).With("cause", a.Cause).With("execution", a.Execution)
		ok, err := s.Store.MarkNeedsAttention(ctx, id, t.Status, a, ev, now)
		if err != nil {
			return false, err
		}
		if ok {
			s.Metrics.CountTotal(metrics.NeedsAttention, 1, "referral_id", id, "error", a.Error, "actor", actor)
			return true, nil
		}
	}
	return false, fmt.Errorf("recovery: mark %s: the referral keeps moving", id)
}

// Resume is an operator's resume. A referral that needs attention goes
// back to the status it had and a new execution carries it on. A referral
// still moving is checked like the reconciler does (its execution started
// if missing, a new one if it ended), without the limit on resumes. A
// final referral is ErrNotResumable. Repeating a resume changes nothing.
func (s *Service) Resume(ctx context.Context, id, actor string) (Result, error) {
	for attempt := 0; attempt < 3; attempt++ {
		t, err := s.Store.Tracked(ctx, id)
		if err != nil {
			return Result{}, err
		}
		res := Result{ReferralID: id, Status: t.Status, Execution: t.Current()}
		switch {
		case t.Status.Terminal():
			res.Action = Settled
			return res, ErrNotResumable
		case t.Status.Active():
			res, err := s.recover(ctx, t, actor, true)
			if err != nil || res.Action != Settled {
				return res, err
			}
			continue // it moved meanwhile: look again
		}
		back := referral.StatusReceived // every step is idempotent: starting over is safe
		if t.Attention != nil && t.Attention.From.Active() {
			back = t.Attention.From
		}
		res, ok, err := s.resume(ctx, t, back, "", 0, actor)
		if err != nil || ok {
			return res, err
		}
	}
	return Result{}, fmt.Errorf("recovery: resume %s: the referral keeps moving", id)
}

// Check is the reconciler's look at one referral: nothing to do while its
// execution runs; a missing execution is started; one that ended while
// the referral still moves is resumed, or, after MaxResumes such resumes,
// the referral is marked needs_attention.
func (s *Service) Check(ctx context.Context, id string) (Result, error) {
	t, err := s.Store.Tracked(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if !t.Status.Active() {
		return Result{ReferralID: id, Status: t.Status, Execution: t.Current(), Action: Settled}, nil
	}
	return s.recover(ctx, t, events.ActorReconciler, false)
}
