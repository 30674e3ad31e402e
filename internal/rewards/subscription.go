package rewards

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// Subscription rewards: a program with a subscription block
// (program.Subscription) pays one reward per paid invoice of the referred
// customer's Stripe subscription, for the subscription's first months.
//
//   - The reward's id derives from the referral, the milestone
//     "invoice:<invoice id>" and the party: however often and in whatever
//     order Stripe delivers invoice.paid, an invoice has one reward.
//   - It is held for the program's refund window from when the invoice was
//     paid, and filed for the payouts runner (Schedule) to pay then.
//   - A refund or credit note of the invoice voids its reward while it is
//     unpaid and reverses it (a new ledger entry) once paid
//     (InvoiceRefunded); a refund recorded before the invoice.paid that
//     creates the reward is applied by the caller right after (billing
//     records refunds per invoice first, then settles the reward).

// InvoiceMilestonePrefix starts the milestone of an invoice's reward.
const InvoiceMilestonePrefix = "invoice:"

// InvoiceMilestone is the milestone of the reward of invoice id.
func InvoiceMilestone(invoiceID string) string { return InvoiceMilestonePrefix + invoiceID }

// ReasonInvoiceRefunded is the status reason of an invoice's reward voided,
// or the reason of its reversal, because the invoice was refunded or
// credited.
const ReasonInvoiceRefunded = "invoice refunded"

// Errors of subscription rewards; callers match them with errors.Is.
var (
	// ErrNoSubscriptionRewards: the referral's program pays nothing per
	// invoice (no subscription block).
	ErrNoSubscriptionRewards = errors.New("rewards: the program has no subscription rewards")
	// ErrOutsideSubscription: the invoice was paid after the program's
	// months since the first paid invoice, or after the subscription ended.
	ErrOutsideSubscription = errors.New("rewards: the invoice is outside the rewarded months")
	// ErrReferralClosed: the referral was rejected or its deal lost; its
	// customer's invoices earn nothing.
	ErrReferralClosed = errors.New("rewards: the referral earns nothing")
	// ErrPaymentInFlight: the invoice's reward is being paid (sending);
	// a refund is settled once its outcome is known (retry later).
	ErrPaymentInFlight = errors.New("rewards: the reward is being paid")
)

// Invoice is a paid invoice of a referred customer, as its webhook says.
type Invoice struct {
	ID              string
	AmountPaidMinor int64  // amount_paid, minor units of Currency
	Currency        string // ISO 4217, upper case
	PaidAt          time.Time
}

// Term is the referred customer's subscription as Referflow knows it:
// Start is its first paid invoice (the earliest seen), Ended when it was
// cancelled (nil while it runs).
type Term struct {
	Start time.Time
	Ended *time.Time
}

// Covers reports whether an invoice paid at paidAt earns under s: paid
// neither before Start nor on or after Start + s.Months, and not after the
// subscription ended. A zero Start is the invoice's own time (the first).
func (t Term) Covers(s *program.Subscription, paidAt time.Time) bool {
	start := t.Start
	if start.IsZero() {
		start = paidAt
	}
	if s == nil || paidAt.Before(start) || t.Ended != nil && paidAt.After(*t.Ended) {
		return false
	}
	return paidAt.Before(start.AddDate(0, s.Months, 0))
}

// InvoiceLine is what invoice inv pays under program p: a percent of the
// amount paid (rounded half up) in the invoice's currency, or the fixed
// amount in the program's, lowered to the cap. Amount 0 pays nothing.
func InvoiceLine(p *program.Program, inv Invoice) Line {
	s := p.Subscription
	l := Line{Milestone: InvoiceMilestone(inv.ID), Party: s.Party, Kind: s.Kind,
		Currency: p.Currency, AmountMinor: s.AmountMinor, MultiplierBP: 10000, Tier: -1,
		Description: s.Description(inv.ID)}
	if s.PercentBasisPoints > 0 {
		l.Currency, l.PercentBP, l.DealMinor = strings.ToUpper(inv.Currency), s.PercentBasisPoints, max(inv.AmountPaidMinor, 0)
		l.AmountMinor = roundedShare(l.DealMinor, s.PercentBasisPoints)
	}
	if s.CapMinor > 0 && l.AmountMinor > s.CapMinor {
		l.AmountMinor, l.Bound = s.CapMinor, "ceiling"
	}
	// Like a milestone's reward: at or above the approval threshold, or
	// in another currency where it cannot be compared, a person approves.
	l.NeedsApproval = p.Approval.AutoBelowMinor > 0 &&
		(l.Currency != p.Currency || l.AmountMinor >= p.Approval.AutoBelowMinor)
	return l
}

// roundedShare is amount x bp / 10000, rounded half up.
func roundedShare(amount, bp int64) int64 {
	v := new(big.Int).Mul(big.NewInt(amount), big.NewInt(bp))
	v.Add(v, big.NewInt(5000))
	v.Quo(v, big.NewInt(10000))
	if !v.IsInt64() {
		return 1<<63 - 1
	}
	return v.Int64()
}

// InvoicePaid records the reward of invoice inv of referral r's referred
// customer under program p (the version r was accepted under), whose
// subscription term is t: on hold until the refund window after the
// invoice was paid, reserved against the program's limits. It returns the
// reward as stored; a repeat (a redelivery, in any order) returns the same
// reward and writes nothing new. A payable reward is filed (again: the
// filing is idempotent) for the payouts runner, due when its hold ends
// (Schedule). ErrNoSubscriptionRewards,
// ErrReferralClosed, ErrOutsideSubscription: nothing is written; a zero
// amount writes nothing and returns a zero Reward.
func (s *Service) InvoicePaid(ctx context.Context, r *referral.Referral, p *program.Program, inv Invoice, t Term, actor string) (Reward, error) {
	switch {
	case p.Subscription == nil:
		return Reward{}, fmt.Errorf("%w: %s v%d", ErrNoSubscriptionRewards, p.ID, p.Version)
	case r.Status == referral.StatusRejected || r.LostAt != nil:
		return Reward{}, fmt.Errorf("%w: referral %s is %s", ErrReferralClosed, r.ID, r.Status)
	case !t.Covers(p.Subscription, inv.PaidAt):
		return Reward{}, fmt.Errorf("%w: invoice %s", ErrOutsideSubscription, inv.ID)
	}
	l := InvoiceLine(p, inv)
	if l.AmountMinor <= 0 {
		return Reward{}, nil
	}
	now := s.Now().UTC()
	holdUntil := inv.PaidAt.UTC().AddDate(0, 0, p.Subscription.RefundWindow())
	rw := newReward(r, l, now, max(holdUntil.Sub(now), 0))
	rw.InvoiceID = inv.ID
	var lims []Limit
	if rw.Currency == p.Currency {
		lims = limits(p, rw, now)
	}
	created := func(rw Reward) events.Event {
		return Event(events.RewardCreated, rw, actor, now).With("invoice_id", inv.ID).With("reason", rw.StatusReason)
	}
	stored, err := s.Repo.CreateRewards(ctx, r.ID, l.Milestone, []Reward{rw}, lims, created)
	if err != nil {
		return Reward{}, err
	}
	for _, got := range stored {
		if got.Party != l.Party {
			continue
		}
		if got.Status.Payable() {
			if err := s.Schedule(ctx, got, got.HoldUntil); err != nil {
				return got, fmt.Errorf("rewards: invoice %s: schedule: %w", inv.ID, err)
			}
		}
		return got, nil
	}
	return Reward{}, fmt.Errorf("rewards: invoice %s: the reward was not stored", inv.ID)
}

// InvoiceRefunded settles the reward of invoice invoiceID of referral r,
// whose invoice was refunded or credited: an unpaid reward is voided
// (its reservations given back), a paid one reversed with a new ledger
// entry, at most once. No reward (yet): nothing happens. It returns how
// many rewards this call voided and reversed; a repeat changes nothing.
// ErrPaymentInFlight: the reward is being paid; call again later.
func (s *Service) InvoiceRefunded(ctx context.Context, r *referral.Referral, invoiceID, actor string) (Loss, error) {
	var out Loss
	rws, err := s.Repo.MilestoneRewards(ctx, r.ID, InvoiceMilestone(invoiceID))
	if err != nil {
		return out, err
	}
	now := s.Now().UTC()
	var unpaid []Reward
	for _, rw := range rws {
		switch {
		case rw.Status == StatusSending:
			return out, fmt.Errorf("%w: %s", ErrPaymentInFlight, rw.ID)
		case rw.Status == StatusPaid:
			ok, err := s.reverse(ctx, rw, ReasonInvoiceRefunded, actor, now)
			if err != nil {
				return out, err
			}
			if ok {
				out.Reversed++
			}
		case rw.Status.Payable():
			unpaid = append(unpaid, rw)
		}
	}
	out.Voided, err = s.void(ctx, unpaid, ReasonInvoiceRefunded, actor, now)
	return out, err
}
