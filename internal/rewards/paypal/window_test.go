package paypal_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/fakes"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/paypal"
)

// Past PayPal's 30-day window PayPal forgets a payout's sender_batch_id,
// so its "no payout under this key" no longer rules a payment out: Find
// answers an unknown outcome for a reward claimed that long ago (never a
// not-found the lifecycle would send again), still finds a payout PayPal
// remembers, and answers not found for a failed reward (Rearm).
func TestFindPastTheWindowCannotRuleAPaymentOut(t *testing.T) {
	const day = 24 * time.Hour
	cases := []struct {
		name      string
		sentAfter time.Duration // when the payout was made after the claim; < 0: never
		status    rewards.Status
		later     time.Duration // when Find asks, after the claim
		found     bool
		want      error
	}{
		{"sent at the claim, asked a day later: found", 0, rewards.StatusSending, day, true, nil},
		{"never sent, asked a day later: not found", -1, rewards.StatusSending, day, false, nil},
		{"never sent, asked just inside the margin: not found", -1, rewards.StatusSending, paypal.Window - paypal.Margin - time.Second, false, nil},
		{"sent at the claim, asked past the window: unknown", 0, rewards.StatusSending, paypal.Window + day, false, rewards.ErrUnknownOutcome},
		{"never sent, asked past the window: unknown", -1, rewards.StatusSending, paypal.Window - paypal.Margin, false, rewards.ErrUnknownOutcome},
		{"sent 20 days after the claim, asked at 31 days: found", 20 * day, rewards.StatusSending, 31 * day, true, nil},
		{"failed long ago: not found (a re-arm may go on)", -1, rewards.StatusFailed, paypal.Window + day, false, nil},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, rail, clk := setup(t)
			ctx := context.Background()
			rw := reward(fmt.Sprintf("rw_w%d", i))
			rw.Status, rw.UpdatedAt = c.status, clk.t
			if c.sentAfter >= 0 {
				advance(t, f, clk, c.sentAfter)
				if _, err := rail.Send(ctx, rw); err != nil {
					t.Fatal(err)
				}
				advance(t, f, clk, c.later-c.sentAfter)
			} else {
				advance(t, f, clk, c.later)
			}
			tr, found, err := rail.Find(ctx, rw)
			if found != c.found || (c.want == nil) != (err == nil) || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Find = %+v, %v, %v; want found %v, %v", tr, found, err, c.found, c.want)
			}
			if want := map[bool]int{true: 1, false: 0}[c.sentAfter >= 0]; f.Payouts() != want {
				t.Errorf("payouts = %d, want %d", f.Payouts(), want)
			}
		})
	}
}

// advance moves the rail's clock and the fake's.
func advance(t *testing.T, f *fakes.PayPal, clk *clock, d time.Duration) {
	t.Helper()
	clk.t = clk.t.Add(d)
	control(t, f, "/clock", fmt.Sprintf(`{"advance_seconds":%d}`, int64(d/time.Second)))
}
