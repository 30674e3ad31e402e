package storetest_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/outbound"
	"github.com/referflow/referflow/internal/store"
)

func webhookEndpoint(id string) outbound.Endpoint {
	return outbound.Endpoint{ID: id, URL: "https://hooks.example.com/" + id, Types: []events.Type{"*"}, Enabled: true,
		Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", CreatedAt: t0, UpdatedAt: t0}
}

func TestWebhookEndpointsAreVersioned(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	a, b := webhookEndpoint("ep_a"), webhookEndpoint("ep_b")
	for _, ep := range []outbound.Endpoint{b, a} {
		if err := st.CreateWebhookEndpoint(ctx, ep); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateWebhookEndpoint(ctx, a); !errors.Is(err, outbound.ErrConflict) {
		t.Fatalf("second create: %v", err)
	}
	list, err := st.WebhookEndpoints(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "ep_a" || list[0].Secret != a.Secret || list[0].Types[0] != "*" || !list[0].CreatedAt.Equal(t0) {
		t.Fatalf("list %+v %v", list, err)
	}
	got, err := st.WebhookEndpoint(ctx, "ep_a")
	if err != nil || got.Version != 0 || got.PreviousUntil != nil {
		t.Fatalf("get %+v %v", got, err)
	}
	got.Description = "changed"
	if err := st.UpdateWebhookEndpoint(ctx, *got); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateWebhookEndpoint(ctx, *got); !errors.Is(err, outbound.ErrConflict) {
		t.Fatalf("update from a stale read: %v", err)
	}
	again, _ := st.WebhookEndpoint(ctx, "ep_a")
	if again.Version != 1 || again.Description != "changed" {
		t.Fatalf("after update %+v", again)
	}
	if err := st.DeleteWebhookEndpoint(ctx, "ep_a"); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"get":    func() error { _, err := st.WebhookEndpoint(ctx, "ep_a"); return err }(),
		"update": st.UpdateWebhookEndpoint(ctx, *again),
		"delete": st.DeleteWebhookEndpoint(ctx, "ep_a"),
	} {
		if !errors.Is(err, outbound.ErrNotFound) {
			t.Errorf("%s after delete: %v", name, err)
		}
	}
}

func TestWebhookOutcomesDisableAnEndpointOnce(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	st.CreateWebhookEndpoint(ctx, webhookEndpoint("ep_a"))
	for i, want := range []bool{false, false, true, false} {
		disabled, err := st.CountWebhookOutcome(ctx, "ep_a", false, 3, t0)
		if err != nil || disabled != want {
			t.Fatalf("failure %d: disabled %v, %v", i+1, disabled, err)
		}
	}
	ep, _ := st.WebhookEndpoint(ctx, "ep_a")
	if ep.Enabled || ep.ConsecutiveFailures != 4 || ep.DisabledReason == "" || ep.Version != 5 {
		t.Fatalf("%+v", ep)
	}
	if _, err := st.CountWebhookOutcome(ctx, "ep_a", true, 3, t0); err != nil {
		t.Fatal(err)
	}
	ep, _ = st.WebhookEndpoint(ctx, "ep_a")
	if ep.ConsecutiveFailures != 0 || ep.Version != 6 {
		t.Fatalf("after a success %+v", ep)
	}
	if _, err := st.CountWebhookOutcome(ctx, "ep_a", true, 3, t0); err != nil {
		t.Fatal(err)
	}
	if ep2, _ := st.WebhookEndpoint(ctx, "ep_a"); ep2.Version != 6 {
		t.Fatal("a success with no failures counted wrote")
	}
	if _, err := st.CountWebhookOutcome(ctx, "ep_gone", false, 3, t0); !errors.Is(err, outbound.ErrNotFound) {
		t.Fatalf("unknown endpoint: %v", err)
	}
}

// delivery is a pending delivery of event id (at) to ep, due at due.
func delivery(ep, id string, at, due time.Time) outbound.Delivery {
	return outbound.Delivery{ID: outbound.DeliveryID(ep, id, at), EndpointID: ep, EventID: id, EventType: events.RewardPaid,
		Payload: `{"type":"reward.paid"}`, Status: outbound.StatusPending, NextAttemptAt: &due, Attempts: []outbound.Attempt{},
		CreatedAt: t0, UpdatedAt: t0}
}

func TestWebhookDeliveriesAreMadeOnceAndVersioned(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	d := delivery("ep_a", "evt_1", t0, t0)
	for i, want := range []bool{true, false} {
		if created, err := st.CreateWebhookDelivery(ctx, d); err != nil || created != want {
			t.Fatalf("create %d: %v %v", i+1, created, err)
		}
	}
	got, err := st.WebhookDelivery(ctx, "ep_a", d.ID)
	if err != nil || got.Version != 0 || got.Payload != d.Payload || !got.NextAttemptAt.Equal(t0) {
		t.Fatalf("%+v %v", got, err)
	}
	got.Attempts = append(got.Attempts, outbound.Attempt{At: t0, Trigger: outbound.TriggerFirst, StatusCode: 500, Response: "boom", DurationMS: 12})
	got.AttemptCount, got.Status, got.NextAttemptAt, got.UpdatedAt = 1, outbound.StatusFailed, nil, t0.Add(time.Hour)
	if err := st.SaveWebhookDelivery(ctx, *got); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveWebhookDelivery(ctx, *got); !errors.Is(err, outbound.ErrConflict) {
		t.Fatalf("save from a stale read: %v", err)
	}
	after, _ := st.WebhookDelivery(ctx, "ep_a", d.ID)
	if after.Version != 1 || after.Status != outbound.StatusFailed || len(after.Attempts) != 1 || after.Attempts[0].Response != "boom" {
		t.Fatalf("%+v", after)
	}
	if exp := expiresAt(t, st, "WEBHOOK#ep_a", "DELIVERY#"+d.ID); exp != t0.Add(time.Hour+store.DeliveryRetention).Unix() {
		t.Fatalf("expires_at %d, want 30 days after the last change", exp)
	}
	if _, err := st.WebhookDelivery(ctx, "ep_a", "msg_nope"); !errors.Is(err, outbound.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

// The due index lists pending deliveries due by now, earliest first, and
// nothing else; a delivery leaves it when it ends.
func TestDueWebhookDeliveriesComeFromTheIndex(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	lease := t0.Add(time.Minute)
	leased := delivery("ep_a", "evt_leased", t0, t0.Add(-time.Hour))
	leased.LeaseUntil = &lease
	done := delivery("ep_a", "evt_done", t0, t0.Add(-time.Hour))
	done.Status, done.NextAttemptAt = outbound.StatusSucceeded, nil
	for _, d := range []outbound.Delivery{
		delivery("ep_a", "evt_late", t0, t0.Add(-time.Second)),
		delivery("ep_b", "evt_early", t0, t0.Add(-time.Minute)),
		delivery("ep_a", "evt_future", t0, t0.Add(time.Second)),
		leased, done,
	} {
		if _, err := st.CreateWebhookDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(now time.Time, limit int) []string {
		refs, err := st.DueWebhookDeliveries(ctx, now, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range refs {
			d, _ := st.WebhookDelivery(ctx, r.EndpointID, r.ID)
			out = append(out, d.EventID)
		}
		return out
	}
	if got := ids(t0, 10); len(got) != 2 || got[0] != "evt_early" || got[1] != "evt_late" {
		t.Fatalf("due at t0: %v", got)
	}
	if got := ids(t0, 1); len(got) != 1 || got[0] != "evt_early" {
		t.Fatalf("limit 1: %v", got)
	}
	if got := ids(t0.Add(time.Minute), 10); len(got) != 4 || got[3] != "evt_leased" {
		t.Fatalf("due a minute later: %v", got)
	}
	early, _ := st.WebhookDelivery(ctx, "ep_b", outbound.DeliveryID("ep_b", "evt_early", t0))
	early.Status, early.NextAttemptAt = outbound.StatusSucceeded, nil
	if err := st.SaveWebhookDelivery(ctx, *early); err != nil {
		t.Fatal(err)
	}
	if got := ids(t0, 10); len(got) != 1 || got[0] != "evt_late" {
		t.Fatalf("after one ended: %v", got)
	}
}

func TestWebhookDeliveriesListNewestFirstWithFiltersAndPages(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	for i := range 7 {
		d := delivery("ep_a", "evt_"+strconv.Itoa(i), t0.Add(time.Duration(i)*time.Minute), t0)
		if i%2 == 1 {
			d.Status, d.NextAttemptAt = outbound.StatusFailed, nil
		}
		st.CreateWebhookDelivery(ctx, d)
	}
	st.CreateWebhookDelivery(ctx, delivery("ep_b", "evt_other", t0, t0))
	page, next, err := st.WebhookDeliveries(ctx, "ep_a", outbound.Query{Limit: 3})
	if err != nil || len(page) != 3 || page[0].EventID != "evt_6" || page[2].EventID != "evt_4" || next == "" {
		t.Fatalf("first page %v %q %v", page, next, err)
	}
	page, next, _ = st.WebhookDeliveries(ctx, "ep_a", outbound.Query{Limit: 3, After: next})
	if len(page) != 3 || page[0].EventID != "evt_3" {
		t.Fatalf("second page %v", page)
	}
	page, next, _ = st.WebhookDeliveries(ctx, "ep_a", outbound.Query{Limit: 3, After: next})
	if len(page) != 1 || page[0].EventID != "evt_0" || next != "" {
		t.Fatalf("last page %v %q", page, next)
	}
	failed, _, _ := st.WebhookDeliveries(ctx, "ep_a", outbound.Query{Limit: 10, Status: outbound.StatusFailed, Since: t0.Add(2 * time.Minute), Oldest: true})
	if len(failed) != 2 || failed[0].EventID != "evt_3" || failed[1].EventID != "evt_5" {
		t.Fatalf("failed since 2 min, oldest first: %v", failed)
	}
}

// Over the table, an event that arrives several times at once (EventBridge
// delivers at least once) makes one delivery and one attempt per endpoint.
func TestConcurrentCopiesOfAnEventMakeOneDelivery(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	var hits atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	svc := &outbound.Service{Store: st, Client: rcv.Client(), Schedule: outbound.Schedule{time.Minute}, Now: time.Now, Rand: rand.Reader}
	url, subs := rcv.URL+"/hook", []string{"reward.paid"}
	ep, _, err := svc.Add(ctx, outbound.Input{URL: &url, Types: &subs})
	if err != nil {
		t.Fatal(err)
	}
	ev := events.New(events.RewardPaid, "ref_01J9ZK3W4X5Y6Z7A8B9C0D1E2F", events.ActorWorkflow, t0)
	ev.ID = "evt_1"
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := svc.Publish(ctx, ev); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ds, _, _ := st.WebhookDeliveries(ctx, ep.ID, outbound.Query{Limit: 10})
	if hits.Load() != 1 || len(ds) != 1 || ds[0].Status != outbound.StatusSucceeded || ds[0].AttemptCount != 1 {
		t.Fatalf("%d attempts, deliveries %+v", hits.Load(), ds)
	}
	out, err := storetest.DB(t).Query(ctx, &dynamodb.QueryInput{TableName: aws.String(st.Table()), IndexName: aws.String(store.IndexByStatus),
		KeyConditionExpression:    aws.String("GSI1PK = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "WEBHOOK-DUE"}}})
	if err != nil || len(out.Items) != 0 {
		t.Fatalf("a delivery that succeeded is still in the due index: %v %v", out.Items, err)
	}
}
