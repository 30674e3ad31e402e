package paypal

import (
	"context"
	"errors"
	"fmt"

	"github.com/referflow/referflow/internal/rewards"
)

// errNoItem: PayPal holds a finished payout under the reward's key without
// the reward's item in it, so nothing was paid for the reward (and, within
// Window, nothing can be under that key).
var errNoItem = fmt.Errorf("PayPal's payout under this key has no item for the reward: %w", rewards.ErrRefused)

// settle reads payout batchID and says what it means for reward r: a
// Transfer (paid, or sent and in progress), or a Transfer with an error
// wrapping rewards.ErrRefused or rewards.ErrReversed. A payout that cannot
// be read is an unknown outcome (its Transfer is still returned).
func (p *Rail) settle(ctx context.Context, r rewards.Reward, batchID string) (rewards.Transfer, error) {
	t := rewards.Transfer{Method: Method, Reference: batchID}
	b, err := p.batch(ctx, batchID)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			err = fmt.Errorf("%v: %w", ae, rewards.ErrUnknownOutcome) // it exists: a 4xx here says nothing of the payment
		}
		return t, err
	}
	if b.Header.BatchStatus == "DENIED" {
		return t, fmt.Errorf("payout %s: batch DENIED: %w", batchID, rewards.ErrRefused)
	}
	for _, it := range b.Items {
		if it.PayoutItem.SenderItemID != r.ID {
			continue
		}
		return t, itemOutcome(batchID, it.TransactionStatus, it.Errors)
	}
	switch b.Header.BatchStatus {
	case "PENDING", "PROCESSING", "":
		return t, fmt.Errorf("payout %s is %s and lists no item yet: %w", batchID, b.Header.BatchStatus, rewards.ErrUnknownOutcome)
	}
	return rewards.Transfer{}, errNoItem
}

// itemOutcome maps an item's transaction_status (see the package comment).
func itemOutcome(batchID, status string, e *struct {
	Name string `json:"name"`
}) error {
	reason := status
	if e != nil && e.Name != "" {
		reason += ": " + e.Name
	}
	switch status {
	case "SUCCESS", "PENDING", "UNCLAIMED", "ONHOLD", "":
		return nil
	case "FAILED", "RETURNED", "BLOCKED":
		return fmt.Errorf("payout %s: %s: %w", batchID, reason, rewards.ErrRefused)
	case "REFUNDED", "REVERSED":
		return fmt.Errorf("payout %s: %s: %w", batchID, reason, rewards.ErrReversed)
	}
	return fmt.Errorf("payout %s: unknown item status %s: %w", batchID, reason, rewards.ErrUnknownOutcome)
}
