package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/eligibility"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/workflow"
)

// Store is what Verify reads and writes.
type Store interface {
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
	Referrer(ctx context.Context, programID, code string) (*referral.Referrer, error)
	CountReferral(ctx context.Context, referralID, programID, code string, now time.Time) (referral.ReferrerCounts, error)
	Transition(ctx context.Context, id string, to referral.Status, now time.Time, set map[string]any, ev events.Event) error
	Record(ctx context.Context, evs ...events.Event) error
	RecordReview(ctx context.Context, id, outcome, note string, now time.Time) (*workflow.Waiting, bool, error)
}

// Handler is the "Verify referral" and "Record review deadline" steps.
type Handler struct {
	Store   Store
	Now     func() time.Time
	Log     *slog.Logger
	Metrics *metrics.Emitter // nil discards
}

// Handle runs one step. Repeating a step (a retry) gives the same result.
func (h *Handler) Handle(ctx context.Context, in workflow.VerifyInput) (workflow.VerifyOutput, error) {
	log := logging.From(ctx, h.Log).With("referral_id", in.ReferralID, "step", "verify")
	r, err := h.Store.Referral(ctx, in.ReferralID)
	if err != nil {
		return workflow.VerifyOutput{}, err
	}
	p, err := h.Store.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion)
	if err != nil {
		return workflow.VerifyOutput{}, err
	}
	if r.Status == referral.StatusNeedsAttention {
		// Only a resume moves it on, and it does so before the next execution starts.
		return workflow.VerifyOutput{}, fmt.Errorf("verify: referral %s needs attention; resume it", r.ID)
	}
	switch in.Step {
	case "review_deadline":
		return h.reviewDeadline(ctx, r, p, in.Outcome)
	case "":
	default:
		return workflow.VerifyOutput{}, workflow.BadInput("verify: unknown step %q", in.Step)
	}
	now := h.Now()
	out := output(r, p)
	switch r.Status {
	case referral.StatusReceived, referral.StatusVerifying:
	default:
		// Decided already (a retried step): report the decision again.
		out.Outcome = outcomeOf(r)
		return out, nil
	}
	if err := h.Store.Transition(ctx, r.ID, referral.StatusVerifying, now, nil, event(events.ReferralVerifying, r, now).WithStatus(string(referral.StatusVerifying))); err != nil {
		return out, err
	}
	ref, err := h.Store.Referrer(ctx, r.ProgramID, r.ReferrerCode)
	if err != nil {
		return out, fmt.Errorf("verify: referrer %s: %w", r.ReferrerCode, err)
	}
	counts, err := h.Store.CountReferral(ctx, r.ID, r.ProgramID, r.ReferrerCode, now)
	if err != nil {
		return out, err
	}
	d := eligibility.Check(p, eligibility.Candidate{
		RefereeEmail: r.RefereeEmail, RefereeDomain: r.RefereeDomain,
		ReferrerEmail: ref.Email, ReferrerDomain: ref.Domain,
		Country: r.Country, Employees: r.Employees, Industry: r.Industry,
	}, eligibility.Counts{Today: counts.Today - 1, ThisMonth: counts.ThisMonth - 1})

	reasons := make([]referral.Reason, 0, len(d.Reasons))
	var codes []string
	for _, rs := range d.Reasons {
		reasons = append(reasons, referral.Reason{Code: string(rs.Code), Message: rs.Message})
		codes = append(codes, string(rs.Code))
	}
	to := map[eligibility.Outcome]referral.Status{
		eligibility.Approved: referral.StatusInProgress,
		eligibility.Review:   referral.StatusInReview,
		eligibility.Rejected: referral.StatusRejected,
	}[d.Outcome]
	verified := event(events.ReferralVerified, r, now).WithStatus(string(to)).With("outcome", string(d.Outcome)).With("reasons", strings.Join(codes, ", "))
	if err := h.Store.Transition(ctx, r.ID, to, now, map[string]any{"decision": string(d.Outcome), "reasons": reasons}, verified); err != nil {
		return out, err
	}
	var notes []events.Event
	for _, rs := range reasons {
		// The code only: the message names emails and domains, so it stays
		// on the referral (the admin view reads it there), never in events.
		notes = append(notes, event(events.ReferralReason, r, now).With("code", rs.Code))
	}
	if err := h.Store.Record(ctx, notes...); err != nil {
		return out, err
	}
	log.Info("verified", "outcome", d.Outcome, "reasons", codes)
	h.Metrics.Count(map[eligibility.Outcome]string{eligibility.Approved: "ReferralsApproved", eligibility.Review: "ReferralsInReview", eligibility.Rejected: "ReferralsRejected"}[d.Outcome], 1, "program", r.ProgramID)
	out.Outcome = string(d.Outcome)
	return out, nil
}

// reviewDeadline applies the program's default when a review deadline
// passes, unless an admin's decision was recorded first: the first
// decision recorded (RecordReview) is the outcome, whichever path comes
// second changes nothing, and the answer tells the workflow the outcome.
func (h *Handler) reviewDeadline(ctx context.Context, r *referral.Referral, p *program.Program, outcome string) (workflow.VerifyOutput, error) {
	now := h.Now()
	out := output(r, p)
	if outcome != workflow.Approved && outcome != workflow.Rejected {
		return out, workflow.BadInput("verify: review deadline outcome %q", outcome)
	}
	w, decided, err := h.Store.RecordReview(ctx, r.ID, outcome, workflow.ReviewDeadlineNote, now)
	if err != nil {
		return out, err
	}
	if !decided {
		switch {
		case w.ReviewOutcome != "": // an admin decided first
			outcome = w.ReviewOutcome
		case w.Status == referral.StatusInReview:
			return out, fmt.Errorf("verify: review of %s neither recorded nor decided", r.ID)
		default: // decided and applied before review outcomes were recorded
			outcome = outcomeOf(w.Referral)
		}
	}
	out.Outcome = outcome
	// Applied already (by the admin, or a first attempt of this step) when
	// the referral is no longer in review.
	return out, workflow.ApplyReview(ctx, h.Store, w, events.ActorWorkflow, now)
}

func outcomeOf(r *referral.Referral) string {
	switch r.Status {
	case referral.StatusInProgress, referral.StatusCompleted, referral.StatusLost, referral.StatusExpired:
		return workflow.Approved
	case referral.StatusInReview:
		return workflow.Review
	}
	return workflow.Rejected
}

// output describes the program's milestones to the workflow (names and
// seconds only).
func output(r *referral.Referral, p *program.Program) workflow.VerifyOutput {
	out := workflow.VerifyOutput{ReferralID: r.ID, ReviewDeadlineSeconds: p.Review.DeadlineSeconds, ReviewDefault: workflow.Rejected}
	if out.ReviewDeadlineSeconds <= 0 {
		out.ReviewDeadlineSeconds = 7 * 24 * 3600
	}
	if p.Review.Default == "approve" {
		out.ReviewDefault = workflow.Approved
	}
	for _, m := range p.Milestones {
		out.Milestones = append(out.Milestones, workflow.Step{Name: m.Name, DeadlineSeconds: m.DeadlineSeconds, HoldSeconds: m.HoldSeconds})
	}
	return out
}

// event is an event of type t about referral r, by the workflow.
func event(t events.Type, r *referral.Referral, now time.Time) events.Event {
	ev := events.New(t, r.ID, events.ActorWorkflow, now)
	ev.ProgramID, ev.ProgramVersion = r.ProgramID, r.ProgramVersion
	return ev
}
