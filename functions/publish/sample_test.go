package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"testing"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/publish"
)

type recorder struct{ entries []types.PutEventsRequestEntry }

func (r *recorder) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	out := &eventbridge.PutEventsOutput{}
	for _, e := range in.Entries {
		r.entries = append(r.entries, e)
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String("1")})
	}
	return out, nil
}

// The sample stream batch (events/publish-stream.json, for sam local
// invoke) is what the function is given: it publishes its one event.
func TestSampleStreamBatchPublishesItsEvent(t *testing.T) {
	b, err := os.ReadFile("../../events/publish-stream.json")
	if err != nil {
		t.Fatal(err)
	}
	var batch lambdaevents.DynamoDBEvent
	if err := json.Unmarshal(b, &batch); err != nil {
		t.Fatal(err)
	}
	bus := &recorder{}
	p := &publish.Publisher{Client: bus, Bus: "referflow-events", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	res, err := p.Handle(context.Background(), batch)
	if err != nil || len(res.BatchItemFailures) != 0 || len(bus.entries) != 1 {
		t.Fatalf("Handle = %+v, %v, %d entries", res, err, len(bus.entries))
	}
	var ev events.Event
	if err := json.Unmarshal([]byte(aws.ToString(bus.entries[0].Detail)), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != events.ReferralReceived || ev.ReferralID != "ref_01JBX7Q4M5N6P7R8S9T0V1W2X3" || ev.Get("referrer_code") != "DEMO" || ev.ID == "" {
		t.Errorf("published %+v", ev)
	}
}
