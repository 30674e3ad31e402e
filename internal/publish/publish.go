// Package publish puts every recorded domain event (internal/events) on an
// Amazon EventBridge bus. The table is the outbox: the store writes each
// event in the same transaction as the change it records, the table's
// stream brings the insert to PublishFunction, and Handle turns the stream
// records into PutEvents entries:
//
//	Source       "referflow"
//	DetailType   the event type ("referral.received")
//	Detail       json.Marshal(events.Event): ids, statuses, amounts; never a name or an email
//	Time         the event's time
//
// Nothing is lost: an entry EventBridge does not take is retried within the
// invocation, then reported as a batch item failure by its record's
// sequence number, so Lambda retries the stream from that record on (the
// events of a shard after it wait; consumers are idempotent on the event
// id, since a retry may publish an event twice). Only an entry EventBridge
// refuses for good (malformed, too large) is logged and counted
// (EventsRejected) and skipped; it stays in the table.
package publish

import (
	"context"
	"errors"
	"log/slog"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/referflow/referflow/internal/metrics"
)

// Source is the source of every event Referflow publishes.
const Source = "referflow"

// Metrics the publisher counts (CloudWatch EMF, namespace Referflow).
const (
	MetricPublished = "EventsPublished"
	// MetricRejected counts events EventBridge refused for good and stream
	// records that were not events: template.yaml alarms on it.
	MetricRejected = "EventsRejected"
)

// EventBridge is the part of the EventBridge API the publisher uses.
type EventBridge interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Publisher publishes the domain events of DynamoDB stream batches.
type Publisher struct {
	Client EventBridge
	// Bus is the event bus name or ARN (REFERFLOW_EVENT_BUS).
	Bus     string
	Log     *slog.Logger     // slog.Default() when nil
	Metrics *metrics.Emitter // nil: no metrics
	// Attempts is how many times one PutEvents is tried within an
	// invocation before its failed entries are left to the stream's
	// retry (default 3).
	Attempts int
	// Backoff is the wait before the second attempt, doubled for each one
	// after (default 100 ms).
	Backoff time.Duration
	// Sleep waits d or until ctx is done (a real sleep when nil).
	Sleep func(ctx context.Context, d time.Duration) error
}

// pending is one event on its way to the bus.
type pending struct {
	seq   string // the stream record's sequence number
	entry types.PutEventsRequestEntry
	log   []any // ids for log lines
}

// Handle publishes the events of a stream batch, in the batch's order. The
// response names the first record still unpublished (if any): Lambda
// retries the batch from it.
func (p *Publisher) Handle(ctx context.Context, batch lambdaevents.DynamoDBEvent) (lambdaevents.DynamoDBEventResponse, error) {
	var entries []pending
	for _, rec := range batch.Records {
		ev, detail, err := Decode(rec)
		if errors.Is(err, errNotAnEvent) {
			continue // kept away by the FilterCriteria; nothing to publish
		}
		if err != nil {
			p.reject(rec.Change.SequenceNumber, err.Error(), "pk", rec.Change.Keys["PK"].String(), "sk", rec.Change.Keys["SK"].String())
			continue
		}
		entries = append(entries, pending{
			seq: rec.Change.SequenceNumber,
			entry: types.PutEventsRequestEntry{
				Source: aws.String(Source), DetailType: aws.String(string(ev.Type)), Detail: aws.String(string(detail)),
				Time: aws.Time(ev.At), EventBusName: aws.String(p.Bus),
			},
			log: []any{"event_id", ev.ID, "type", string(ev.Type), "referral_id", ev.ReferralID},
		})
	}
	published := 0
	for _, chunk := range p.chunks(entries) {
		failed, n := p.put(ctx, chunk)
		published += n
		if failed >= 0 {
			p.Metrics.Count(MetricPublished, published)
			first := chunk[failed]
			p.log().Warn("publish: left to the stream's retry", append([]any{"sequence_number", first.seq}, first.log...)...)
			return lambdaevents.DynamoDBEventResponse{BatchItemFailures: []lambdaevents.DynamoDBBatchItemFailure{{ItemIdentifier: first.seq}}}, nil
		}
	}
	p.Metrics.Count(MetricPublished, published)
	return lambdaevents.DynamoDBEventResponse{}, nil
}

// chunks cuts events into PutEvents calls of at most MaxEntries entries and
// MaxRequestBytes, keeping their order. An entry larger than a whole call
// can never be put: it is rejected.
func (p *Publisher) chunks(entries []pending) [][]pending {
	var out [][]pending
	var cur []pending
	size := 0
	for _, e := range entries {
		n := EntrySize(e.entry)
		if n > MaxRequestBytes {
			p.reject(e.seq, "entry larger than a PutEvents request", append([]any{"bytes", n}, e.log...)...)
			continue
		}
		if len(cur) == MaxEntries || size+n > MaxRequestBytes {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, e)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// put puts one chunk, retrying the entries EventBridge failed, and returns
// the index of the first entry still unpublished (or -1) and how many were
// published. Entries refused for good are rejected and count as done.
func (p *Publisher) put(ctx context.Context, chunk []pending) (failed, published int) {
	left := make([]int, len(chunk)) // indexes into chunk still to put
	for i := range left {
		left[i] = i
	}
	wait := p.Backoff
	if wait <= 0 {
		wait = 100 * time.Millisecond
	}
	attempts := p.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	for attempt := 1; ; attempt++ {
		var n int
		left, n = p.attempt(ctx, chunk, left)
		published += n
		if len(left) == 0 {
			return -1, published
		}
		if attempt == attempts || p.sleep(ctx, wait) != nil {
			return left[0], published
		}
		wait *= 2
	}
}

// attempt makes one PutEvents call for chunk[left...] and returns the
// indexes that are still to put and how many entries EventBridge took.
func (p *Publisher) attempt(ctx context.Context, chunk []pending, left []int) (again []int, published int) {
	in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(left))}
	for i, idx := range left {
		in.Entries[i] = chunk[idx].entry
	}
	out, err := p.Client.PutEvents(ctx, in)
	if err != nil {
		p.log().Warn("publish: PutEvents failed", "error", err.Error(), "entries", len(left))
		return left, 0
	}
	for i, idx := range left {
		if i >= len(out.Entries) {
			again = append(again, idx) // no answer for it: try again
			continue
		}
		r := out.Entries[i]
		code := aws.ToString(r.ErrorCode)
		switch {
		case code == "" && r.EventId != nil:
			published++
		case Permanent(code):
			p.reject(chunk[idx].seq, code+": "+aws.ToString(r.ErrorMessage), chunk[idx].log...)
		default:
			p.log().Warn("publish: entry failed", append([]any{"code", code, "sequence_number", chunk[idx].seq}, chunk[idx].log...)...)
			again = append(again, idx)
		}
	}
	return again, published
}

// Permanent reports whether a PutEvents entry error code means the entry
// can never be put as it is (retrying it would block the stream for
// nothing). Every other code (throttling, internal failures, access denied
// until the policy is fixed) is retried.
func Permanent(code string) bool {
	return code == "MalformedDetail" || code == "InvalidArgument"
}

// reject logs and counts a record that will not be published.
func (p *Publisher) reject(seq, why string, kv ...any) {
	p.log().Error("publish: event not published", append([]any{"reason", why, "sequence_number", seq}, kv...)...)
	p.Metrics.Count(MetricRejected, 1)
}

func (p *Publisher) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Publisher) log() *slog.Logger {
	if p.Log == nil {
		return slog.Default()
	}
	return p.Log
}
