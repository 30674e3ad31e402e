package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Contention. DynamoDB does not queue transactions that touch the same
// item: it cancels one of them (reason TransactionConflict), and it
// throttles a hot partition (reason ThrottlingError or
// ProvisionedThroughputExceeded on a cancelled transaction, or the request
// fails with ProvisionedThroughputExceededException, ThrottlingException,
// RequestLimitExceeded, or TransactionConflictException for a single write
// that met a transaction). The SDK retries throttled requests a few times
// but never a cancelled transaction. Nothing of a cancelled or throttled
// write is applied, so the store retries it as it is, with jittered,
// growing delays, at most maxTransientRetries times: counters, budgets and
// rewards of one partner or one program then take a burst of concurrent
// writes.

// maxTransientRetries bounds the retries of a write that failed for a
// transient reason (about 3.5 s of delays at most).
const maxTransientRetries = 12

// transientReasons are the cancellation reasons of a transaction that can
// be retried as it is.
var transientReasons = map[string]bool{
	"TransactionConflict": true, "ThrottlingError": true, "ProvisionedThroughputExceeded": true,
}

// throttledCodes are the error codes of a request that can be retried as
// it is.
var throttledCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true, "ThrottlingException": true,
	"RequestLimitExceeded": true, "TransactionConflictException": true,
}

// transient reports whether err is a write that failed for a transient
// reason only: a transaction cancelled by conflicts or throttling (and no
// failed condition), or a throttled request.
func transient(err error) bool {
	if reasons := cancelReasons(err); reasons != nil {
		retry := false
		for _, r := range reasons {
			switch {
			case r == "" || r == "None":
			case transientReasons[r]:
				retry = true
			default:
				return false
			}
		}
		return retry
	}
	var api interface{ ErrorCode() string } // smithy.APIError
	return errors.As(err, &api) && throttledCodes[api.ErrorCode()]
}

// transact writes items in one transaction, retrying it while it fails for
// a transient reason; any other error (a failed condition among them) is
// returned at once for the caller to read its reasons.
func (st *Store) transact(ctx context.Context, items []types.TransactWriteItem) error {
	for attempt := 1; ; attempt++ {
		_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil || !transient(err) || attempt > maxTransientRetries {
			return err
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

// conditionFailedAt reports whether the condition of item i of a cancelled
// transaction failed.
func conditionFailedAt(err error, i int) bool {
	reasons := cancelReasons(err)
	return i < len(reasons) && reasons[i] == "ConditionalCheckFailed"
}

// backoff sleeps a jittered, growing delay (up to 10 ms × 2^attempt,
// capped at 320 ms) before a write is retried.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(10*time.Millisecond) << min(attempt, 5)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("store: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}
