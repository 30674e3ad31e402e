package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/outbound"
	"github.com/referflow/referflow/internal/outbound/outboundtest"
	"github.com/referflow/referflow/internal/stdwebhooks"
)

// webhookEnv is the admin handler over a real outbound service, an
// in-memory store, and a receiver on loopback that verifies each
// delivery and answers from a script.
type webhookEnv struct {
	h   *Handler
	svc *outbound.Service
	st  *outboundtest.Store
	rcv *httptest.Server

	mu       sync.Mutex
	secret   string
	statuses []int // answers, in turn (the last repeats)
	got      []http.Header
	verified []error
}

func newWebhookEnv(t *testing.T) *webhookEnv {
	e := &webhookEnv{st: outboundtest.NewStore(), statuses: []int{204}}
	e.rcv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		defer e.mu.Unlock()
		v, err := stdwebhooks.NewVerifier([]string{e.secret}, 0, func() time.Time { return now })
		if err == nil {
			err = v.Verify(r.Header, body)
		}
		e.got, e.verified = append(e.got, r.Header.Clone()), append(e.verified, err)
		w.WriteHeader(e.statuses[min(len(e.got), len(e.statuses))-1])
	}))
	t.Cleanup(e.rcv.Close)
	e.svc = &outbound.Service{Store: e.st, Client: e.rcv.Client(), Schedule: outbound.Schedule{time.Minute},
		Now: func() time.Time { return now }, Rand: rand.Reader, Jitter: func(d time.Duration) time.Duration { return d }}
	e.h = &Handler{Webhooks: e.svc, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
	return e
}

// add registers an endpoint at the receiver through the API.
func (e *webhookEnv) add(t *testing.T, types string) map[string]any {
	t.Helper()
	a := call(t, e.h, request(http.MethodPost, "/admin/webhooks", nil, `{"url":"`+e.rcv.URL+`/hook","types":`+types+`,"description":"CRM sync"}`))
	if a.status != http.StatusCreated {
		t.Fatalf("create: %d %v", a.status, a.body)
	}
	e.mu.Lock()
	e.secret, _ = a.body["secret"].(string)
	e.mu.Unlock()
	return a.body
}

func ep(id string) map[string]string { return map[string]string{"id": id} }

func TestWebhookEndpointLifecycle(t *testing.T) {
	e := newWebhookEnv(t)
	created := e.add(t, `["reward.paid","referral.received"]`)
	id, _ := created["id"].(string)
	if !outbound.ValidEndpointID(id) || !strings.HasPrefix(e.secret, "whsec_") || created["enabled"] != true || created["description"] != "CRM sync" {
		t.Fatalf("created %v", created)
	}
	for _, req := range []lambdaevents.APIGatewayV2HTTPRequest{
		request(http.MethodGet, "/admin/webhooks", nil, ""),
		request(http.MethodGet, "/admin/webhooks/{id}", ep(id), ""),
	} {
		a := call(t, e.h, req)
		raw, _ := json.Marshal(a.body)
		if a.status != http.StatusOK || strings.Contains(string(raw), e.secret) || strings.Contains(string(raw), `"secret"`) || !strings.Contains(string(raw), id) {
			t.Fatalf("%s: %d %s (the secret is shown only on creation and rotation)", req.RouteKey, a.status, raw)
		}
	}
	for _, method := range []string{http.MethodPatch, http.MethodPost} {
		a := call(t, e.h, request(method, "/admin/webhooks/{id}", ep(id), `{"types":["*"],"enabled":false}`))
		if a.status != http.StatusOK || a.body["enabled"] != false || a.body["types"].([]any)[0] != "*" || a.body["description"] != "CRM sync" {
			t.Fatalf("%s: %d %v", method, a.status, a.body)
		}
	}
	old := e.secret
	a := call(t, e.h, request(http.MethodPost, "/admin/webhooks/{id}/rotate-secret", ep(id), ""))
	if fresh, _ := a.body["secret"].(string); a.status != http.StatusOK || fresh == old || !strings.HasPrefix(fresh, "whsec_") || a.body["secret_rotated_at"] == nil {
		t.Fatalf("rotate: %d %v", a.status, a.body)
	}
	if a := call(t, e.h, request(http.MethodDelete, "/admin/webhooks/{id}", ep(id), "")); a.status != http.StatusOK || a.body["deleted"] != true {
		t.Fatalf("delete: %d %v", a.status, a.body)
	}
	if a := call(t, e.h, request(http.MethodGet, "/admin/webhooks/{id}", ep(id), "")); a.status != http.StatusNotFound || errCode(a) != "not_found" {
		t.Fatalf("after delete: %d %v", a.status, a.body)
	}
}

// Bad input is answered 400 with the fields at fault (413 when too large)
// and writes nothing.
func TestWebhookBadInputIsRefusedAndWritesNothing(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		field      string
	}{
		{"not JSON", `{"url":`, 400, "body"},
		{"an array", `[]`, 400, "body"},
		{"unknown field", `{"url":"https://h.example","types":["*"],"secret":"whsec_x"}`, 400, "secret"},
		{"types not a list", `{"url":"https://h.example","types":"reward.paid"}`, 400, "types"},
		{"enabled not a boolean", `{"url":"https://h.example","types":["*"],"enabled":"yes"}`, 400, "enabled"},
		{"url missing", `{"types":["*"]}`, 400, "url"},
		{"plain http elsewhere", `{"url":"http://hooks.example.com","types":["*"]}`, 400, "url"},
		{"unknown event type", `{"url":"https://h.example","types":["reward.paid","deal.won"]}`, 400, "types"},
		{"description too long", `{"url":"https://h.example","types":["*"],"description":"` + strings.Repeat("d", 600) + `"}`, 400, "description"},
		{"too large", `{"url":"https://h.example","types":["*"],"description":"` + strings.Repeat("d", maxBody) + `"}`, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newWebhookEnv(t)
			a := call(t, e.h, request(http.MethodPost, "/admin/webhooks", nil, tt.body))
			fields, _ := a.body["error"].(map[string]any)["fields"].(map[string]any)
			if a.status != tt.status || (tt.field != "" && (errCode(a) != "invalid_request" || fields[tt.field] == nil)) {
				t.Fatalf("%d %v, want %d naming %q", a.status, a.body, tt.status, tt.field)
			}
			if e.st.Writes != 0 || len(e.st.Endpoints) != 0 {
				t.Fatal("refused input was stored")
			}
		})
	}
	e := newWebhookEnv(t)
	id := e.add(t, `["*"]`)["id"].(string)
	writes := e.st.Writes
	for _, body := range []string{`{"url":"ftp://x"}`, `{"types":[]}`, `{"enabled":1}`} {
		if a := call(t, e.h, request(http.MethodPatch, "/admin/webhooks/{id}", ep(id), body)); a.status != 400 || errCode(a) != "invalid_request" {
			t.Fatalf("update %s: %d %v", body, a.status, a.body)
		}
	}
	if e.st.Writes != writes {
		t.Fatal("a refused update wrote")
	}
}

func TestWebhookUnknownIDsAre404(t *testing.T) {
	e := newWebhookEnv(t)
	id := e.add(t, `["*"]`)["id"].(string)
	unknown := "ep_00000000000000000000000000"
	msg := outbound.DeliveryID(id, "evt_1", now)
	for _, req := range []lambdaevents.APIGatewayV2HTTPRequest{
		request(http.MethodGet, "/admin/webhooks/{id}", ep(unknown), ""),
		request(http.MethodGet, "/admin/webhooks/{id}", ep("../x"), ""),
		request(http.MethodPatch, "/admin/webhooks/{id}", ep(unknown), `{"enabled":true}`),
		request(http.MethodDelete, "/admin/webhooks/{id}", ep(unknown), ""),
		request(http.MethodPost, "/admin/webhooks/{id}/rotate-secret", ep(unknown), ""),
		request(http.MethodGet, "/admin/webhooks/{id}/deliveries", ep(unknown), ""),
		request(http.MethodPost, "/admin/webhooks/{id}/deliveries/{delivery_id}/replay", map[string]string{"id": id, "delivery_id": msg}, ""),
		request(http.MethodPost, "/admin/webhooks/{id}/deliveries/{delivery_id}/replay", map[string]string{"id": id, "delivery_id": "nope"}, ""),
		request(http.MethodPost, "/admin/webhooks/{id}/replay", ep(unknown), `{"since":"2026-11-01T00:00:00Z"}`),
	} {
		if a := call(t, e.h, req); a.status != http.StatusNotFound || errCode(a) != "not_found" {
			t.Errorf("%s %v: %d %v", req.RouteKey, req.PathParameters, a.status, a.body)
		}
	}
}

func TestWebhookDeliveriesAreListedAndReplayed(t *testing.T) {
	e := newWebhookEnv(t)
	e.statuses = []int{500, 204}
	id := e.add(t, `["reward.paid"]`)["id"].(string)
	ev := events.New(events.RewardPaid, refID, events.ActorWorkflow, now)
	ev.ID = "evt_1"
	if _, err := e.svc.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	a := call(t, e.h, request(http.MethodGet, "/admin/webhooks/{id}/deliveries", ep(id), ""))
	ds, _ := a.body["deliveries"].([]any)
	if a.status != 200 || len(ds) != 1 {
		t.Fatalf("deliveries: %d %v", a.status, a.body)
	}
	d := ds[0].(map[string]any)
	payload, _ := d["payload"].(map[string]any)
	if d["status"] != "pending" || d["attempt_count"] != 1.0 || payload["type"] != "reward.paid" || d["attempts"].([]any)[0].(map[string]any)["status_code"] != 500.0 {
		t.Fatalf("delivery %v", d)
	}
	for q, want := range map[string]int{"failed": 0, "pending": 1} {
		req := request(http.MethodGet, "/admin/webhooks/{id}/deliveries", ep(id), "")
		req.QueryStringParameters = map[string]string{"status": q, "limit": "10"}
		if a := call(t, e.h, req); len(a.body["deliveries"].([]any)) != want {
			t.Errorf("status=%s: %v", q, a.body)
		}
	}
	for _, bad := range []map[string]string{{"status": "lost"}, {"limit": "0"}, {"limit": "101"}, {"cursor": "x"}} {
		req := request(http.MethodGet, "/admin/webhooks/{id}/deliveries", ep(id), "")
		req.QueryStringParameters = bad
		if a := call(t, e.h, req); a.status != 400 || errCode(a) != "invalid_request" {
			t.Errorf("query %v: %d %v", bad, a.status, a.body)
		}
	}
	a = call(t, e.h, request(http.MethodPost, "/admin/webhooks/{id}/deliveries/{delivery_id}/replay", map[string]string{"id": id, "delivery_id": d["id"].(string)}, ""))
	attempts, _ := a.body["attempts"].([]any)
	if a.status != 200 || a.body["status"] != "succeeded" || len(attempts) != 2 || attempts[1].(map[string]any)["trigger"] != "replay" {
		t.Fatalf("replay: %d %v", a.status, a.body)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.got) != 2 || e.verified[1] != nil || e.got[1].Get("webhook-id") != d["id"] {
		t.Fatalf("the receiver got %d deliveries, verification %v", len(e.got), e.verified)
	}
}

func TestWebhookReplayOfFailedDeliveries(t *testing.T) {
	e := newWebhookEnv(t)
	id := e.add(t, `["*"]`)["id"].(string)
	replay := func(body string) answer {
		return call(t, e.h, request(http.MethodPost, "/admin/webhooks/{id}/replay", ep(id), body))
	}
	for _, body := range []string{``, `{}`, `{"since":"yesterday"}`, `{"since":"2026-11-01"}`, `[1]`} {
		if a := replay(body); a.status != 400 || errCode(a) != "invalid_request" {
			t.Errorf("body %q: %d %v", body, a.status, a.body)
		}
	}
	a := replay(`{"since":"2026-11-01T00:00:00Z"}`)
	if a.status != 200 || a.body["replayed"] != 0.0 || a.body["more"] != false {
		t.Fatalf("nothing failed: %d %v", a.status, a.body)
	}
	call(t, e.h, request(http.MethodPatch, "/admin/webhooks/{id}", ep(id), `{"enabled":false}`))
	if a := replay(`{"since":"2026-11-01T00:00:00Z"}`); a.status != http.StatusConflict || errCode(a) != "endpoint_disabled" {
		t.Fatalf("disabled: %d %v", a.status, a.body)
	}
}

// A store failure is 503 (retry), never a 500 or a partial answer.
func TestWebhookStoreFailureIs503(t *testing.T) {
	e := newWebhookEnv(t)
	e.st.FailWrites = errors.New("throttled")
	a := call(t, e.h, request(http.MethodPost, "/admin/webhooks", nil, `{"url":"https://h.example","types":["*"]}`))
	if a.status != http.StatusServiceUnavailable || errCode(a) != "temporarily_unavailable" {
		t.Fatalf("%d %v", a.status, a.body)
	}
	if a := call(t, e.h, request(http.MethodGet, "/admin/webhooks/{id}/nope", ep("x"), "")); a.status != 404 {
		t.Fatalf("unknown webhook route: %d", a.status)
	}
}
