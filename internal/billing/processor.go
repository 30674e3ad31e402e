package billing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// Provider is the name Stripe events are deduplicated and counted under.
const Provider = "stripe"

// Outcomes of an applied event (the store keeps it with the event id; the
// handler counts them).
const (
	OutcomeRewarded     = "rewarded"       // the invoice's reward exists (created now or before)
	OutcomeNoReward     = "no_reward"      // linked, but the invoice earns nothing (program, months, amount, referral)
	OutcomeRefunded     = "refunded"       // a refund or credit note recorded (and its reward settled)
	OutcomeEnded        = "ended"          // the subscription's end recorded
	OutcomeUntracked    = "untracked"      // a customer nobody referred: counted, nothing personal stored
	OutcomeIgnored      = "ignored"        // a type or object Referflow does not act on
	OutcomeDuplicate    = "duplicate"      // the event was applied before
	OutcomeNotForReward = "not_an_invoice" // a refund of a charge of no invoice
)

// Store is what the processor reads and writes (internal/store).
type Store interface {
	ClaimEvent(ctx context.Context, provider, id string, now time.Time) (applied bool, err error)
	FinishEvent(ctx context.Context, provider, id, outcome, referralID string, now time.Time) error
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
	// ReferralsByEmail lists referral ids whose referee has email, newest
	// first (through keyed hashes: the email is not stored).
	ReferralsByEmail(ctx context.Context, email string) ([]string, error)
	StripeLink(ctx context.Context, customerID string) (Link, error)
	PutStripeLink(ctx context.Context, customerID, referralID string, now time.Time) (Link, error)
	StartStripeSubscription(ctx context.Context, customerID string, paidAt time.Time) (Link, error)
	EndStripeSubscription(ctx context.Context, customerID string, at time.Time) (bool, error)
	StripeInvoice(ctx context.Context, invoiceID string) (InvoiceRecord, error)
	MarkInvoicePaid(ctx context.Context, invoiceID, referralID string, paidAt time.Time, ev events.Event) (bool, error)
	MarkInvoiceRefunded(ctx context.Context, invoiceID, referralID string, at time.Time, ev *events.Event) (bool, error)
}

// Rewards creates and settles invoices' rewards (*rewards.Service).
type Rewards interface {
	InvoicePaid(ctx context.Context, r *referral.Referral, p *program.Program, inv rewards.Invoice, t rewards.Term, actor string) (rewards.Reward, error)
	InvoiceRefunded(ctx context.Context, r *referral.Referral, invoiceID, actor string) (rewards.Loss, error)
}

// Processor applies verified Stripe events, each at most once in effect:
// the event id is claimed first, and every effect is idempotent on the
// invoice, so a redelivery, a retry after a failure or events in any order
// leave one reward per invoice.
type Processor struct {
	Store   Store
	Rewards Rewards
	Now     func() time.Time
}

// Result is what applying one event did.
type Result struct {
	Outcome    string `json:"outcome"`
	ReferralID string `json:"referral_id,omitempty"`
	RewardID   string `json:"reward_id,omitempty"`
}

// ErrNotFound is what the store answers for a missing item.
var ErrNotFound = referral.ErrNotFound

var actor = events.ActorWebhook(Provider)

// Apply applies ev. An error means it was not fully applied: the sender
// retries (the event is claimed again, and repeating what was done changes
// nothing).
func (p *Processor) Apply(ctx context.Context, ev Event) (Result, error) {
	now := p.Now().UTC()
	applied, err := p.Store.ClaimEvent(ctx, Provider, ev.ID, now)
	if err != nil {
		return Result{}, err
	}
	if applied {
		return Result{Outcome: OutcomeDuplicate}, nil
	}
	var res Result
	switch {
	case ev.Invoice != nil:
		res, err = p.invoicePaid(ctx, ev.Invoice, now)
	case ev.Refund != nil:
		res, err = p.refunded(ctx, ev.Refund, now)
	case ev.Ended != nil:
		res, err = p.ended(ctx, ev.Ended)
	default:
		res = Result{Outcome: OutcomeIgnored}
	}
	if err != nil {
		return res, fmt.Errorf("billing: %s %s: %w", ev.Type, ev.ID, err)
	}
	return res, p.Store.FinishEvent(ctx, Provider, ev.ID, res.Outcome, res.ReferralID, now)
}

// invoicePaid links the customer, records the invoice in the referral's
// history, creates its reward, then settles it if a refund was recorded
// first (the refund path records the refund before it looks for the
// reward, so whichever runs second sees the other).
func (p *Processor) invoicePaid(ctx context.Context, inv *Invoice, now time.Time) (Result, error) {
	link, r, prog, err := p.link(ctx, inv, now)
	if err != nil || r == nil {
		return Result{Outcome: OutcomeUntracked}, err
	}
	res := Result{Outcome: OutcomeNoReward, ReferralID: r.ID}
	if prog.Subscription == nil {
		return res, nil
	}
	if link, err = p.Store.StartStripeSubscription(ctx, link.CustomerID, inv.PaidAt); err != nil {
		return res, err
	}
	hist := events.New(events.InvoicePaid, r.ID, actor, now).With("invoice_id", inv.ID).
		With("amount_minor", strconv.FormatInt(inv.AmountPaid, 10)).With("currency", inv.Currency)
	hist.ProgramID, hist.ProgramVersion = r.ProgramID, r.ProgramVersion
	if _, err := p.Store.MarkInvoicePaid(ctx, inv.ID, r.ID, inv.PaidAt, hist); err != nil {
		return res, err
	}
	rw, err := p.Rewards.InvoicePaid(ctx, r, prog, rewards.Invoice{ID: inv.ID, AmountPaidMinor: inv.AmountPaid, Currency: inv.Currency, PaidAt: inv.PaidAt},
		rewards.Term{Start: link.StartedAt, Ended: link.EndedAt}, actor)
	switch {
	case errors.Is(err, rewards.ErrOutsideSubscription), errors.Is(err, rewards.ErrReferralClosed), errors.Is(err, rewards.ErrNoSubscriptionRewards):
		return res, nil
	case err != nil:
		return res, err
	case rw.ID == "":
		return res, nil
	}
	res.Outcome, res.RewardID = OutcomeRewarded, rw.ID
	rec, err := p.Store.StripeInvoice(ctx, inv.ID)
	if err != nil || rec.RefundedAt == nil {
		return res, err
	}
	_, err = p.Rewards.InvoiceRefunded(ctx, r, inv.ID, actor)
	return res, err
}

// refunded records the refund on the invoice first, then voids or
// reverses the invoice's reward if it exists.
func (p *Processor) refunded(ctx context.Context, rf *Refund, now time.Time) (Result, error) {
	if rf.InvoiceID == "" {
		return Result{Outcome: OutcomeNotForReward}, nil
	}
	rec, err := p.Store.StripeInvoice(ctx, rf.InvoiceID)
	if err != nil {
		return Result{}, err
	}
	referralID := rec.ReferralID
	if referralID == "" && rf.CustomerID != "" {
		l, err := p.Store.StripeLink(ctx, rf.CustomerID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Result{}, err
		}
		referralID = l.ReferralID
	}
	if referralID == "" {
		// Nobody's yet: kept, so a later invoice.paid finds it refunded.
		_, err := p.Store.MarkInvoiceRefunded(ctx, rf.InvoiceID, "", rf.At, nil)
		return Result{Outcome: OutcomeUntracked}, err
	}
	r, err := p.Store.Referral(ctx, referralID)
	if err != nil {
		return Result{}, err
	}
	hist := events.New(events.InvoiceRefunded, r.ID, actor, now).With("invoice_id", rf.InvoiceID)
	if rf.AmountMinor > 0 && rf.Currency != "" {
		hist = hist.With("amount_minor", strconv.FormatInt(rf.AmountMinor, 10)).With("currency", rf.Currency)
	}
	hist.ProgramID, hist.ProgramVersion = r.ProgramID, r.ProgramVersion
	if _, err := p.Store.MarkInvoiceRefunded(ctx, rf.InvoiceID, r.ID, rf.At, &hist); err != nil {
		return Result{}, err
	}
	_, err = p.Rewards.InvoiceRefunded(ctx, r, rf.InvoiceID, actor)
	return Result{Outcome: OutcomeRefunded, ReferralID: r.ID}, err
}

// ended records the end of a linked customer's subscription: its later
// invoices earn nothing.
func (p *Processor) ended(ctx context.Context, e *Ended) (Result, error) {
	linked, err := p.Store.EndStripeSubscription(ctx, e.CustomerID, e.At)
	if err != nil || !linked {
		return Result{Outcome: OutcomeUntracked}, err
	}
	l, err := p.Store.StripeLink(ctx, e.CustomerID)
	return Result{Outcome: OutcomeEnded, ReferralID: l.ReferralID}, err
}
