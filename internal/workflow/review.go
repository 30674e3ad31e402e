package workflow

import (
	"context"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
)

// Transitioner moves a referral to a status with its event (the store).
type Transitioner interface {
	Transition(ctx context.Context, id string, to referral.Status, now time.Time, set map[string]any, ev events.Event) error
}

// ApplyReview moves a referral still in review to the status its recorded
// decision means (in_progress when approved, rejected otherwise), with its
// referral.reviewed event by actor ("by" says who decided: the deadline's
// default, or an operator). It does nothing when no decision is
// recorded or the referral is no longer in review (applied already, or
// moved to needs_attention: resuming it brings it back to review, and the
// review wait applies the decision then). Every path that resumes a review
// calls it first, so a decision recorded whose status change was cut short
// (a crash, a referral that needed attention meanwhile) is applied by the
// next one.
func ApplyReview(ctx context.Context, st Transitioner, w *Waiting, actor string, now time.Time) error {
	if w == nil || w.ReviewOutcome == "" || w.Status != referral.StatusInReview {
		return nil
	}
	by := "admin"
	if w.ReviewNote == ReviewDeadlineNote {
		by = "deadline"
	}
	to := referral.StatusRejected
	if w.ReviewOutcome == Approved {
		to = referral.StatusInProgress
	}
	ev := events.New(events.ReferralReviewed, w.ID, actor, now).WithStatus(string(to)).With("outcome", w.ReviewOutcome).With("by", by)
	ev.ProgramID, ev.ProgramVersion = w.ProgramID, w.ProgramVersion
	return st.Transition(ctx, w.ID, to, now, map[string]any{"decision": w.ReviewOutcome}, ev)
}
