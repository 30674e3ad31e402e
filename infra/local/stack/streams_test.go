package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/referflow/referflow/infra/local/lambdaemu"
	"github.com/referflow/referflow/infra/local/moto"
	"github.com/referflow/referflow/infra/local/sam"
)

var (
	motoOnce sync.Once
	motoSrv  *moto.Server
	motoErr  error
	tableSeq int
)

func TestMain(m *testing.M) {
	code := m.Run()
	if motoSrv != nil {
		motoSrv.Stop()
	}
	os.Exit(code)
}

// streamTable creates a table with the repo template's schema and stream
// in a moto shared by the package's tests.
func streamTable(t *testing.T) (aws.Config, string) {
	t.Helper()
	motoOnce.Do(func() {
		ports := make([]int, 2)
		for i := range ports {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				motoErr = err
				return
			}
			ports[i] = ln.Addr().(*net.TCPAddr).Port
			ln.Close()
		}
		motoSrv, motoErr = moto.Start(context.Background(), moto.Options{Port: ports[0], LambdaPort: ports[1]})
	})
	if motoErr != nil {
		t.Fatalf("moto: %v", motoErr)
	}
	tpl, err := sam.Load("../../../template.yaml", sam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var table sam.Table
	for _, tb := range tpl.Tables {
		if tb.LogicalID == "Table" {
			table = tb
		}
	}
	tableSeq++
	table.Name = fmt.Sprintf("streams-%d-%s", tableSeq, strings.ReplaceAll(t.Name(), "/", "-"))
	cfg := AWSConfig(motoSrv.URL)
	if _, err := CreateTables(context.Background(), dynamodb.NewFromConfig(cfg), []sam.Table{table}); err != nil {
		t.Fatal(err)
	}
	return cfg, table.Name
}

// fn is a fake function for a poller: it records each batch's sequence
// numbers and answers what script says (nil: success).
type fn struct {
	mu      sync.Mutex
	batches [][]string
	events  []lambdaevents.DynamoDBEvent
	script  func(call int, batch []string) lambdaemu.Result
}

func (f *fn) invoke(_ context.Context, payload []byte) (lambdaemu.Result, error) {
	var ev lambdaevents.DynamoDBEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return lambdaemu.Result{}, err
	}
	var seqs []string
	for _, r := range ev.Records {
		seqs = append(seqs, r.Change.Keys["SK"].String())
	}
	f.mu.Lock()
	f.batches = append(f.batches, seqs)
	f.events = append(f.events, ev)
	call := len(f.batches)
	f.mu.Unlock()
	if f.script != nil {
		return f.script(call, seqs), nil
	}
	return lambdaemu.Result{Payload: []byte("null")}, nil
}

func (f *fn) seen() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.batches...)
}

// follow starts a poller of the table's stream with the template's filter
// for PublishFunction and the given batch size; it stops with the test.
func follow(t *testing.T, cfg aws.Config, table string, batchSize int, f *fn) *streamPoller {
	t.Helper()
	ev := sam.StreamEvent{
		Name: "Events", Table: table, StartingPosition: "TRIM_HORIZON", BatchSize: batchSize,
		MaximumRetryAttempts: -1, MaximumRecordAgeInSeconds: -1, ReportBatchItemFailures: true, BisectBatchOnFunctionError: true, Enabled: true,
		Filters: []string{`{"eventName":["INSERT"],"dynamodb":{"Keys":{"PK":{"S":[{"prefix":"REFERRAL#"}]},"SK":{"S":[{"prefix":"EVENT#"}]}}}}`},
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := newStreamPoller(ctx, "PublishFunction", ev, dynamodb.NewFromConfig(cfg), dynamodbstreams.NewFromConfig(cfg), log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	p.invoke, p.idle = f.invoke, 20*time.Millisecond
	p.backoff = func(int) time.Duration { return 10 * time.Millisecond }
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

func item(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk},
		"type": &types.AttributeValueMemberS{Value: "referral.received"},
		"data": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"referrer_code": &types.AttributeValueMemberS{Value: "DEMO"}}},
	}
}

func put(t *testing.T, db *dynamodb.Client, table string, items ...map[string]types.AttributeValue) {
	t.Helper()
	for _, it := range items {
		if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Only inserts of domain events pass PublishFunction's filter; they arrive
// in stream order, in batches of at most BatchSize, shaped as Lambda's
// DynamoDB event.
func TestStreamRecordsReachTheFunctionFilteredInOrder(t *testing.T) {
	cfg, table := streamTable(t)
	db := dynamodb.NewFromConfig(cfg)
	f := &fn{}
	p := follow(t, cfg, table, 2, f)
	put(t, db, table,
		item("REFERRAL#r1", "EVENT#1"),
		item("REFERRAL#r1", "REFERRAL"),            // the referral itself
		item("PARKED#hubspot#record#9", "EVENT#9"), // a parked CRM event
		item("REFERRAL#r1", "EVENT#2"),
		item("REFERRAL#r1", "EVENT#3"))
	put(t, db, table, item("REFERRAL#r1", "EVENT#1")) // the same item again: a MODIFY
	waitFor(t, "three events", func() bool {
		n := 0
		for _, b := range f.seen() {
			n += len(b)
		}
		return n >= 3
	})
	time.Sleep(100 * time.Millisecond)
	var all []string
	for _, b := range f.seen() {
		if len(b) > 2 {
			t.Errorf("a batch of %d records, BatchSize is 2", len(b))
		}
		all = append(all, b...)
	}
	if strings.Join(all, ",") != "EVENT#1,EVENT#2,EVENT#3" {
		t.Fatalf("records delivered: %v", all)
	}
	r := f.events[0].Records[0]
	if r.EventName != "INSERT" || r.EventSource != "aws:dynamodb" || r.EventSourceArn != p.arn || r.Change.StreamViewType != "NEW_IMAGE" ||
		r.Change.SequenceNumber == "" || r.Change.ApproximateCreationDateTime.IsZero() ||
		r.Change.NewImage["data"].Map()["referrer_code"].String() != "DEMO" {
		t.Errorf("record = %+v", r)
	}
}

// A batch item failure retries the batch from that record on; a function
// error retries the batch, halved first.
func TestFailedRecordsAreRetriedFromTheFirstFailure(t *testing.T) {
	cfg, table := streamTable(t)
	db := dynamodb.NewFromConfig(cfg)
	var seqOf sync.Map
	f := &fn{script: func(call int, batch []string) lambdaemu.Result {
		switch call {
		case 1: // EVENT#1..4: the second one fails
			s, _ := seqOf.Load("EVENT#2")
			return lambdaemu.Result{Payload: []byte(fmt.Sprintf(`{"batchItemFailures":[{"itemIdentifier":%q}]}`, s))}
		case 2: // EVENT#2..4: a function error
			return lambdaemu.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorType":"Runtime.ExitError"}`)}
		}
		return lambdaemu.Result{Payload: []byte(`{"batchItemFailures":[]}`)}
	}}
	// Learn the sequence numbers the stream gives.
	put(t, db, table, item("REFERRAL#r2", "EVENT#1"), item("REFERRAL#r2", "EVENT#2"), item("REFERRAL#r2", "EVENT#3"), item("REFERRAL#r2", "EVENT#4"))
	streams := dynamodbstreams.NewFromConfig(cfg)
	out, _ := dynamodb.NewFromConfig(cfg).DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	desc, err := streams.DescribeStream(context.Background(), &dynamodbstreams.DescribeStreamInput{StreamArn: out.Table.LatestStreamArn})
	if err != nil {
		t.Fatal(err)
	}
	it, _ := streams.GetShardIterator(context.Background(), &dynamodbstreams.GetShardIteratorInput{StreamArn: out.Table.LatestStreamArn,
		ShardId: desc.StreamDescription.Shards[0].ShardId, ShardIteratorType: "TRIM_HORIZON"})
	recs, _ := streams.GetRecords(context.Background(), &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator})
	for _, r := range recs.Records {
		seqOf.Store(lambdaValue(r.Dynamodb.Keys["SK"]).String(), aws.ToString(r.Dynamodb.SequenceNumber))
	}
	follow(t, cfg, table, 4, f)
	waitFor(t, "every record taken", func() bool { return len(f.seen()) >= 4 })
	time.Sleep(100 * time.Millisecond)
	got := fmt.Sprint(f.seen())
	if want := "[[EVENT#1 EVENT#2 EVENT#3 EVENT#4] [EVENT#2 EVENT#3 EVENT#4] [EVENT#2] [EVENT#3 EVENT#4]]"; got != want {
		t.Errorf("batches\n got %s\nwant %s", got, want)
	}
}

// A cancelled transaction leaves nothing in the stream, as on DynamoDB:
// an event written with a change that did not happen is never published
// (the moto launcher's defect 4).
func TestACancelledTransactionLeavesNoStreamRecord(t *testing.T) {
	cfg, table := streamTable(t)
	db := dynamodb.NewFromConfig(cfg)
	f := &fn{}
	follow(t, cfg, table, 10, f)
	tx := func(sk string, cond string) error {
		_, err := db.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(table), Item: item("REFERRAL#r3", sk)}},
			{Put: &types.Put{TableName: aws.String(table), Item: item("REFERRAL#r3", "REFERRAL"), ConditionExpression: aws.String(cond)}},
		}})
		return err
	}
	if err := tx("EVENT#cancelled", "attribute_exists(PK)"); err == nil {
		t.Fatal("the transaction was not cancelled")
	}
	if err := tx("EVENT#applied", "attribute_not_exists(PK)"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the applied event", func() bool { return len(f.seen()) > 0 })
	time.Sleep(150 * time.Millisecond)
	var all []string
	for _, b := range f.seen() {
		all = append(all, b...)
	}
	if strings.Join(all, ",") != "EVENT#applied" {
		t.Errorf("events from the stream: %v, want only EVENT#applied", all)
	}
}
