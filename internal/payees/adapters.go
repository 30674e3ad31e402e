package payees

import (
	"context"
	"errors"
	"fmt"

	"github.com/referflow/referflow/internal/rewards/paypal"
	"github.com/referflow/referflow/internal/rewards/stripe"
	"github.com/referflow/referflow/internal/rewards/tremendous"
)

// Source reads the payee a reward of party (program.PartyReferrer: the
// referral's partner; program.PartyReferee: its new customer) in a
// referral goes to: the store's PayeeOf. ErrNotFound when there is none.
type Source interface {
	PayeeOf(ctx context.Context, programID, party, referralID string) (*Record, error)
}

// ForStripe is the Stripe rail's view of the payees in src: a partner's
// connected account and the new customer's Stripe customer.
func ForStripe(src Source) stripe.Payees { return stripePayees{src} }

// ForPayPal is the PayPal rail's view of the payees in src: a PayPal email.
func ForPayPal(src Source) paypal.Payees { return payPalPayees{src} }

// ForTremendous is the gift card rail's view of the payees in src: the
// recipient's name and email.
func ForTremendous(src Source) tremendous.Payees { return giftCardPayees{src} }

type stripePayees struct{ src Source }

// Payee answers the Stripe details, or an error wrapping
// ErrNoPayoutMethod when the party's method is not Stripe.
func (a stripePayees) Payee(ctx context.Context, programID, party, referralID string) (stripe.Details, error) {
	p, err := payeeFor(ctx, a.src, programID, party, referralID, MethodStripe)
	if err != nil {
		return stripe.Details{}, err
	}
	return stripe.Details{Account: p.Details.Account, Customer: p.Details.Customer}, nil
}

type payPalPayees struct{ src Source }

// Payee answers the PayPal email, or an error wrapping ErrNoPayoutMethod
// when the party's method is not PayPal or names a payer id only (the
// PayPal rail pays to emails).
func (a payPalPayees) Payee(ctx context.Context, programID, party, referralID string) (paypal.Payee, error) {
	p, err := payeeFor(ctx, a.src, programID, party, referralID, MethodPayPal)
	if err != nil {
		return paypal.Payee{}, err
	}
	if p.Details.Email == "" {
		return paypal.Payee{}, fmt.Errorf("payees: the %s of referral %s has a PayPal payer id, and the PayPal rail pays to an email: %w",
			party, referralID, ErrNoPayoutMethod)
	}
	return paypal.Payee{Email: p.Details.Email}, nil
}

type giftCardPayees struct{ src Source }

// Payee answers the gift card's recipient, or an error wrapping
// ErrNoPayoutMethod when the party's method is not a gift card.
func (a giftCardPayees) Payee(ctx context.Context, programID, party, referralID string) (tremendous.Recipient, error) {
	p, err := payeeFor(ctx, a.src, programID, party, referralID, MethodGiftCard)
	if err != nil {
		return tremendous.Recipient{}, err
	}
	return tremendous.Recipient{Name: p.Details.Name, Email: p.Details.Email}, nil
}

// payeeFor reads the payee of party in the referral and checks it is paid
// by method. The errors name ids and methods only, never details.
func payeeFor(ctx context.Context, src Source, programID, party, referralID string, method Method) (*Record, error) {
	p, err := src.PayeeOf(ctx, programID, party, referralID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("payees: the %s of referral %s has none: %w", party, referralID, ErrNoPayoutMethod)
	case err != nil:
		return nil, fmt.Errorf("payees: read the %s of referral %s: %w", party, referralID, err)
	case p.Method != method:
		return nil, fmt.Errorf("payees: the %s of referral %s is paid by %s, not %s: %w", party, referralID, p.Method, method, ErrNoPayoutMethod)
	}
	return p, nil
}
