package stripe_test

import (
	"context"
	"errors"
	"testing"

	"github.com/referflow/referflow/infra/local/fakes"
	"github.com/referflow/referflow/internal/rewards"
)

// A discount whose coupon call got a 500 after Stripe made the coupon (an
// ambiguous failure the chaos soak injects, infra/e2e): Stripe keeps that
// 500 for the coupon's idempotency key for 24 hours, so posting the coupon
// again gets the 500 back. Resolved as rewards.Service does (Find, then
// Send again when nothing is found), the discount must be delivered now,
// once, not only after the 24 hour window.
func TestDiscountCompletesAfterCouponKeptA500(t *testing.T) {
	ctx := context.Background()
	f, rail := start(t)
	r := reward("discount", "referee")
	control(t, f, "/failures", fakes.StripeFailure{Status: 500, After: true})
	sent, err := rail.Send(ctx, r)
	for attempt := 0; err != nil && attempt < 3; attempt++ {
		if !errors.Is(err, rewards.ErrUnknownOutcome) {
			t.Fatalf("send: %v, want ErrUnknownOutcome", err)
		}
		var found bool
		if sent, found, err = rail.Find(ctx, r); err == nil && !found {
			sent, err = rail.Send(ctx, r)
		}
	}
	codes := f.Objects("promotion_codes")
	if err != nil || len(codes) != 1 || sent.Reference != codes[0]["id"] || len(f.Objects("coupons")) != 1 {
		t.Fatalf("discount after a kept 500: %+v %v; promotion codes %v, coupons %d", sent, err, codes, len(f.Objects("coupons")))
	}
}
