package outbound_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/outbound"
	"github.com/referflow/referflow/internal/outbound/outboundtest"
	"github.com/referflow/referflow/internal/stdwebhooks"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// schedule is the tests' retry schedule: three retries.
var schedule = outbound.Schedule{5 * time.Second, 5 * time.Minute, 30 * time.Minute}

type fixture struct {
	st  *outboundtest.Store
	rcv *receiver
	clk *clock
	svc *outbound.Service
}

func newFixture(script ...answer) *fixture {
	if len(script) == 0 {
		script = []answer{{status: 204}}
	}
	f := &fixture{st: outboundtest.NewStore(), rcv: &receiver{script: script}, clk: &clock{t: t0}}
	f.svc = &outbound.Service{
		Store: f.st, Client: f.rcv, Schedule: schedule, Now: f.clk.Now, Rand: rand.Reader,
		Jitter: func(d time.Duration) time.Duration { return d }, DisableAfter: 2,
	}
	return f
}

// endpoint registers an endpoint for types and returns it with its secret.
func (f *fixture) endpoint(t *testing.T, types ...string) (outbound.Endpoint, string) {
	t.Helper()
	url := "https://hooks.example.com/referflow?token=s3cr3t"
	ep, secret, err := f.svc.Add(context.Background(), outbound.Input{URL: &url, Types: &types})
	if err != nil {
		t.Fatal(err)
	}
	return *ep, secret
}

func event(id string, typ events.Type, at time.Time) events.Event {
	ev := events.New(typ, "ref_01J9ZK3W4X5Y6Z7A8B9C0D1E2F", events.ActorIntake, at).WithStatus("received")
	ev.ID = id
	return ev
}

// verify checks a recorded request as a receiver would at its time.
func verify(t *testing.T, r recorded, at time.Time, secrets ...string) {
	t.Helper()
	v, err := stdwebhooks.NewVerifier(secrets, 0, func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(r.header, []byte(r.body)); err != nil {
		t.Fatalf("the receiver cannot verify the delivery: %v", err)
	}
}

func TestFirstAttemptIsSignedAndA2xxEndsTheDelivery(t *testing.T) {
	f := newFixture(answer{status: 204})
	ep, secret := f.endpoint(t, "referral.received")
	ev := event("evt_1", events.ReferralReceived, t0.Add(-time.Second))
	res, err := f.svc.Publish(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 1 || res.Attempted != 1 || res.Succeeded != 1 || f.rcv.count() != 1 {
		t.Fatalf("result %+v, %d requests", res, f.rcv.count())
	}
	req := f.rcv.last()
	verify(t, req, t0, secret)
	d := f.st.Only(ep.ID)
	if req.header.Get("webhook-id") != d.ID || d.ID != outbound.DeliveryID(ep.ID, "evt_1", ev.At) || req.header.Get("webhook-timestamp") != "1795338000" {
		t.Errorf("headers %v, delivery %s", req.header, d.ID)
	}
	if req.header.Get("Content-Type") != "application/json" || req.url != ep.URL {
		t.Errorf("request %+v", req)
	}
	var body struct {
		Type      string       `json:"type"`
		Timestamp string       `json:"timestamp"`
		Data      events.Event `json:"data"`
	}
	if err := json.Unmarshal([]byte(req.body), &body); err != nil || body.Type != "referral.received" || body.Timestamp != "2026-11-22T08:59:59Z" || body.Data.ID != "evt_1" || body.Data.Status != "received" {
		t.Errorf("body %s (%v)", req.body, err)
	}
	if d.Status != outbound.StatusSucceeded || d.AttemptCount != 1 || d.NextAttemptAt != nil || len(d.Attempts) != 1 ||
		d.Attempts[0].Trigger != outbound.TriggerFirst || d.Attempts[0].StatusCode != 204 || !d.Due().IsZero() {
		t.Errorf("delivery %+v", d)
	}
}

// A delivery is retried on the schedule after a 5xx, a timeout or a network
// error, with the same webhook-id and a new timestamp and signature each
// time, and is failed after the schedule's last retry.
func TestRetriesFollowTheScheduleThenTheDeliveryFails(t *testing.T) {
	f := newFixture(
		answer{status: 500, body: "boom"},
		answer{err: context.DeadlineExceeded},
		answer{err: errors.New("dial tcp: connection refused")},
		answer{status: 302},
	)
	ep, secret := f.endpoint(t, "*")
	if _, err := f.svc.Publish(context.Background(), event("evt_1", events.RewardPaid, t0)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		wait    time.Duration
		status  outbound.Status
		next    time.Duration // after the attempt, 0: none
		code    int
		errPart string
	}{
		{0, outbound.StatusPending, 5 * time.Second, 500, ""},
		{5 * time.Second, outbound.StatusPending, 5 * time.Minute, 0, "no answer within 10s"},
		{5 * time.Minute, outbound.StatusPending, 30 * time.Minute, 0, "connection refused"},
		{30 * time.Minute, outbound.StatusFailed, 0, 302, ""},
	}
	id := f.st.Only(ep.ID).ID
	for i, s := range steps {
		if s.wait > 0 {
			f.clk.advance(s.wait - time.Second)
			if res, _ := f.svc.RunDue(context.Background(), 10); res.Attempted != 0 {
				t.Fatalf("step %d: attempted a second early: %+v", i, res)
			}
			f.clk.advance(time.Second)
			if res, err := f.svc.RunDue(context.Background(), 10); err != nil || res.Attempted != 1 {
				t.Fatalf("step %d: %+v %v", i, res, err)
			}
		}
		d := f.st.Only(ep.ID)
		a := d.Attempts[len(d.Attempts)-1]
		if d.Status != s.status || d.AttemptCount != i+1 || a.StatusCode != s.code || !strings.Contains(a.Error, s.errPart) {
			t.Fatalf("step %d: delivery %s, attempt %+v", i, d.Status, a)
		}
		if (s.next == 0) != (d.NextAttemptAt == nil) || (d.NextAttemptAt != nil && !d.NextAttemptAt.Equal(f.clk.Now().Add(s.next))) {
			t.Fatalf("step %d: next attempt at %v, want now + %s", i, d.NextAttemptAt, s.next)
		}
		req := f.rcv.last()
		verify(t, req, f.clk.Now(), secret)
		if req.header.Get("webhook-id") != id || req.header.Get("webhook-timestamp") != stdwebhooks.Timestamp(f.clk.Now()) {
			t.Fatalf("step %d: headers %v", i, req.header)
		}
	}
	if strings.Contains(f.st.Only(ep.ID).Attempts[1].Error, "s3cr3t") {
		t.Error("an attempt's error repeats the URL's token")
	}
	f.clk.advance(24 * time.Hour)
	if res, _ := f.svc.RunDue(context.Background(), 10); res.Attempted != 0 || f.rcv.count() != 4 {
		t.Fatalf("a failed delivery was attempted again: %+v", res)
	}
	if got, _ := f.st.WebhookEndpoint(context.Background(), ep.ID); got.ConsecutiveFailures != 1 {
		t.Errorf("consecutive failures %d, want 1", got.ConsecutiveFailures)
	}
}

func TestA2xxOnRetryEndsTheDeliveryAndClearsTheEndpointsFailures(t *testing.T) {
	f := newFixture(answer{status: 503}, answer{status: 200, body: "ok"})
	ep, _ := f.endpoint(t, "*")
	f.st.Endpoints[ep.ID] = func() outbound.Endpoint { e := f.st.Endpoints[ep.ID]; e.ConsecutiveFailures = 1; return e }()
	f.svc.Publish(context.Background(), event("evt_1", events.RewardPaid, t0))
	f.clk.advance(5 * time.Second)
	if res, err := f.svc.RunDue(context.Background(), 10); err != nil || res.Succeeded != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	d := f.st.Only(ep.ID)
	if d.Status != outbound.StatusSucceeded || d.AttemptCount != 2 || d.Attempts[1].Trigger != outbound.TriggerRetry || d.Attempts[1].Response != "ok" {
		t.Fatalf("delivery %+v", d)
	}
	if got, _ := f.st.WebhookEndpoint(context.Background(), ep.ID); got.ConsecutiveFailures != 0 {
		t.Errorf("consecutive failures %d after a success", got.ConsecutiveFailures)
	}
}

// However often an event arrives (EventBridge delivers at least once), each
// subscribed endpoint gets one delivery and one first attempt.
func TestOneDeliveryPerEndpointAndEvent(t *testing.T) {
	f := newFixture(answer{status: 500})
	a, _ := f.endpoint(t, "reward.paid")
	b, _ := f.endpoint(t, "*")
	c, _ := f.endpoint(t, "referral.received")
	ev := event("evt_1", events.RewardPaid, t0)
	for range 3 {
		if _, err := f.svc.Publish(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if f.rcv.count() != 2 {
		t.Fatalf("%d attempts, want one per subscribed endpoint", f.rcv.count())
	}
	da, db := f.st.Only(a.ID), f.st.Only(b.ID)
	if da.ID == db.ID || da.AttemptCount != 1 || db.AttemptCount != 1 {
		t.Fatalf("deliveries %+v %+v", da, db)
	}
	if _, _, err := f.st.WebhookDeliveries(context.Background(), c.ID, outbound.Query{}); err != nil || len(f.st.Deliveries) != 2 {
		t.Fatalf("%d deliveries, want none for the endpoint not subscribed", len(f.st.Deliveries))
	}
	// A second event is another delivery.
	f.svc.Publish(context.Background(), event("evt_2", events.RewardPaid, t0))
	if f.rcv.count() != 4 {
		t.Fatalf("%d attempts after a second event", f.rcv.count())
	}
}

// An event arriving while writes fail is an error (EventBridge sends it
// again); once writes work, it is delivered once.
func TestAFailedWriteIsRetriedFromTheEvent(t *testing.T) {
	f := newFixture()
	ep, _ := f.endpoint(t, "*")
	f.st.FailWrites = errors.New("throttled")
	if _, err := f.svc.Publish(context.Background(), event("evt_1", events.RewardPaid, t0)); err == nil {
		t.Fatal("a failed write was not reported")
	}
	f.st.FailWrites = nil
	if res, err := f.svc.Publish(context.Background(), event("evt_1", events.RewardPaid, t0)); err != nil || res.Succeeded != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if d := f.st.Only(ep.ID); d.Status != outbound.StatusSucceeded {
		t.Fatalf("delivery %s", d.Status)
	}
	if _, err := f.svc.Publish(context.Background(), events.Event{Type: events.RewardPaid}); err == nil {
		t.Fatal("an event without an id was accepted")
	}
}

// An attempt cut short (the worker died after leasing it) is made again
// when the lease ends.
func TestAnAttemptCutShortIsMadeAgainAfterItsLease(t *testing.T) {
	f := newFixture(answer{status: 200})
	ep, _ := f.endpoint(t, "*")
	ev := event("evt_1", events.RewardPaid, t0)
	payload, _ := outbound.Payload(ev)
	lease := t0.Add(outbound.Lease)
	created := outbound.Delivery{ID: outbound.DeliveryID(ep.ID, ev.ID, ev.At), EndpointID: ep.ID, EventID: ev.ID, EventType: ev.Type,
		Payload: payload, Status: outbound.StatusPending, NextAttemptAt: &t0, LeaseUntil: &lease, CreatedAt: t0, UpdatedAt: t0}
	f.st.CreateWebhookDelivery(context.Background(), created)
	if res, _ := f.svc.RunDue(context.Background(), 10); res.Attempted != 0 {
		t.Fatalf("attempted during the lease: %+v", res)
	}
	f.clk.advance(outbound.Lease)
	if res, _ := f.svc.RunDue(context.Background(), 10); res.Succeeded != 1 {
		t.Fatalf("not attempted after the lease: %+v", res)
	}
	if a := f.st.Only(ep.ID).Attempts; len(a) != 1 || a[0].Trigger != outbound.TriggerFirst {
		t.Fatalf("attempts %+v", a)
	}
}

func TestRunDueLeavesWorkItHasNoTimeFor(t *testing.T) {
	f := newFixture(answer{status: 500})
	ep, _ := f.endpoint(t, "*")
	f.svc.Publish(context.Background(), event("evt_1", events.RewardPaid, t0))
	f.clk.advance(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := f.svc.RunDue(ctx, 10)
	if err != nil || res.Queued != 1 || res.Attempted != 0 || f.rcv.count() != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if d := f.st.Only(ep.ID); d.Due().After(f.clk.Now()) {
		t.Fatal("the delivery left for later is no longer due")
	}
}
