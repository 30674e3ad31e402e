package payees

import (
	"context"
	"errors"
	"fmt"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards"
)

// Checker tells the rewards lifecycle whether a reward's party can be
// paid through a rail yet (rewards.PayeeCheck), from the payees in Src.
type Checker struct{ Src Source }

var _ rewards.PayeeCheck = Checker{}

// Ready is nil when the party of r has what rail pays to: nothing for the
// ledger; any recorded payee for the manual rail (finance pays from its
// details); for Stripe a connected account (cash) or a customer (credit,
// discount); for PayPal an email; for gift cards a recipient. Otherwise an
// error wrapping rewards.ErrNoPayoutMethod (or the store's error).
func (c Checker) Ready(ctx context.Context, rail string, r rewards.Reward) error {
	switch rail {
	case rewards.RailLedger, "":
		return nil
	case rewards.RailManual:
		p, err := c.Src.PayeeOf(ctx, r.ProgramID, r.Party, r.ReferralID)
		if err != nil || p == nil {
			return noMethod(r, err)
		}
		return nil
	case rewards.RailStripe:
		d, err := ForStripe(c.Src).Payee(ctx, r.ProgramID, r.Party, r.ReferralID)
		if err != nil {
			return err
		}
		if (r.Kind == program.KindCash && d.Account == "") || (r.Kind != program.KindCash && d.Customer == "") {
			return fmt.Errorf("payees: the %s of referral %s has no Stripe %s: %w", r.Party, r.ReferralID, stripeNeed(r.Kind), rewards.ErrNoPayoutMethod)
		}
		return nil
	case rewards.RailPayPal:
		_, err := ForPayPal(c.Src).Payee(ctx, r.ProgramID, r.Party, r.ReferralID)
		return err
	case rewards.RailTremendous:
		_, err := ForTremendous(c.Src).Payee(ctx, r.ProgramID, r.Party, r.ReferralID)
		return err
	}
	return fmt.Errorf("payees: unknown rail %q: %w", rail, rewards.ErrNoPayoutMethod)
}

func stripeNeed(kind string) string {
	if kind == program.KindCash {
		return "connected account"
	}
	return "customer"
}

// noMethod is the error of a party without any payee (err: the store's
// answer; ErrNotFound reads as no payout method).
func noMethod(r rewards.Reward, err error) error {
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("payees: read the %s of referral %s: %w", r.Party, r.ReferralID, err)
	}
	return fmt.Errorf("payees: the %s of referral %s has none: %w", r.Party, r.ReferralID, rewards.ErrNoPayoutMethod)
}
