package outbound_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/outbound"
	"github.com/referflow/referflow/internal/outbound/outboundtest"
	"github.com/referflow/referflow/internal/stdwebhooks"
)

func ptr[T any](v T) *T { return &v }

func TestEndpointInputIsCheckedAndBadInputStoresNothing(t *testing.T) {
	long := "https://x.example/" + strings.Repeat("a", outbound.MaxURL)
	tests := []struct {
		name string
		in   outbound.Input
		bad  map[string]string // field -> part of the problem; nil: accepted
	}{
		{"https", outbound.Input{URL: ptr("https://hooks.example.com/a?b=c"), Types: ptr([]string{"reward.paid", "referral.received"})}, nil},
		{"wildcard", outbound.Input{URL: ptr("https://hooks.example.com"), Types: ptr([]string{"*"})}, nil},
		{"http on loopback", outbound.Input{URL: ptr("http://127.0.0.1:8080/hook"), Types: ptr([]string{"*"})}, nil},
		{"http on localhost", outbound.Input{URL: ptr("http://localhost/hook"), Types: ptr([]string{"*"})}, nil},
		{"http on ::1", outbound.Input{URL: ptr("http://[::1]:9/hook"), Types: ptr([]string{"*"})}, nil},
		{"nothing", outbound.Input{}, map[string]string{"url": "required", "types": "required"}},
		{"http elsewhere", outbound.Input{URL: ptr("http://hooks.example.com"), Types: ptr([]string{"*"})}, map[string]string{"url": "must be https"}},
		{"http on a private address", outbound.Input{URL: ptr("http://10.0.0.5/hook"), Types: ptr([]string{"*"})}, map[string]string{"url": "must be https"}},
		{"other scheme", outbound.Input{URL: ptr("ftp://hooks.example.com"), Types: ptr([]string{"*"})}, map[string]string{"url": "must be https"}},
		{"relative", outbound.Input{URL: ptr("/hook"), Types: ptr([]string{"*"})}, map[string]string{"url": "absolute"}},
		{"credentials", outbound.Input{URL: ptr("https://u:p@hooks.example.com"), Types: ptr([]string{"*"})}, map[string]string{"url": "credentials"}},
		{"fragment", outbound.Input{URL: ptr("https://hooks.example.com/#x"), Types: ptr([]string{"*"})}, map[string]string{"url": "fragment"}},
		{"too long", outbound.Input{URL: &long, Types: ptr([]string{"*"})}, map[string]string{"url": "at most"}},
		{"unknown type", outbound.Input{URL: ptr("https://h.example"), Types: ptr([]string{"reward.paid", "deal.won"})}, map[string]string{"types": `"deal.won" is not an event type`}},
		{"unknown type beside *", outbound.Input{URL: ptr("https://h.example"), Types: ptr([]string{"*", "nope"})}, map[string]string{"types": `"nope"`}},
		{"no types", outbound.Input{URL: ptr("https://h.example"), Types: ptr([]string{})}, map[string]string{"types": "required"}},
		{"description too long", outbound.Input{URL: ptr("https://h.example"), Types: ptr([]string{"*"}), Description: ptr(strings.Repeat("d", 501))}, map[string]string{"description": "at most 500"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			ep, secret, err := f.svc.Add(context.Background(), tt.in)
			if tt.bad == nil {
				if err != nil || !ep.Enabled || !strings.HasPrefix(secret, "whsec_") || !outbound.ValidEndpointID(ep.ID) || len(f.st.Endpoints) != 1 {
					t.Fatalf("refused: %v (%+v)", err, ep)
				}
				return
			}
			var inv *outbound.InvalidError
			if !errors.As(err, &inv) || len(inv.Fields) != len(tt.bad) {
				t.Fatalf("err = %v, want fields %v", err, tt.bad)
			}
			for field, part := range tt.bad {
				if !strings.Contains(inv.Fields[field], part) {
					t.Errorf("fields[%s] = %q, want it to say %q", field, inv.Fields[field], part)
				}
			}
			if len(f.st.Endpoints) != 0 || f.st.Writes != 0 {
				t.Fatal("refused input was stored")
			}
		})
	}
}

func TestTypesAreSortedWithoutRepeatsAndStarIsAll(t *testing.T) {
	f := newFixture()
	ep, _ := f.endpoint(t, " reward.paid", "referral.received", "reward.paid")
	if got := ep.Types; len(got) != 2 || got[0] != events.ReferralReceived || got[1] != events.RewardPaid {
		t.Fatalf("types %v", got)
	}
	all, _ := f.endpoint(t, "reward.paid", "*")
	if len(all.Types) != 1 || all.Types[0] != "*" || !all.Subscribes(events.ReferralErased) || ep.Subscribes(events.ReferralErased) {
		t.Fatalf("types %v", all.Types)
	}
}

func TestUpdateChangesOnlyWhatIsGiven(t *testing.T) {
	f := newFixture()
	ep, _ := f.endpoint(t, "*")
	got, err := f.svc.Update(context.Background(), ep.ID, outbound.Input{Enabled: ptr(false), Description: ptr(" CRM sync ")})
	if err != nil || got.Enabled || got.Description != "CRM sync" || got.URL != ep.URL || got.Secret != ep.Secret {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := f.svc.Update(context.Background(), ep.ID, outbound.Input{URL: ptr("http://example.com")}); !errors.As(err, new(*outbound.InvalidError)) {
		t.Fatalf("bad update: %v", err)
	}
	if stored, _ := f.st.WebhookEndpoint(context.Background(), ep.ID); stored.URL != ep.URL {
		t.Fatal("a refused update changed the endpoint")
	}
	for _, id := range []string{"ep_00000000000000000000000000", "nope", ""} {
		if _, err := f.svc.Update(context.Background(), id, outbound.Input{}); !errors.Is(err, outbound.ErrNotFound) {
			t.Errorf("update %q: %v", id, err)
		}
	}
	if err := f.svc.Remove(context.Background(), ep.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Remove(context.Background(), ep.ID); !errors.Is(err, outbound.ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
}

// After a rotation both secrets sign deliveries for 24 hours, then only
// the new one.
func TestRotatedSecretSignsBesideTheOldOneFor24Hours(t *testing.T) {
	f := newFixture()
	ep, old := f.endpoint(t, "*")
	_, fresh, err := f.svc.Rotate(context.Background(), ep.ID)
	if err != nil || fresh == old || !strings.HasPrefix(fresh, "whsec_") {
		t.Fatalf("rotate: %q %v", fresh, err)
	}
	f.svc.Publish(context.Background(), event("evt_1", events.RewardPaid, t0))
	req := f.rcv.last()
	verify(t, req, t0, old)
	verify(t, req, t0, fresh)
	f.clk.advance(outbound.RotationOverlap)
	f.svc.Publish(context.Background(), event("evt_2", events.RewardPaid, t0))
	req = f.rcv.last()
	verify(t, req, f.clk.Now(), fresh)
	v, _ := stdwebhooks.NewVerifier([]string{old}, 0, f.clk.Now)
	if v.Verify(req.header, []byte(req.body)) == nil || strings.Count(req.header.Get("webhook-signature"), "v1,") != 1 {
		t.Fatal("the old secret still signs after the overlap")
	}
}

// failed makes a delivery of ev to ep that failed every attempt.
func (f *fixture) failed(t *testing.T, ev events.Event) outbound.Delivery {
	t.Helper()
	f.rcv.script = []answer{{status: 500}}
	f.svc.Publish(context.Background(), ev)
	for range schedule {
		f.clk.advance(time.Hour)
		f.svc.RunDue(context.Background(), 10)
	}
	for _, d := range f.st.Deliveries {
		if d.EventID == ev.ID {
			if d.Status != outbound.StatusFailed {
				t.Fatalf("delivery %s is %s", d.ID, d.Status)
			}
			return d
		}
	}
	t.Fatal("no delivery")
	return outbound.Delivery{}
}

func TestReplayMakesANewSignedAttemptAtOnce(t *testing.T) {
	f := newFixture()
	f.svc.DisableAfter = 0
	ep, secret := f.endpoint(t, "*")
	d := f.failed(t, event("evt_1", events.RewardPaid, t0))
	n := f.rcv.count()
	f.clk.advance(time.Hour)
	f.rcv.script = []answer{{status: 500, body: "still down"}}
	got, err := f.svc.Replay(context.Background(), ep.ID, d.ID)
	if err != nil || f.rcv.count() != n+1 {
		t.Fatalf("replay: %v, %d requests", err, f.rcv.count()-n)
	}
	req := f.rcv.last()
	verify(t, req, f.clk.Now(), secret)
	if req.header.Get("webhook-id") != d.ID || req.header.Get("webhook-timestamp") != stdwebhooks.Timestamp(f.clk.Now()) {
		t.Fatalf("headers %v", req.header)
	}
	last := got.Attempts[len(got.Attempts)-1]
	if got.Status != outbound.StatusFailed || last.Trigger != outbound.TriggerReplay || last.Response != "still down" || got.NextAttemptAt != nil {
		t.Fatalf("a failed replay: %+v", got)
	}
	f.clk.advance(24 * time.Hour)
	if res, _ := f.svc.RunDue(context.Background(), 10); res.Attempted != 0 {
		t.Fatal("a failed replay was retried by the schedule")
	}
	f.rcv.script = []answer{{status: 202}}
	if got, err = f.svc.Replay(context.Background(), ep.ID, d.ID); err != nil || got.Status != outbound.StatusSucceeded || got.AttemptCount != len(schedule)+3 {
		t.Fatalf("a replay that worked: %+v %v", got, err)
	}
	if stored, _ := f.st.WebhookEndpoint(context.Background(), ep.ID); stored.ConsecutiveFailures != 0 {
		t.Errorf("a success left %d failures counted", stored.ConsecutiveFailures)
	}
}

func TestReplayOfAPendingDeliveryKeepsItsSchedule(t *testing.T) {
	f := newFixture(answer{status: 500})
	ep, _ := f.endpoint(t, "*")
	f.svc.Publish(context.Background(), event("evt_1", events.RewardPaid, t0))
	before := f.st.Only(ep.ID)
	f.clk.advance(time.Second)
	got, err := f.svc.Replay(context.Background(), ep.ID, before.ID)
	if err != nil || got.Status != outbound.StatusPending || !got.NextAttemptAt.Equal(*before.NextAttemptAt) || got.AttemptCount != 2 {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestReplayRefusals(t *testing.T) {
	f := newFixture(answer{status: 500})
	ep, _ := f.endpoint(t, "*")
	f.svc.Publish(context.Background(), event("evt_1", events.RewardPaid, t0))
	d := f.st.Only(ep.ID)
	for name, c := range map[string]struct {
		ep, d string
		want  error
	}{
		"unknown endpoint":   {"ep_00000000000000000000000000", d.ID, outbound.ErrNotFound},
		"malformed delivery": {ep.ID, "x", outbound.ErrNotFound},
		"unknown delivery":   {ep.ID, outbound.DeliveryID(ep.ID, "evt_9", t0), outbound.ErrNotFound},
	} {
		if _, err := f.svc.Replay(context.Background(), c.ep, c.d); !errors.Is(err, c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	held := d
	lease := f.clk.Now().Add(time.Minute)
	held.LeaseUntil = &lease
	f.st.Deliveries[outboundtest.Key(ep.ID, d.ID)] = held
	if _, err := f.svc.Replay(context.Background(), ep.ID, d.ID); !errors.Is(err, outbound.ErrBusy) {
		t.Errorf("during an attempt: %v", err)
	}
	f.svc.Update(context.Background(), ep.ID, outbound.Input{Enabled: ptr(false)})
	if _, err := f.svc.Replay(context.Background(), ep.ID, d.ID); !errors.Is(err, outbound.ErrDisabled) {
		t.Errorf("disabled endpoint: %v", err)
	}
	if _, err := f.svc.ReplayFailed(context.Background(), ep.ID, t0); !errors.Is(err, outbound.ErrDisabled) {
		t.Errorf("disabled endpoint: %v", err)
	}
}

func TestReplayFailedReplaysTheFailedDeliveriesSinceATime(t *testing.T) {
	f := newFixture()
	f.svc.DisableAfter = 0
	ep, _ := f.endpoint(t, "*")
	f.failed(t, event("evt_old", events.RewardPaid, t0.Add(-2*time.Hour)))
	recent := f.failed(t, event("evt_new", events.RewardPaid, t0))
	f.rcv.script = []answer{{status: 200}}
	f.svc.Publish(context.Background(), event("evt_ok", events.RewardPaid, t0.Add(time.Minute)))
	n := f.rcv.count()
	res, err := f.svc.ReplayFailed(context.Background(), ep.ID, t0.Add(-time.Hour))
	if err != nil || res.Replayed != 1 || res.Attempts.Succeeded != 1 || res.More || f.rcv.count() != n+1 {
		t.Fatalf("%+v %v", res, err)
	}
	if got, _ := f.st.WebhookDelivery(context.Background(), ep.ID, recent.ID); got.Status != outbound.StatusSucceeded {
		t.Fatalf("replayed delivery %s", got.Status)
	}
	failed, _, _ := f.svc.Deliveries(context.Background(), ep.ID, outbound.Query{Status: outbound.StatusFailed})
	if len(failed) != 1 || failed[0].EventID != "evt_old" {
		t.Fatalf("failed deliveries left: %+v", failed)
	}
}

// After DisableAfter deliveries in a row fail, the endpoint is disabled and
// new events skip it; enabling it again starts the count over.
func TestAnEndpointFailingEveryDeliveryIsDisabled(t *testing.T) {
	f := newFixture()
	ep, _ := f.endpoint(t, "*")
	f.failed(t, event("evt_1", events.RewardPaid, t0))
	if got, _ := f.st.WebhookEndpoint(context.Background(), ep.ID); !got.Enabled || got.ConsecutiveFailures != 1 {
		t.Fatalf("after one failed delivery: %+v", got)
	}
	f.failed(t, event("evt_2", events.RewardPaid, t0))
	got, _ := f.st.WebhookEndpoint(context.Background(), ep.ID)
	if got.Enabled || got.DisabledReason == "" {
		t.Fatalf("after two: %+v", got)
	}
	n := f.rcv.count()
	if res, _ := f.svc.Publish(context.Background(), event("evt_3", events.RewardPaid, t0)); res.Created != 0 || f.rcv.count() != n {
		t.Fatal("a disabled endpoint was sent a delivery")
	}
	again, err := f.svc.Update(context.Background(), ep.ID, outbound.Input{Enabled: ptr(true)})
	if err != nil || again.ConsecutiveFailures != 0 || again.DisabledReason != "" {
		t.Fatalf("enabled again: %+v %v", again, err)
	}
}

// Pending deliveries of an endpoint disabled or removed meanwhile fail at
// their due time without an attempt (a replay sends them once it is
// enabled again).
func TestPendingDeliveriesOfAnUnusableEndpointFailWithoutAnAttempt(t *testing.T) {
	for _, c := range []struct {
		name, reason string
		act          func(f *fixture, id string)
	}{
		{"removed", "endpoint removed", func(f *fixture, id string) { f.svc.Remove(context.Background(), id) }},
		{"disabled", "endpoint disabled", func(f *fixture, id string) {
			f.svc.Update(context.Background(), id, outbound.Input{Enabled: ptr(false)})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(answer{status: 500})
			ep, _ := f.endpoint(t, "*")
			f.svc.Publish(context.Background(), event("evt_1", events.RewardPaid, t0))
			d := f.st.Only(ep.ID)
			c.act(f, ep.ID)
			f.clk.advance(time.Minute)
			res, err := f.svc.RunDue(context.Background(), 10)
			got, _ := f.st.WebhookDelivery(context.Background(), ep.ID, d.ID)
			if err != nil || res.Failed != 1 || f.rcv.count() != 1 || got.Status != outbound.StatusFailed || got.Attempts[1].Error != c.reason {
				t.Fatalf("%+v %v %+v", res, err, got)
			}
		})
	}
}

func TestEndpointsAreCachedForTheirTTL(t *testing.T) {
	f := newFixture()
	f.svc.CacheTTL = 30 * time.Second
	f.svc.Publish(context.Background(), event("evt_0", events.RewardPaid, t0))
	f.endpoint(t, "*")
	f.svc.Publish(context.Background(), event("evt_1", events.RewardPaid, t0))
	if f.rcv.count() != 0 {
		t.Fatal("the cached list was not used")
	}
	f.clk.advance(30 * time.Second)
	f.svc.Publish(context.Background(), event("evt_2", events.RewardPaid, t0))
	if f.rcv.count() != 1 {
		t.Fatal("the list was not read again after its TTL")
	}
}

func TestAttemptsKeepTheStartOfTheAnswerOnly(t *testing.T) {
	f := newFixture(answer{status: 500, body: strings.Repeat("x", 1023) + "é" + strings.Repeat("y", 4000)})
	ep, _ := f.endpoint(t, "*")
	f.svc.Publish(context.Background(), event("evt_1", events.RewardPaid, t0))
	a := f.st.Only(ep.ID).Attempts[0]
	if len(a.Response) > outbound.MaxResponse || !strings.HasPrefix(a.Response, strings.Repeat("x", 1023)) || strings.Contains(a.Response, "y") {
		t.Fatalf("response kept: %d bytes %q", len(a.Response), a.Response[1000:])
	}
}
