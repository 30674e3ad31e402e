package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"sync"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/referflow/referflow/infra/local/awsapi"
	"github.com/referflow/referflow/infra/local/eventbus"
	"github.com/referflow/referflow/infra/local/lambdaemu"
	"github.com/referflow/referflow/infra/local/sam"
)

// streamIdle is how long a poller waits after a read that found nothing:
// moto answers one request at a time per table, so it is polled gently.
const streamIdle = 250 * time.Millisecond

// streamsAPI is the part of DynamoDB Streams a poller reads.
type streamsAPI interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// invokeFunc runs one invocation of a function with payload.
type invokeFunc func(ctx context.Context, payload []byte) (lambdaemu.Result, error)

// startStreams does what Lambda's event source mappings do for every
// DynamoDB event in the template: it follows the table's stream in moto
// (straight, unmetered: Lambda's stream reads are free), keeps the records
// the event's FilterCriteria pass, and invokes the function with batches in
// stream order, one batch at a time per stream, retrying as the event says.
// The returned func stops the pollers.
func startStreams(ctx context.Context, cfg aws.Config, tpl *sam.Template, ep *awsapi.Endpoint, logger *log.Logger) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stop := func() { cancel(); wg.Wait() }
	db, streams := dynamodb.NewFromConfig(cfg), dynamodbstreams.NewFromConfig(cfg)
	for _, f := range tpl.Functions {
		pool, ok := ep.Pool(f.LogicalID)
		for _, ev := range f.Streams {
			if !ev.Enabled || !ok {
				continue
			}
			p, err := newStreamPoller(ctx, f.LogicalID, ev, db, streams, logger)
			if err != nil {
				stop()
				return nil, err
			}
			fn := f.LogicalID
			p.invoke = func(ctx context.Context, payload []byte) (lambdaemu.Result, error) {
				res, err := pool.Invoke(ctx, payload)
				if err != nil {
					return res, err
				}
				return ep.AfterInvoke(fn, res), nil
			}
			wg.Add(1)
			go func() { defer wg.Done(); p.run(ctx) }()
		}
	}
	return stop, nil
}

// streamPoller is one event source mapping: a function's DynamoDB event.
type streamPoller struct {
	function string
	ev       sam.StreamEvent
	arn      string // the stream's ARN in moto
	filters  []*eventbus.Pattern
	streams  streamsAPI
	invoke   invokeFunc
	log      *log.Logger
	// backoff is the wait before retry n of a batch (from 1).
	backoff func(n int) time.Duration
	idle    time.Duration

	shards map[string]*string // shard id -> next iterator (nil: closed)
	last   map[string]string  // shard id -> sequence number of the last record read
}

func newStreamPoller(ctx context.Context, function string, ev sam.StreamEvent, db *dynamodb.Client, streams streamsAPI, logger *log.Logger) (*streamPoller, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(ev.Table)})
	if err != nil {
		return nil, fmt.Errorf("function %s event %s: table %s: %w", function, ev.Name, ev.Table, err)
	}
	arn := aws.ToString(out.Table.LatestStreamArn)
	if arn == "" {
		return nil, fmt.Errorf("function %s event %s: table %s has no stream (StreamSpecification)", function, ev.Name, ev.Table)
	}
	p := &streamPoller{function: function, ev: ev, arn: arn, streams: streams, log: logger, idle: streamIdle,
		backoff: func(n int) time.Duration { return min(200*time.Millisecond<<min(n-1, 5), 5*time.Second) }}
	for _, f := range ev.Filters {
		pat, err := eventbus.Compile(f)
		if err != nil {
			return nil, fmt.Errorf("function %s event %s: FilterCriteria: %w", function, ev.Name, err)
		}
		p.filters = append(p.filters, pat)
	}
	return p, nil
}

// run polls until ctx is done.
func (p *streamPoller) run(ctx context.Context) {
	var buffered []lambdaevents.DynamoDBEventRecord
	var since time.Time // when the oldest buffered record was read
	window := time.Duration(p.ev.BatchingWindow) * time.Second
	for ctx.Err() == nil {
		got, err := p.poll(ctx, func(r lambdaevents.DynamoDBEventRecord) {
			if len(buffered) == 0 {
				since = time.Now()
			}
			buffered = append(buffered, r)
		})
		if err != nil && ctx.Err() == nil {
			p.log.Printf("stream of %s for %s: %v", p.ev.Table, p.function, err)
		}
		for len(buffered) >= p.ev.BatchSize || (len(buffered) > 0 && time.Since(since) >= window) {
			n := min(len(buffered), p.ev.BatchSize)
			p.deliver(ctx, buffered[:n], 0)
			buffered = buffered[n:]
			since = time.Now()
		}
		if got == 0 || err != nil {
			wait := p.idle
			if len(buffered) > 0 {
				wait = min(wait, window-time.Since(since))
			}
			sleep(ctx, wait)
		}
	}
}

// poll reads every shard once and hands on the records the filters pass;
// it returns how many records it read.
func (p *streamPoller) poll(ctx context.Context, keep func(lambdaevents.DynamoDBEventRecord)) (int, error) {
	if err := p.discover(ctx); err != nil {
		return 0, err
	}
	read := 0
	for _, id := range sortedKeys(p.shards) {
		it := p.shards[id]
		if it == nil {
			continue
		}
		out, err := p.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(1000)})
		if err != nil {
			// An iterator that expired: carry on after the last record read.
			p.shards = nil
			return read, fmt.Errorf("GetRecords: %w", err)
		}
		p.shards[id] = out.NextShardIterator
		for _, r := range out.Records {
			read++
			if r.Dynamodb != nil {
				p.last[id] = aws.ToString(r.Dynamodb.SequenceNumber)
			}
			rec := lambdaRecord(r, p.arn)
			if p.passes(rec) {
				keep(rec)
			}
		}
	}
	return read, nil
}

// discover gets an iterator for every shard not followed yet.
func (p *streamPoller) discover(ctx context.Context) error {
	if p.shards != nil {
		return nil
	}
	out, err := p.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.arn)})
	if err != nil {
		return fmt.Errorf("DescribeStream: %w", err)
	}
	if p.last == nil {
		p.last = map[string]string{}
	}
	shards := map[string]*string{}
	for _, s := range out.StreamDescription.Shards {
		in := &dynamodbstreams.GetShardIteratorInput{
			StreamArn: aws.String(p.arn), ShardId: s.ShardId, ShardIteratorType: types.ShardIteratorType(p.ev.StartingPosition),
		}
		if seq := p.last[aws.ToString(s.ShardId)]; seq != "" {
			in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(seq)
		}
		it, err := p.streams.GetShardIterator(ctx, in)
		if err != nil {
			return fmt.Errorf("GetShardIterator: %w", err)
		}
		shards[aws.ToString(s.ShardId)] = it.ShardIterator
	}
	p.shards = shards
	return nil
}

// passes applies FilterCriteria: any filter matching keeps the record.
func (p *streamPoller) passes(rec lambdaevents.DynamoDBEventRecord) bool {
	if len(p.filters) == 0 {
		return true
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return false
	}
	for _, f := range p.filters {
		if f.Match(b) {
			return true
		}
	}
	return false
}

// deliver invokes the function with batch until it has taken every record,
// as Lambda does for a stream: a function error retries the batch (halved
// first when BisectBatchOnFunctionError is set), batchItemFailures retry it
// from the lowest failed record, and a batch whose retries or record age
// run out is given up on (logged, with the OnFailure destination named).
func (p *streamPoller) deliver(ctx context.Context, batch []lambdaevents.DynamoDBEventRecord, retries int) {
	for len(batch) > 0 && ctx.Err() == nil {
		payload, err := json.Marshal(lambdaevents.DynamoDBEvent{Records: batch})
		if err != nil {
			p.log.Printf("stream batch for %s: %v", p.function, err)
			return
		}
		res, err := p.invoke(ctx, payload)
		switch {
		case err != nil:
			p.log.Printf("stream batch of %d records for %s not invoked: %v", len(batch), p.function, err)
		case res.FunctionError != "":
			if p.ev.BisectBatchOnFunctionError && len(batch) > 1 {
				half := len(batch) / 2
				p.deliver(ctx, batch[:half], retries)
				p.deliver(ctx, batch[half:], retries)
				return
			}
			p.log.Printf("stream batch of %d records for %s failed: %s", len(batch), p.function, truncate(res.Payload))
		default:
			from := p.firstFailed(batch, res.Payload)
			if from < 0 {
				return
			}
			batch = batch[from:]
		}
		retries++
		if p.givesUp(batch, retries) {
			return
		}
		sleep(ctx, p.backoff(retries))
	}
}

// firstFailed returns the index from which a batch must be retried, from
// the function's {"batchItemFailures":[{"itemIdentifier": seq}]} answer (-1:
// every record was taken). Without ReportBatchItemFailures the answer is
// not read; an identifier that names no record of the batch fails it all.
func (p *streamPoller) firstFailed(batch []lambdaevents.DynamoDBEventRecord, answer []byte) int {
	if !p.ev.ReportBatchItemFailures {
		return -1
	}
	var res lambdaevents.DynamoDBEventResponse
	if err := json.Unmarshal(answer, &res); err != nil || len(res.BatchItemFailures) == 0 {
		return -1
	}
	first := len(batch)
	for _, f := range res.BatchItemFailures {
		i := 0
		for i < len(batch) && batch[i].Change.SequenceNumber != f.ItemIdentifier {
			i++
		}
		if i == len(batch) {
			return 0
		}
		first = min(first, i)
	}
	return first
}

// givesUp reports (and logs) whether a batch is discarded: its retries are
// used up or its oldest record is older than MaximumRecordAgeInSeconds.
func (p *streamPoller) givesUp(batch []lambdaevents.DynamoDBEventRecord, retries int) bool {
	age := time.Since(batch[0].Change.ApproximateCreationDateTime.Time)
	if (p.ev.MaximumRetryAttempts < 0 || retries <= p.ev.MaximumRetryAttempts) &&
		(p.ev.MaximumRecordAgeInSeconds < 0 || age <= time.Duration(p.ev.MaximumRecordAgeInSeconds)*time.Second) {
		return false
	}
	dest := p.ev.OnFailure
	if dest == "" {
		dest = "none"
	}
	p.log.Printf("stream batch for %s given up after %d retries: sequence numbers %s to %s (OnFailure %s is not sent locally)",
		p.function, retries, batch[0].Change.SequenceNumber, batch[len(batch)-1].Change.SequenceNumber, dest)
	return true
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// lambdaRecord is a stream record as Lambda hands it to a function.
func lambdaRecord(r types.Record, streamARN string) lambdaevents.DynamoDBEventRecord {
	out := lambdaevents.DynamoDBEventRecord{
		AWSRegion: aws.ToString(r.AwsRegion), EventID: aws.ToString(r.EventID), EventName: string(r.EventName),
		EventSource: aws.ToString(r.EventSource), EventVersion: aws.ToString(r.EventVersion), EventSourceArn: streamARN,
	}
	if r.UserIdentity != nil {
		out.UserIdentity = &lambdaevents.DynamoDBUserIdentity{Type: aws.ToString(r.UserIdentity.Type), PrincipalID: aws.ToString(r.UserIdentity.PrincipalId)}
	}
	if d := r.Dynamodb; d != nil {
		out.Change = lambdaevents.DynamoDBStreamRecord{
			Keys: lambdaItem(d.Keys), NewImage: lambdaItem(d.NewImage), OldImage: lambdaItem(d.OldImage),
			SequenceNumber: aws.ToString(d.SequenceNumber), SizeBytes: aws.ToInt64(d.SizeBytes), StreamViewType: string(d.StreamViewType),
		}
		if d.ApproximateCreationDateTime != nil {
			out.Change.ApproximateCreationDateTime = lambdaevents.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
		}
	}
	return out
}

func lambdaItem(item map[string]types.AttributeValue) map[string]lambdaevents.DynamoDBAttributeValue {
	if item == nil {
		return nil
	}
	out := make(map[string]lambdaevents.DynamoDBAttributeValue, len(item))
	for k, v := range item {
		out[k] = lambdaValue(v)
	}
	return out
}

func lambdaValue(av types.AttributeValue) lambdaevents.DynamoDBAttributeValue {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return lambdaevents.NewStringAttribute(v.Value)
	case *types.AttributeValueMemberN:
		return lambdaevents.NewNumberAttribute(v.Value)
	case *types.AttributeValueMemberBOOL:
		return lambdaevents.NewBooleanAttribute(v.Value)
	case *types.AttributeValueMemberB:
		return lambdaevents.NewBinaryAttribute(v.Value)
	case *types.AttributeValueMemberSS:
		return lambdaevents.NewStringSetAttribute(v.Value)
	case *types.AttributeValueMemberNS:
		return lambdaevents.NewNumberSetAttribute(v.Value)
	case *types.AttributeValueMemberBS:
		return lambdaevents.NewBinarySetAttribute(v.Value)
	case *types.AttributeValueMemberM:
		return lambdaevents.NewMapAttribute(lambdaItem(v.Value))
	case *types.AttributeValueMemberL:
		l := make([]lambdaevents.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = lambdaValue(e)
		}
		return lambdaevents.NewListAttribute(l)
	}
	return lambdaevents.NewNullAttribute()
}
