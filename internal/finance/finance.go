// Package finance is the ledger as finance reads it: balances per partner
// and per program (balance.go), payout batches that finance pays by bank
// transfer and marks paid with a remittance reference (batch.go, csv.go),
// and the reconciliation report that compares what each provider rail
// reports for a reward's idempotency key with the ledger (reconcile.go).
//
// It reads and writes through small interfaces it owns (the DynamoDB
// store implements them), reads the clock through Now, and never logs:
// a batch's CSV holds payees' names and bank details by design (finance
// needs them), and nothing else here carries personal data.
package finance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// Errors callers match with errors.Is.
var (
	// ErrNotFound: no such batch (or partner).
	ErrNotFound = referral.ErrNotFound
	// ErrNothingToBatch: no payable manual entry of the program and
	// currency is waiting for a batch; nothing was written.
	ErrNothingToBatch = errors.New("finance: no payable manual entry is waiting for a batch")
	// ErrAlreadyPaid: the batch was marked paid with another remittance
	// reference; nothing was changed.
	ErrAlreadyPaid = errors.New("finance: the batch was marked paid with another remittance reference")
)

// Invalid names what is wrong with a request, by field (the admin API's
// error fields). Nothing was read or written.
type Invalid struct{ Fields map[string]string }

func (e *Invalid) Error() string { return fmt.Sprintf("finance: invalid request: %v", e.Fields) }

// Service is the finance operations the admin API and the operator CLI
// share.
type Service struct {
	Store  Store
	Payees Payees
	// Rails are the provider rails the reconciliation asks (Find only,
	// never Send), by rail name (internal/rails builds them).
	Rails map[string]rewards.Rail
	// Load, when set, supplies the rails instead of Rails, on first use
	// (internal/rails.Loader).
	Load func(ctx context.Context) (map[string]rewards.Rail, error)
	Now  func() time.Time
	// Rand makes batch ids (crypto/rand in production).
	Rand io.Reader
}

// Store is what finance reads and writes (the DynamoDB store).
type Store interface {
	BalanceStore
	BatchStore
	ReconcileStore
}

// manualMethods are the ledger methods whose payable entries finance pays
// itself by bank transfer: "manual", and "ledger" with its legacy empty
// form (entries written before rails existed).
func manualMethod(m string) bool {
	return m == rewards.RailManual || m == rewards.RailLedger || m == ""
}

// providerRail reports whether method is a rail that moves money itself.
func providerRail(m string) bool {
	return m == rewards.RailStripe || m == rewards.RailPayPal || m == rewards.RailTremendous
}

// ValidPeriod reports whether p is a month "YYYY-MM".
func ValidPeriod(p string) bool {
	t, err := time.Parse("2006-01", p)
	return err == nil && t.Format("2006-01") == p
}
