package recovery

import (
	"context"
	"fmt"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/workflow"
)

// recover acts on a referral still moving: its execution runs (nothing to
// do), is missing (start it), or ended early (resume it, or mark the
// referral after too many resumes unless manual: an operator asked).
func (s *Service) recover(ctx context.Context, t *Tracked, actor string, manual bool) (Result, error) {
	ex, err := s.follow(ctx, t)
	if err != nil {
		return Result{}, err
	}
	res := Result{ReferralID: t.ID, Status: t.Status, Execution: ex.Name, Action: Running}
	switch {
	case !ex.Ended():
		return res, nil
	case ex.Status == workflow.Missing:
		res.Action = Started
		return res, workflow.StartNamed(ctx, s.SFN, s.StateMachineARN, t.ID, ex.Name)
	}
	after := "execution " + ex.Name + " " + string(ex.Status)
	if ex.Error != "" {
		after += ": " + ex.Error
	}
	if !manual && t.Resumes >= s.maxResumes() {
		name := ex.Error
		if name == "" {
			name = "Execution." + string(ex.Status)
		}
		cause := fmt.Sprintf("resumed %d times by the reconciler; %s", t.Resumes, after)
		if ex.Cause != "" {
			cause += " (" + ex.Cause + ")"
		}
		marked, err := s.Mark(ctx, t.ID, referral.Attention{Error: name, Cause: cause, Execution: ex.Name}, actor)
		if err != nil {
			return Result{}, err
		}
		res.Action = Settled
		if marked {
			res.Action, res.Status = Marked, referral.StatusNeedsAttention
		}
		return res, nil
	}
	resumes := t.Resumes + 1
	if manual {
		resumes = 0
	}
	r, ok, err := s.resume(ctx, t, t.Status, after, resumes, actor)
	if err == nil && !ok {
		res.Action = Settled // moved meanwhile: the next look sees where it went
		return res, nil
	}
	return r, err
}

// resume moves t to status to in a new execution named after its current
// one, then starts that execution. ok is false when t moved meanwhile.
func (s *Service) resume(ctx context.Context, t *Tracked, to referral.Status, after string, resumes int, actor string) (Result, bool, error) {
	now := s.Now().UTC()
	prev := t.Current()
	next := workflow.NextExecution(t.ID, prev)
	ev := event(events.ReferralResumed, t, actor, now).WithStatus(string(to)).
		With("from", string(t.Status)).With("execution", next).With("after", after)
	ok, err := s.Store.ChangeRun(ctx, t.ID, Change{From: t.Status, To: to, Prev: prev, Next: next, Resumes: resumes, Event: ev}, now)
	if err != nil || !ok {
		return Result{}, false, err
	}
	// The referral names next already: if starting fails, a repeat (or the
	// reconciler, which finds it missing) starts it.
	if err := workflow.StartNamed(ctx, s.SFN, s.StateMachineARN, t.ID, next); err != nil {
		return Result{}, true, err
	}
	return Result{ReferralID: t.ID, Status: to, Execution: next, Action: Resumed}, true, nil
}

// follow describes t's current execution; when it succeeded (it continued
// in a new execution, "Continue in a new execution"), it follows the
// continuations and records the last one on t.
func (s *Service) follow(ctx context.Context, t *Tracked) (workflow.Execution, error) {
	ex, err := workflow.Describe(ctx, s.SFN, s.StateMachineARN, t.Current())
	if err != nil {
		return workflow.Execution{}, err
	}
	for hop := 0; ex.Status == sfntypes.ExecutionStatusSucceeded && hop < maxHops; hop++ {
		nx, err := workflow.Describe(ctx, s.SFN, s.StateMachineARN, workflow.NextExecution(t.ID, ex.Name))
		if err != nil {
			return workflow.Execution{}, err
		}
		if nx.Status == workflow.Missing {
			break
		}
		ex = nx
	}
	if ex.Name != t.Current() {
		if err := s.Store.AdvanceExecution(ctx, t.ID, t.Current(), ex.Name); err != nil {
			return workflow.Execution{}, err
		}
		t.Execution = ex.Name
	}
	return ex, nil
}

func (s *Service) maxResumes() int {
	if s.MaxResumes > 0 {
		return s.MaxResumes
	}
	return DefaultMaxResumes
}

// event is an event of type typ about t by actor.
func event(typ events.Type, t *Tracked, actor string, now time.Time) events.Event {
	ev := events.New(typ, t.ID, actor, now)
	ev.ProgramID, ev.ProgramVersion = t.ProgramID, t.ProgramVersion
	return ev
}
