package rewards

import "context"

// Payout moves the money of a reward being paid through one rail. Send must
// be idempotent on r.IdempotencyKey: the rail is called with that key, so a
// repeated call (a retried step, a crash after the call) finds the first
// transfer and returns it, never paying again. The reward is marked paid,
// with its ledger entry, only after Send succeeds, in the write that checks
// the deal is still open: with the ledger (the only rail so far) nothing
// leaves before that check; a rail that moves money itself must first be
// given a claim written under the same check.
type Payout interface {
	Send(ctx context.Context, r Reward) (Transfer, error)
}

// Transfer is what a rail reports for a reward it paid.
type Transfer struct {
	Method    string // the rail: "ledger", ...
	Reference string // the rail's id for the transfer ("" for the ledger)
}

// MethodLedger is the payout method of the ledger: finance pays the
// payable entries from the ledger export.
const MethodLedger = "ledger"

// Ledger is the payout through the ledger: nothing leaves Referflow; the
// payable ledger entry written with the paid status is what finance pays.
type Ledger struct{}

// Send implements Payout.
func (Ledger) Send(context.Context, Reward) (Transfer, error) {
	return Transfer{Method: MethodLedger}, nil
}
