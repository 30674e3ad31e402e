package rewards

import "context"

// Payout moves the money of a reward being paid through one rail. Send must
// be idempotent on r.IdempotencyKey: the rail is called with that key, so a
// repeated call finds the first transfer and returns it, never paying
// again. The lifecycle calls it only for a reward it has claimed (status
// sending, written under the deal check) and marks the reward paid, with
// its ledger entry, after Send succeeds (pay.go).
type Payout interface {
	Send(ctx context.Context, r Reward) (Transfer, error)
}

// Transfer is what a rail reports for a reward it paid.
type Transfer struct {
	Method    string // the rail: "ledger", "manual", "stripe", ...
	Reference string // the rail's id for the transfer ("" for the ledger)
}

// MethodLedger is the payout method of the ledger: finance pays the
// payable entries from the ledger export.
const MethodLedger = RailLedger
