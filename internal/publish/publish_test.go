package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/metrics"
)

var t0 = time.Date(2026, 11, 3, 9, 30, 0, 125e6, time.UTC)

// fakeBus is an EventBridge whose answers a test scripts: answer gets the
// call's number (from 1) and its entries; nil answers accept everything.
type fakeBus struct {
	calls  [][]ebtypes.PutEventsRequestEntry
	answer func(call int, entries []ebtypes.PutEventsRequestEntry) (*eventbridge.PutEventsOutput, error)
}

func (f *fakeBus) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.calls = append(f.calls, in.Entries)
	if f.answer != nil {
		return f.answer(len(f.calls), in.Entries)
	}
	return accept(in.Entries, nil), nil
}

// accept answers every entry an event id, except those whose detail
// contains a key of failures, which get that error code.
func accept(entries []ebtypes.PutEventsRequestEntry, failures map[string]string) *eventbridge.PutEventsOutput {
	out := &eventbridge.PutEventsOutput{}
	for i, e := range entries {
		code := ""
		for k, c := range failures {
			if strings.Contains(aws.ToString(e.Detail), k) {
				code = c
			}
		}
		if code == "" {
			out.Entries = append(out.Entries, ebtypes.PutEventsResultEntry{EventId: aws.String(fmt.Sprintf("eb-%d", i))})
			continue
		}
		out.FailedEntryCount++
		out.Entries = append(out.Entries, ebtypes.PutEventsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("no")})
	}
	return out
}

// record is the stream record of an event item as the store writes it
// (internal/store eventItem): the event's attributes, its keys and GSI1.
func record(t *testing.T, seq int, ev events.Event) lambdaevents.DynamoDBEventRecord {
	t.Helper()
	item, err := attributevalue.MarshalMap(ev)
	if err != nil {
		t.Fatal(err)
	}
	sk := fmt.Sprintf("EVENT#%s#%012x", ev.At.Format("2006-01-02T15:04:05.000Z"), seq)
	item["PK"] = &types.AttributeValueMemberS{Value: "REFERRAL#" + ev.ReferralID}
	item["SK"] = &types.AttributeValueMemberS{Value: sk}
	item["GSI1PK"] = &types.AttributeValueMemberS{Value: "EVENTS#" + ev.At.Format("2006-01-02")}
	item["GSI1SK"] = &types.AttributeValueMemberS{Value: sk}
	return streamRecord(t, "INSERT", seq, item)
}

func streamRecord(t *testing.T, name string, seq int, item map[string]types.AttributeValue) lambdaevents.DynamoDBEventRecord {
	t.Helper()
	image := lambdaImage(t, item)
	return lambdaevents.DynamoDBEventRecord{
		EventID: fmt.Sprintf("rec%d", seq), EventName: name, EventSource: "aws:dynamodb", AWSRegion: "us-east-1",
		Change: lambdaevents.DynamoDBStreamRecord{
			Keys:           map[string]lambdaevents.DynamoDBAttributeValue{"PK": image["PK"], "SK": image["SK"]},
			NewImage:       image,
			SequenceNumber: fmt.Sprintf("%d", 1000+seq),
			StreamViewType: "NEW_IMAGE",
		},
	}
}

// lambdaImage turns SDK attribute values into Lambda's event shape by way
// of the wire JSON both share.
func lambdaImage(t *testing.T, item map[string]types.AttributeValue) map[string]lambdaevents.DynamoDBAttributeValue {
	t.Helper()
	var wire func(types.AttributeValue) any
	wire = func(av types.AttributeValue) any {
		switch v := av.(type) {
		case *types.AttributeValueMemberS:
			return map[string]any{"S": v.Value}
		case *types.AttributeValueMemberN:
			return map[string]any{"N": v.Value}
		case *types.AttributeValueMemberBOOL:
			return map[string]any{"BOOL": v.Value}
		case *types.AttributeValueMemberNULL:
			return map[string]any{"NULL": true}
		case *types.AttributeValueMemberSS:
			return map[string]any{"SS": v.Value}
		case *types.AttributeValueMemberL:
			l := []any{}
			for _, e := range v.Value {
				l = append(l, wire(e))
			}
			return map[string]any{"L": l}
		case *types.AttributeValueMemberM:
			m := map[string]any{}
			for k, e := range v.Value {
				m[k] = wire(e)
			}
			return map[string]any{"M": m}
		}
		t.Fatalf("attribute %T", av)
		return nil
	}
	m := map[string]any{}
	for k, v := range item {
		m[k] = wire(v)
	}
	b, _ := json.Marshal(m)
	var out map[string]lambdaevents.DynamoDBAttributeValue
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func event(i int) events.Event {
	ev := events.New(events.RewardCreated, fmt.Sprintf("ref%03d", i), events.ActorWorkflow, t0.Add(time.Duration(i)*time.Millisecond)).
		With("milestone", "won").With("party", "referrer").With("amount_minor", "50000").With("currency", "USD").
		WithStatus("on_hold")
	ev.ID = fmt.Sprintf("evt_ref%03d_%d", i, i)
	ev.ProgramID, ev.ProgramVersion, ev.RewardID = "b2b-partners", 3, "rw_"+ev.ReferralID
	return ev
}

// publisher returns a publisher over bus whose sleeps are recorded, and
// its metrics output.
func publisher(bus *fakeBus, waits *[]time.Duration) (*Publisher, *bytes.Buffer) {
	var m bytes.Buffer
	return &Publisher{
		Client: bus, Bus: "referflow-events", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: metrics.New(&m, "publish", func() time.Time { return t0 }),
		Sleep: func(ctx context.Context, d time.Duration) error {
			*waits = append(*waits, d)
			return ctx.Err()
		},
	}, &m
}

// counted sums the values of metric name in EMF output.
func counted(t *testing.T, out *bytes.Buffer, name string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if line == "" || json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		if v, ok := m[name].(float64); ok {
			n += int(v)
		}
	}
	return n
}

func batch(t *testing.T, n int) lambdaevents.DynamoDBEvent {
	var b lambdaevents.DynamoDBEvent
	for i := range n {
		b.Records = append(b.Records, record(t, i, event(i)))
	}
	return b
}

func TestEveryEventIsPutWithItsTypeTimeAndExactDetail(t *testing.T) {
	bus := &fakeBus{}
	var waits []time.Duration
	p, m := publisher(bus, &waits)
	res, err := p.Handle(context.Background(), batch(t, 3))
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %+v, %v", res, err)
	}
	if len(bus.calls) != 1 || len(bus.calls[0]) != 3 {
		t.Fatalf("calls = %d", len(bus.calls))
	}
	for i, e := range bus.calls[0] {
		want, _ := json.Marshal(event(i))
		if aws.ToString(e.Detail) != string(want) {
			t.Errorf("detail %d = %s\nwant %s", i, aws.ToString(e.Detail), want)
		}
		if aws.ToString(e.Source) != "referflow" || aws.ToString(e.DetailType) != "reward.created" ||
			aws.ToString(e.EventBusName) != "referflow-events" || !aws.ToTime(e.Time).Equal(event(i).At) {
			t.Errorf("entry %d = %s %s %s %v", i, aws.ToString(e.Source), aws.ToString(e.DetailType), aws.ToString(e.EventBusName), aws.ToTime(e.Time))
		}
	}
	if got := counted(t, m, MetricPublished); got != 3 {
		t.Errorf("%s = %d, want 3", MetricPublished, got)
	}
}

func TestDecodeReadsTheStreamImageIncludingData(t *testing.T) {
	ev := event(7)
	_, detail, err := Decode(record(t, 7, ev))
	if err != nil {
		t.Fatal(err)
	}
	var got events.Event
	if err := json.Unmarshal(detail, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != ev.ID || got.Type != ev.Type || got.ReferralID != ev.ReferralID || got.RewardID != ev.RewardID ||
		got.ProgramVersion != 3 || got.Status != "on_hold" || !got.At.Equal(ev.At) || got.Get("amount_minor") != "50000" || len(got.Data) != 4 {
		t.Fatalf("decoded %+v, want %+v", got, ev)
	}
	for _, k := range []string{"PK", "SK", "GSI1PK", "GSI1SK"} {
		if bytes.Contains(detail, []byte(`"`+k+`"`)) {
			t.Errorf("detail carries the item key %s: %s", k, detail)
		}
	}
}

func TestAnEventWithoutAnIDGetsOneFromItsStreamRecord(t *testing.T) {
	ev := event(1)
	ev.ID = ""
	got, detail, err := Decode(record(t, 1, ev))
	if err != nil || got.ID != "evt_rec1" || !bytes.Contains(detail, []byte(`"id":"evt_rec1"`)) {
		t.Fatalf("Decode = %+v %s %v", got, detail, err)
	}
}

func TestANewerVersionPassesThroughUnchanged(t *testing.T) {
	ev := event(2)
	ev.Version = events.SchemaVersion + 1
	rec := record(t, 2, ev)
	rec.Change.NewImage["amount"] = lambdaevents.NewMapAttribute(map[string]lambdaevents.DynamoDBAttributeValue{
		"minor": lambdaevents.NewNumberAttribute("50000"), "currency": lambdaevents.NewStringAttribute("USD"),
	})
	_, detail, err := Decode(rec)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(detail, &m); err != nil {
		t.Fatal(err)
	}
	if m["version"] != float64(events.SchemaVersion+1) || m["type"] != "reward.created" || m["id"] != ev.ID {
		t.Errorf("newer detail = %s", detail)
	}
	if a, _ := m["amount"].(map[string]any); a["minor"] != float64(50000) || a["currency"] != "USD" {
		t.Errorf("a field this code does not know was lost: %s", detail)
	}
	if _, ok := m["PK"]; ok {
		t.Errorf("item keys leaked into the detail: %s", detail)
	}
}

func TestOnlyNewDomainEventsArePublished(t *testing.T) {
	ev := event(1)
	inserted := record(t, 1, ev)
	modified := record(t, 2, event(2))
	modified.EventName = "MODIFY"
	removed := record(t, 3, event(3))
	removed.EventName = "REMOVE"
	// A parked CRM event: its sort key begins with EVENT# too.
	parked := streamRecord(t, "INSERT", 4, map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "PARKED#hubspot#record#501"}, "SK": &types.AttributeValueMemberS{Value: "EVENT#9001"},
		"type": &types.AttributeValueMemberS{Value: "deal.stage"},
	})
	bus := &fakeBus{}
	var waits []time.Duration
	p, m := publisher(bus, &waits)
	res, err := p.Handle(context.Background(), lambdaevents.DynamoDBEvent{Records: []lambdaevents.DynamoDBEventRecord{modified, parked, inserted, removed}})
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %+v, %v", res, err)
	}
	if len(bus.calls) != 1 || len(bus.calls[0]) != 1 || !strings.Contains(aws.ToString(bus.calls[0][0].Detail), ev.ID) {
		t.Fatalf("published %+v, want only the inserted event", bus.calls)
	}
	if got := counted(t, m, MetricRejected); got != 0 {
		t.Errorf("records that are not events were counted as rejected (%d)", got)
	}
}

func TestBatchesHoldAtMostTenEntriesAnd256KB(t *testing.T) {
	bus := &fakeBus{}
	var waits []time.Duration
	p, _ := publisher(bus, &waits)
	if _, err := p.Handle(context.Background(), batch(t, 25)); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	order := 0
	for _, c := range bus.calls {
		sizes = append(sizes, len(c))
		for _, e := range c {
			if want := event(order).ID; !strings.Contains(aws.ToString(e.Detail), want) {
				t.Fatalf("entry %d is not %s: order lost", order, want)
			}
			order++
		}
	}
	if fmt.Sprint(sizes) != "[10 10 5]" {
		t.Errorf("calls of %v entries, want [10 10 5]", sizes)
	}

	// Events of 100 KB: two fit in a call, a third would pass 256 KB.
	big := &fakeBus{}
	p, _ = publisher(big, &waits)
	var b lambdaevents.DynamoDBEvent
	for i := range 5 {
		b.Records = append(b.Records, record(t, i, event(i).With("blob", strings.Repeat("x", 100<<10))))
	}
	if _, err := p.Handle(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	sizes = nil
	for _, c := range big.calls {
		sizes = append(sizes, len(c))
		total := 0
		for _, e := range c {
			total += EntrySize(e)
		}
		if total > MaxRequestBytes {
			t.Errorf("a call of %d bytes", total)
		}
	}
	if fmt.Sprint(sizes) != "[2 2 1]" {
		t.Errorf("calls of %v entries, want [2 2 1]", sizes)
	}
}

func TestFailedEntriesAreRetriedAlone(t *testing.T) {
	bus := &fakeBus{answer: func(call int, entries []ebtypes.PutEventsRequestEntry) (*eventbridge.PutEventsOutput, error) {
		if call == 1 {
			return accept(entries, map[string]string{"evt_ref003_": "ThrottlingException", "evt_ref005_": "InternalFailure"}), nil
		}
		return accept(entries, nil), nil
	}}
	var waits []time.Duration
	p, m := publisher(bus, &waits)
	res, err := p.Handle(context.Background(), batch(t, 8))
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %+v, %v", res, err)
	}
	if len(bus.calls) != 2 || len(bus.calls[1]) != 2 ||
		!strings.Contains(aws.ToString(bus.calls[1][0].Detail), "evt_ref003_") || !strings.Contains(aws.ToString(bus.calls[1][1].Detail), "evt_ref005_") {
		t.Fatalf("retry call = %+v", bus.calls)
	}
	if fmt.Sprint(waits) != "[100ms]" {
		t.Errorf("waits = %v", waits)
	}
	if got := counted(t, m, MetricPublished); got != 8 {
		t.Errorf("%s = %d, want 8", MetricPublished, got)
	}
}

func TestAnEntryThatKeepsFailingIsReportedByItsSequenceNumberAndLaterOnesWait(t *testing.T) {
	bus := &fakeBus{answer: func(call int, entries []ebtypes.PutEventsRequestEntry) (*eventbridge.PutEventsOutput, error) {
		return accept(entries, map[string]string{"evt_ref013_": "ThrottlingException"}), nil
	}}
	var waits []time.Duration
	p, _ := publisher(bus, &waits)
	res, err := p.Handle(context.Background(), batch(t, 25))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.BatchItemFailures) != 1 || res.BatchItemFailures[0].ItemIdentifier != "1013" {
		t.Fatalf("failures = %+v, want the record of event 13 (sequence number 1013)", res.BatchItemFailures)
	}
	// First chunk, second chunk, two retries of event 13; the third chunk waits.
	if len(bus.calls) != 4 {
		t.Fatalf("%d calls, want 4", len(bus.calls))
	}
	for _, c := range bus.calls[2:] {
		if len(c) != 1 || !strings.Contains(aws.ToString(c[0].Detail), "evt_ref013_") {
			t.Errorf("retry call = %+v", c)
		}
	}
	if fmt.Sprint(waits) != "[100ms 200ms]" {
		t.Errorf("waits = %v, want [100ms 200ms]", waits)
	}
}

func TestACallThatFailsReportsTheFirstRecordOfItsChunk(t *testing.T) {
	bus := &fakeBus{answer: func(call int, entries []ebtypes.PutEventsRequestEntry) (*eventbridge.PutEventsOutput, error) {
		if call == 1 {
			return accept(entries, nil), nil
		}
		return nil, errors.New("connection reset")
	}}
	var waits []time.Duration
	p, _ := publisher(bus, &waits)
	res, err := p.Handle(context.Background(), batch(t, 15))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.BatchItemFailures) != 1 || res.BatchItemFailures[0].ItemIdentifier != "1010" {
		t.Fatalf("failures = %+v, want 1010", res.BatchItemFailures)
	}
	if len(bus.calls) != 4 {
		t.Errorf("%d calls, want 1 + 3 attempts", len(bus.calls))
	}
}

func TestEntriesRefusedForGoodAreCountedNotRetried(t *testing.T) {
	bus := &fakeBus{answer: func(call int, entries []ebtypes.PutEventsRequestEntry) (*eventbridge.PutEventsOutput, error) {
		return accept(entries, map[string]string{"evt_ref001_": "MalformedDetail"}), nil
	}}
	var waits []time.Duration
	p, m := publisher(bus, &waits)
	res, err := p.Handle(context.Background(), batch(t, 3))
	if err != nil || len(res.BatchItemFailures) != 0 || len(bus.calls) != 1 {
		t.Fatalf("Handle = %+v, %v after %d calls", res, err, len(bus.calls))
	}
	if got := counted(t, m, MetricRejected); got != 1 {
		t.Errorf("%s = %d, want 1", MetricRejected, got)
	}
	if got := counted(t, m, MetricPublished); got != 2 {
		t.Errorf("%s = %d, want 2", MetricPublished, got)
	}
}

func TestUndecodableAndOversizedEventsAreRejectedAndTheRestPublished(t *testing.T) {
	broken := record(t, 1, event(1))
	delete(broken.Change.NewImage, "type")
	huge := record(t, 2, event(2).With("blob", strings.Repeat("x", MaxRequestBytes)))
	bus := &fakeBus{}
	var waits []time.Duration
	p, m := publisher(bus, &waits)
	res, err := p.Handle(context.Background(), lambdaevents.DynamoDBEvent{Records: []lambdaevents.DynamoDBEventRecord{record(t, 0, event(0)), broken, huge, record(t, 3, event(3))}})
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %+v, %v", res, err)
	}
	if len(bus.calls) != 1 || len(bus.calls[0]) != 2 {
		t.Fatalf("calls = %+v", bus.calls)
	}
	if got := counted(t, m, MetricRejected); got != 2 {
		t.Errorf("%s = %d, want 2", MetricRejected, got)
	}
}

func TestACancelledInvocationStopsRetrying(t *testing.T) {
	bus := &fakeBus{answer: func(call int, entries []ebtypes.PutEventsRequestEntry) (*eventbridge.PutEventsOutput, error) {
		return accept(entries, map[string]string{"evt_ref000_": "ThrottlingException"}), nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var waits []time.Duration
	p, _ := publisher(bus, &waits)
	res, err := p.Handle(ctx, batch(t, 2))
	if err != nil || len(res.BatchItemFailures) != 1 || res.BatchItemFailures[0].ItemIdentifier != "1000" || len(bus.calls) != 1 {
		t.Fatalf("Handle = %+v, %v after %d calls", res, err, len(bus.calls))
	}
}

func TestEntrySizeCountsAsEventBridgeDoes(t *testing.T) {
	e := ebtypes.PutEventsRequestEntry{Source: aws.String("referflow"), DetailType: aws.String("referral.received"),
		Detail: aws.String(`{"a":"é"}`), Time: aws.Time(t0), Resources: []string{"arn:x"}}
	if got, want := EntrySize(e), 14+9+17+10+5; got != want {
		t.Errorf("EntrySize = %d, want %d", got, want)
	}
}
