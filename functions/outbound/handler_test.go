package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/outbound"
)

// fakeOut records what the handler asked of the deliverer.
type fakeOut struct {
	published []events.Event
	runs      []int
	err       error
}

func (f *fakeOut) Publish(_ context.Context, ev events.Event) (outbound.Result, error) {
	f.published = append(f.published, ev)
	return outbound.Result{Created: 1}, f.err
}

func (f *fakeOut) RunDue(_ context.Context, limit int) (outbound.Result, error) {
	f.runs = append(f.runs, limit)
	return outbound.Result{Attempted: 2}, f.err
}

func domainEvent(t *testing.T, ev events.Event) lambdaevents.EventBridgeEvent {
	t.Helper()
	detail, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return lambdaevents.EventBridgeEvent{Version: "0", ID: "eb-1", Source: "referflow", DetailType: string(ev.Type), Detail: detail, Time: time.Now()}
}

func TestHandleRoutesEventsAndSchedules(t *testing.T) {
	ev := events.New(events.RewardPaid, "ref_01J9ZK3W4X5Y6Z7A8B9C0D1E2F", events.ActorWorkflow, time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	ev.ID = "evt_1"
	newer := ev
	newer.Version = events.SchemaVersion + 1
	noID := ev
	noID.ID = ""
	tests := []struct {
		name      string
		in        lambdaevents.EventBridgeEvent
		published int
		runs      []int
	}{
		{"a domain event is delivered", domainEvent(t, ev), 1, nil},
		{"the schedule makes the due retries", lambdaevents.EventBridgeEvent{Source: "aws.events", DetailType: "Scheduled Event", Detail: json.RawMessage(`{}`)}, 0, []int{DefaultBatch}},
		{"an event of a newer schema is skipped", domainEvent(t, newer), 0, nil},
		{"an event without an id is skipped", domainEvent(t, noID), 0, nil},
		{"an undecodable detail is skipped", lambdaevents.EventBridgeEvent{Source: "referflow", Detail: json.RawMessage(`[1]`)}, 0, nil},
		{"another source is skipped", lambdaevents.EventBridgeEvent{Source: "aws.s3", Detail: json.RawMessage(`{}`)}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &fakeOut{}
			h := &Handler{Out: out, Log: slog.New(slog.DiscardHandler)}
			if _, err := h.Handle(context.Background(), tt.in); err != nil {
				t.Fatal(err)
			}
			if len(out.published) != tt.published || len(out.runs) != len(tt.runs) || (len(tt.runs) > 0 && out.runs[0] != tt.runs[0]) {
				t.Fatalf("published %d, runs %v", len(out.published), out.runs)
			}
			if tt.published == 1 && (out.published[0].ID != "evt_1" || out.published[0].Type != events.RewardPaid || !out.published[0].At.Equal(ev.At)) {
				t.Fatalf("published %+v", out.published[0])
			}
		})
	}
}

// A store failure fails the invocation, so EventBridge sends the event
// again (the deliverer creates nothing twice).
func TestAFailureIsReturnedForEventBridgeToRetry(t *testing.T) {
	out := &fakeOut{err: errors.New("throttled")}
	h := &Handler{Out: out, Log: slog.New(slog.DiscardHandler), Batch: 7}
	ev := events.New(events.RewardPaid, "ref_01J9ZK3W4X5Y6Z7A8B9C0D1E2F", events.ActorWorkflow, time.Now())
	ev.ID = "evt_1"
	if _, err := h.Handle(context.Background(), domainEvent(t, ev)); err == nil {
		t.Fatal("a failed publish was not returned")
	}
	if _, err := h.Handle(context.Background(), lambdaevents.EventBridgeEvent{Source: "aws.events"}); err == nil || out.runs[0] != 7 {
		t.Fatalf("a failed run: %v %v", err, out.runs)
	}
}
