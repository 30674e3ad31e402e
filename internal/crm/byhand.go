package crm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/referflow/referflow/internal/referral"
)

// ProviderByHand is the provider of the milestones people record by hand
// (the operator console, the admin API and the CLI): the provider of their
// referral.deal_event and of their dedupe record.
const ProviderByHand = "by-hand"

// MaxReason bounds the reason of a milestone recorded by hand.
const MaxReason = 1000

// Why a milestone was not recorded by hand.
var (
	// ErrUnknownMilestone: the referral's program version has no such
	// milestone.
	ErrUnknownMilestone = errors.New("crm: the referral's program has no such milestone")
	// ErrReached: the milestone was reached already (through the CRM or
	// implied by a later one).
	ErrReached = errors.New("crm: the milestone was reached already")
	// ErrEnded: the referral has ended; its milestones stay as they were.
	ErrEnded = errors.New("crm: the referral has ended")
	// ErrReason: the reason is missing or longer than MaxReason.
	ErrReason = errors.New("crm: a milestone recorded by hand needs a reason of at most 1,000 characters")
)

// ByHand is what recording a milestone by hand did.
type ByHand struct {
	// Referral is the referral after it (its milestones, with those the
	// program implies).
	Referral *referral.Referral
	// Outcome is the outcome of the deal event (OutcomeMilestone, or
	// OutcomeDuplicate when it had been recorded by hand before).
	Outcome string
}

// RecordByHand records milestone of referral id as a person's decision
// (actor: the person as events name them; reason: why, kept with the
// referral's personal data and never in events), exactly as a CRM event
// reporting that milestone would: it goes through the path every CRM event
// takes (claimed once under ProviderByHand, the milestone and those it
// implies recorded, the waiting execution woken, a referral.deal_event by
// actor). Repeating the call after a failure finishes it; repeating it
// after success changes nothing. Errors: ErrReason, referral.ErrNotFound
// (wrapped), ErrUnknownMilestone, ErrEnded, ErrReached; any other is
// transient (repeat the call).
func (in *Ingester) RecordByHand(ctx context.Context, id, milestone, reason, actor string) (ByHand, error) {
	reason, milestone = strings.TrimSpace(reason), strings.TrimSpace(milestone)
	if reason == "" || utf8.RuneCountInString(reason) > MaxReason {
		return ByHand{}, ErrReason
	}
	r, err := in.Store.Referral(ctx, id)
	if err != nil {
		return ByHand{}, fmt.Errorf("crm: by hand: %w", err)
	}
	p, err := in.Store.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion)
	if err != nil {
		return ByHand{Referral: r}, fmt.Errorf("crm: by hand: program: %w", err)
	}
	switch {
	case p.MilestoneIndex(milestone) < 0:
		return ByHand{Referral: r}, ErrUnknownMilestone
	case r.Status.Terminal():
		return ByHand{Referral: r}, ErrEnded
	case r.Reached(milestone) && r.HandNote(milestone) == nil:
		// Recorded by hand already: a repeat finishes an attempt cut short.
		return ByHand{Referral: r}, ErrReached
	}
	ev := Event{Provider: ProviderByHand, ID: id + "/" + milestone, Kind: KindByHand, Stage: milestone,
		ReferralID: id, OccurredAt: in.Now().UTC(), Actor: actor, Reason: reason}
	outcome, err := in.apply(ctx, &ev)
	if err != nil {
		return ByHand{Referral: r}, err
	}
	after, err := in.Store.Referral(ctx, id)
	if err != nil {
		return ByHand{Referral: r, Outcome: outcome}, fmt.Errorf("crm: by hand: read back: %w", err)
	}
	in.Log.Info("milestone recorded by hand", "referral_id", id, "milestone", milestone, "outcome", outcome, "actor", actor)
	return ByHand{Referral: after, Outcome: outcome}, nil
}
