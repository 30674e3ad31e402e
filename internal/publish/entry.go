package publish

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// Limits of one PutEvents call.
const (
	MaxEntries      = 10
	MaxRequestBytes = 256 * 1024
)

// EntrySize is the size EventBridge counts for an entry against the
// PutEvents limit, as its documentation calculates it: 14 bytes for a Time,
// and the UTF-8 bytes of Source, DetailType, Detail and every Resource.
func EntrySize(e types.PutEventsRequestEntry) int {
	n := 0
	if e.Time != nil {
		n += 14
	}
	n += len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}
