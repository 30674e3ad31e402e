package stripe

import (
	"context"
	"errors"
	"fmt"
	"strings"

	stripego "github.com/stripe/stripe-go/v84"

	"github.com/referflow/referflow/internal/rewards"
)

// CouponID is the id of the coupon of discount reward r: its idempotency
// key, so the coupon is itself the reward's natural key at Stripe.
func CouponID(r rewards.Reward) string { return r.IdempotencyKey }

// PromotionCode is the code the new customer redeems for discount reward r:
// "RF-" and the reward id's hex in capitals (letters, digits and dashes,
// as Stripe requires), the same for every call.
func PromotionCode(r rewards.Reward) string {
	return "RF-" + strings.ToUpper(strings.TrimPrefix(r.ID, "rw_"))
}

// transfer sends cash to the partner's connected account.
func (s *Rail) transfer(ctx context.Context, r rewards.Reward, d Details) (string, error) {
	if d.Account == "" {
		return "", ErrNoDestination
	}
	p := &stripego.TransferCreateParams{
		Amount:        stripego.Int64(r.AmountMinor),
		Currency:      stripego.String(strings.ToLower(r.Currency)),
		Destination:   stripego.String(d.Account),
		TransferGroup: stripego.String(r.ID),
		Description:   description(r),
		Metadata:      metadata(r),
	}
	p.SetIdempotencyKey(r.IdempotencyKey)
	t, err := s.sc.V1Transfers.Create(ctx, p)
	if err != nil {
		return "", classify("transfer", err)
	}
	return t.ID, nil
}

// credit applies account credit to the new customer's balance (a negative
// amount is a credit, used on the customer's next invoices).
func (s *Rail) credit(ctx context.Context, r rewards.Reward, d Details) (string, error) {
	if d.Customer == "" {
		return "", ErrNoDestination
	}
	p := &stripego.CustomerBalanceTransactionCreateParams{
		Customer:    stripego.String(d.Customer),
		Amount:      stripego.Int64(-r.AmountMinor),
		Currency:    stripego.String(strings.ToLower(r.Currency)),
		Description: description(r),
		Metadata:    metadata(r),
	}
	p.SetIdempotencyKey(r.IdempotencyKey)
	t, err := s.sc.V1CustomerBalanceTransactions.Create(ctx, p)
	if err != nil {
		return "", classify("balance transaction", err)
	}
	return t.ID, nil
}

// discount creates the reward's coupon (amount off, once) and a promotion
// code for it that only the new customer can redeem; the reference is the
// promotion code's id. A coupon left by an earlier call (its id exists) is
// reused, so a call that stopped between the two completes.
func (s *Rail) discount(ctx context.Context, r rewards.Reward, d Details) (string, error) {
	if d.Customer == "" {
		return "", ErrNoDestination
	}
	cp := &stripego.CouponCreateParams{
		ID:             stripego.String(CouponID(r)),
		AmountOff:      stripego.Int64(r.AmountMinor),
		Currency:       stripego.String(strings.ToLower(r.Currency)),
		Duration:       stripego.String(string(stripego.CouponDurationOnce)),
		MaxRedemptions: stripego.Int64(1),
		Name:           description(r),
		Metadata:       metadata(r),
	}
	cp.SetIdempotencyKey(r.IdempotencyKey)
	if _, err := s.sc.V1Coupons.Create(ctx, cp); err != nil && !exists(err) {
		if err := classify("coupon", err); !errors.Is(err, rewards.ErrUnknownOutcome) || !s.couponMade(ctx, r) {
			return "", err
		}
		// Stripe made the coupon but keeps the call's unknown outcome (a
		// 500) for its key for 24 hours: the coupon's id says it exists.
	}
	pp := &stripego.PromotionCodeCreateParams{
		Promotion: &stripego.PromotionCodeCreatePromotionParams{
			Type:   stripego.String("coupon"),
			Coupon: stripego.String(CouponID(r)),
		},
		Code:           stripego.String(PromotionCode(r)),
		Customer:       stripego.String(d.Customer),
		MaxRedemptions: stripego.Int64(1),
		Metadata:       metadata(r),
	}
	pp.SetIdempotencyKey(r.IdempotencyKey + "-promotion-code")
	pc, err := s.sc.V1PromotionCodes.Create(ctx, pp)
	if err != nil {
		return "", classify("promotion code", err)
	}
	return pc.ID, nil
}

// description is what Stripe's dashboard shows: the reward's own text
// (amounts and milestones, never a person), capped to fit coupon names.
func description(r rewards.Reward) *string {
	d := r.Description
	if d == "" {
		d = "Referflow reward " + r.ID
	}
	if r := []rune(d); len(r) > 40 {
		d = string(r[:40])
	}
	return stripego.String(d)
}

// exists reports whether err is Stripe's answer that an object with the
// caller-chosen id exists already.
func exists(err error) bool {
	var se *stripego.Error
	return errors.As(err, &se) && se.Code == stripego.ErrorCodeResourceAlreadyExists
}

// classify maps a Stripe call's error to the rail's: a definite refusal
// (400, 402, 403, 404: Stripe did not act) wraps rewards.ErrRefused with
// Stripe's code and message; an idempotency conflict (409, or a key reused
// with other parameters), a rate limit (429), a 5xx, or no answer (a
// timeout, a reset, a hang-up) wraps rewards.ErrUnknownOutcome.
func classify(step string, err error) error {
	var se *stripego.Error
	if !errors.As(err, &se) || se.HTTPStatusCode == 0 {
		return fmt.Errorf("%s: %w: %w", step, rewards.ErrUnknownOutcome, err)
	}
	code := string(se.Code)
	if code == "" {
		code = string(se.Type)
	}
	switch s := se.HTTPStatusCode; {
	case s == 409, s == 429, s >= 500, se.Type == stripego.ErrorTypeIdempotency:
		return fmt.Errorf("%s: %w: Stripe answered %d %s: %s", step, rewards.ErrUnknownOutcome, s, code, se.Msg)
	case s >= 400:
		return fmt.Errorf("%s: %w: Stripe answered %d %s: %s", step, rewards.ErrRefused, s, code, se.Msg)
	default:
		return fmt.Errorf("%s: %w: Stripe answered %d %s", step, rewards.ErrUnknownOutcome, s, code)
	}
}

// couponMade reports whether the coupon of discount reward r exists.
func (s *Rail) couponMade(ctx context.Context, r rewards.Reward) bool {
	_, err := s.sc.V1Coupons.Retrieve(ctx, CouponID(r), nil)
	return err == nil
}
