// Package review is the one implementation of a person's review decision
// on a referral waiting for manual review, for both doors: the admin API
// (functions/admin) and the operator console (web/console).
package review

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

// Store records a person's review decision and moves the referral
// (the store).
type Store interface {
	workflow.Transitioner
	RecordReview(ctx context.Context, id, outcome, note string, now time.Time) (*workflow.Waiting, bool, error)
}

// Why a review decision was not taken. The decision recorded first stands.
var (
	// ErrNotInReview: the referral is not waiting for a review.
	ErrNotInReview = errors.New("review: the referral is not waiting for a review")
	// ErrDeadline: the review deadline passed first; the program's
	// default applies.
	ErrDeadline = errors.New("review: the review deadline passed first")
	// ErrAlreadyDecided: another decision was recorded first.
	ErrAlreadyDecided = errors.New("review: the referral was already reviewed")
	// ErrMovedOn: the decision is recorded but the referral moved on
	// (needs attention) before it applied: it applies when resumed.
	ErrMovedOn = errors.New("review: the referral moved on before the decision applied")
)

// Result is what a review decision did.
type Result struct {
	Referral *referral.Referral // as it was when the decision was recorded
	Outcome  string             // workflow.Approved or workflow.Rejected
	Status   referral.Status    // the status the decision means
	Resumed  bool               // the waiting execution was resumed by this call
	First    bool               // this call recorded the decision (false: a repeat)
}

// Decide is the one implementation of a person's review decision, for the
// admin API and the operator console alike: approve (true) or reject the
// referral id with reason, by actor. It records the decision (the first
// one stands), applies it (status and referral.reviewed event) and
// resumes the execution waiting for it. Repeating the same decision is
// harmless and finishes one cut short. Errors: ErrNotInReview,
// ErrDeadline, ErrAlreadyDecided (with the result read), or
// ErrMovedOn; any other is transient (repeat the call).
func Decide(ctx context.Context, st Store, client workflow.SFN, id string, approve bool, reason, actor string, now time.Time) (Result, error) {
	res := Result{Outcome: workflow.Approved, Status: referral.StatusInProgress}
	if !approve {
		res.Outcome, res.Status = workflow.Rejected, referral.StatusRejected
	}
	w, decided, err := st.RecordReview(ctx, id, res.Outcome, reason, now)
	if err != nil {
		return res, fmt.Errorf("review: record review: %w", err)
	}
	res.Referral, res.First = w.Referral, decided
	switch r := w.Referral; {
	case !decided && r.ReviewOutcome == "":
		return res, ErrNotInReview
	case !decided && r.ReviewNote == workflow.ReviewDeadlineNote:
		return res, ErrDeadline
	case !decided && r.ReviewOutcome != res.Outcome:
		return res, ErrAlreadyDecided
	}
	// Decided now, or the same decision repeated: make sure it is applied
	// (every step below is idempotent, so a repeat finishes a cut-short one).
	if err := workflow.ApplyReview(ctx, st, w, actor, now); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return res, ErrMovedOn
		}
		return res, fmt.Errorf("review: apply review: %w", err)
	}
	if res.Resumed, err = workflow.ResumeReview(ctx, client, w); err != nil {
		return res, err // the decision is stored; a repeat resumes
	}
	return res, nil
}
