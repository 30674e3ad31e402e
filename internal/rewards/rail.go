package rewards

import (
	"context"
	"errors"
)

// Rail is a payout rail that moves money itself (Stripe, PayPal, gift
// cards): besides sending, it can look a reward's payment up by the
// reward's idempotency key (or the metadata and group it was sent with),
// which is how an unknown outcome is resolved without paying again.
type Rail interface {
	Payout
	// Find looks the payment of r up at the rail, never paying: found is
	// false when the rail has none for r. A payment found but reversed
	// returns found with its Transfer and an error wrapping ErrReversed.
	Find(ctx context.Context, r Reward) (Transfer, bool, error)
}

// Errors a Rail's Send and Find wrap, so the caller knows what to do next.
var (
	// ErrRefused: the rail definitely refused the payment (an invalid
	// account, insufficient funds, ...): nothing was paid; the wrapping
	// error carries the rail's reason. Retrying the same call cannot help.
	ErrRefused = errors.New("rewards: the rail refused the payment")
	// ErrUnknownOutcome: the call may or may not have paid (a timeout, a
	// hang-up, a 5xx, 409 or 429): resolve it with Find, never by sending
	// again.
	ErrUnknownOutcome = errors.New("rewards: the payment's outcome is unknown")
	// ErrReversed: the rail paid, then reversed the payment (all of it):
	// it must never be recorded as paid.
	ErrReversed = errors.New("rewards: the payment was reversed at the rail")
)

// ErrNoPayoutMethod: the party has no payout method the reward's rail can
// pay to (none recorded, or another method). The reward waits on hold
// with ReasonNoPayoutMethod until an operator records one.
var ErrNoPayoutMethod = errors.New("rewards: no payout method")

// ReasonNoPayoutMethod is the status reason of a reward waiting for its
// party's payout method.
const ReasonNoPayoutMethod = "no payout method"

// Rail names, as a program's payout.rails names them per reward kind.
const (
	// RailLedger: the payable ledger entry is the payout; finance pays it
	// from its own records (no payee needed). The default.
	RailLedger = "ledger"
	// RailManual: like the ledger, and the payee's recorded details are
	// required: finance pays payout batches (CSV with payee details).
	RailManual = "manual"
	// Rails that move money themselves (a Rail each).
	RailStripe     = "stripe"
	RailPayPal     = "paypal"
	RailTremendous = "tremendous"
)

// PayeeCheck says whether a reward's party can be paid through a rail:
// nil when it can, an error wrapping ErrNoPayoutMethod when it cannot yet
// (the payees store: internal/payees).
type PayeeCheck interface {
	Ready(ctx context.Context, rail string, r Reward) error
}

// Reverser is a Rail that can take a payment back at the provider: when a
// paid reward is reversed (a refund after payout), the ledger's reversal
// entry is followed by the rail's own (Stripe: a transfer reversal, a
// debit of the customer's balance, or the promotion code deactivated).
// Reverse takes the payment of r (paid, r.Reference its object) back in
// full, idempotently on ReversalKey(r), and returns the rail's reference
// for the reversal. Errors wrap ErrRefused (the rail will not: e.g. the
// connected account's balance is short, or the discount was redeemed) or
// ErrUnknownOutcome (ask again: the key makes a repeat safe).
type Reverser interface {
	Reverse(ctx context.Context, r Reward) (string, error)
}

// ReversalKey is the idempotency key of the rail reversal of reward r.
func ReversalKey(r Reward) string { return KeyFor(r.ID, r.Generation) + "-reversal" }
