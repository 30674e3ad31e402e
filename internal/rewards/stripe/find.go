package stripe

import (
	"context"
	"errors"
	"fmt"

	stripego "github.com/stripe/stripe-go/v84"

	"github.com/referflow/referflow/internal/rewards"
)

// findTransfer lists the transfers of the reward's group and keeps those
// carrying its reward id (from any generation of its key): one not
// reversed is the payment; when every one is fully reversed, the last is
// reported with rewards.ErrReversed.
func (s *Rail) findTransfer(ctx context.Context, r rewards.Reward) (string, bool, error) {
	p := &stripego.TransferListParams{TransferGroup: stripego.String(r.ID)}
	p.Limit = stripego.Int64(100)
	reversed := ""
	for t, err := range s.sc.V1Transfers.List(ctx, p) {
		if err != nil {
			return "", false, lookupError("transfers", err)
		}
		if t.Metadata[MetaRewardID] != r.ID {
			continue
		}
		if !t.Reversed && t.AmountReversed < t.Amount {
			return t.ID, true, nil
		}
		reversed = t.ID
	}
	if reversed != "" {
		return reversed, true, fmt.Errorf("transfer %s: %w", reversed, rewards.ErrReversed)
	}
	return "", false, nil
}

// findCredit lists the customer's balance transactions (Stripe has no
// metadata filter) for one carrying the reward id (not its reversal's
// debit, which carries MetaReversalKey too: reverse.go).
func (s *Rail) findCredit(ctx context.Context, r rewards.Reward, d Details) (string, bool, error) {
	if d.Customer == "" {
		return "", false, nil
	}
	p := &stripego.CustomerBalanceTransactionListParams{Customer: stripego.String(d.Customer)}
	p.Limit = stripego.Int64(100)
	for t, err := range s.sc.V1CustomerBalanceTransactions.List(ctx, p) {
		if err != nil {
			return "", false, lookupError("balance transactions", err)
		}
		if t.Metadata[MetaRewardID] == r.ID && t.Metadata[MetaReversalKey] == "" {
			return t.ID, true, nil
		}
	}
	return "", false, nil
}

// findDiscount retrieves the reward's coupon by its id, then the promotion
// code made for it: a coupon without its code is not a delivered discount
// (found false; Send completes it, reusing the coupon).
func (s *Rail) findDiscount(ctx context.Context, r rewards.Reward, d Details) (string, bool, error) {
	if _, err := s.sc.V1Coupons.Retrieve(ctx, CouponID(r), nil); err != nil {
		if missing(err) {
			return "", false, nil
		}
		return "", false, lookupError("coupon", err)
	}
	p := &stripego.PromotionCodeListParams{Coupon: stripego.String(CouponID(r))}
	p.Limit = stripego.Int64(100)
	for pc, err := range s.sc.V1PromotionCodes.List(ctx, p) {
		if err != nil {
			return "", false, lookupError("promotion codes", err)
		}
		if pc.Metadata[MetaRewardID] == r.ID && (d.Customer == "" || pc.Customer == nil || pc.Customer.ID == d.Customer) {
			return pc.ID, true, nil
		}
	}
	return "", false, nil
}

// missing reports whether err is Stripe's 404 for an object.
func missing(err error) bool {
	var se *stripego.Error
	return errors.As(err, &se) && se.HTTPStatusCode == 404
}

// lookupError wraps a failed look-up: whether the reward was paid stays
// unknown, whatever Stripe answered.
func lookupError(what string, err error) error {
	return fmt.Errorf("list %s: %w: %w", what, rewards.ErrUnknownOutcome, err)
}
