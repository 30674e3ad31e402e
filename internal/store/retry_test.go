package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func cancelled(codes ...string) error {
	var rs []types.CancellationReason
	for _, c := range codes {
		rs = append(rs, types.CancellationReason{Code: aws.String(c)})
	}
	return fmt.Errorf("store: %w", &types.TransactionCanceledException{CancellationReasons: rs})
}

// Which failed writes are retried as they are: conflicts and throttling,
// never a failed condition (a real answer about the data) nor anything
// else.
func TestTransient(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{cancelled("None", "TransactionConflict", "None"), true},
		{cancelled("ThrottlingError"), true},
		{cancelled("ProvisionedThroughputExceeded", "None"), true},
		{cancelled("ConditionalCheckFailed", "TransactionConflict"), false},
		{cancelled("ConditionalCheckFailed", "None"), false},
		{cancelled("ValidationError"), false},
		{cancelled("None", "None"), false},
		{&types.ProvisionedThroughputExceededException{}, true},
		{fmt.Errorf("wrapped: %w", &types.RequestLimitExceeded{}), true},
		{&types.TransactionConflictException{}, true},
		{&types.ConditionalCheckFailedException{}, false},
		{&types.ResourceNotFoundException{}, false},
		{errors.New("boom"), false},
	} {
		if got := transient(c.err); got != c.want {
			t.Errorf("transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
