package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/referral"
)

// runResume resumes referral id, as POST /admin/referrals/{id}/resume
// does: a referral that needs attention goes back to the status it had in
// a new execution; one still moving gets its execution started if missing,
// or a new one if it ended. Repeating it changes nothing.
func (a *app) runResume(ctx context.Context, id string) error {
	d, err := a.deployment(ctx)
	if err != nil {
		return err
	}
	if d.StateMachine == "" {
		return usagef("--stack or --state-machine (or REFERFLOW_STATE_MACHINE_ARN) is required: the stack's StateMachineArn output")
	}
	if !referral.ValidID(id) {
		return usagef("%q is not a referral id", id)
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	cfg, err := a.config(ctx)
	if err != nil {
		return err
	}
	machine, out := d.StateMachine, a.out
	svc := &recovery.Service{Store: st, SFN: sfn.NewFromConfig(cfg), StateMachineARN: machine, Now: time.Now}
	return resume(ctx, svc, id, out)
}

// resume runs the resume and says what it did.
func resume(ctx context.Context, svc interface {
	Resume(ctx context.Context, id, actor string) (recovery.Result, error)
}, id string, out io.Writer) error {
	res, err := svc.Resume(ctx, id, events.ActorOperator)
	if errors.Is(err, recovery.ErrNotResumable) {
		return conflict(fmt.Errorf("referral %s is %s: it has ended, there is nothing to resume", id, res.Status))
	}
	if err != nil {
		return fmt.Errorf("resume %s: %w (repeat the command: a resume cut short is finished by a repeat)", id, err)
	}
	what := map[recovery.Action]string{
		recovery.Resumed: "resumed in a new execution",
		recovery.Started: "its missing execution was started",
		recovery.Running: "its execution is running: nothing to do",
	}[res.Action]
	if what == "" {
		what = string(res.Action)
	}
	fmt.Fprintf(out, "referral %s: %s (status %s, execution %s)\n", id, what, res.Status, res.Execution)
	return nil
}
