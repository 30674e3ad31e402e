package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/stdwebhooks"
)

// hookReceiver is an operator's webhook endpoint on loopback: it verifies
// every delivery with the Standard Webhooks verifier, answers 500 to the
// first one and 204 to the others, and keeps what it got.
type hookReceiver struct {
	srv *httptest.Server

	mu     sync.Mutex
	secret string
	got    []hookDelivery
}

type hookDelivery struct {
	id, timestamp string
	body          []byte
	verified      error
	status        int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		d := hookDelivery{id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"), body: body, status: http.StatusNoContent}
		v, err := stdwebhooks.NewVerifier([]string{r.secret}, 0, time.Now)
		if d.verified = err; err == nil {
			d.verified = v.Verify(req.Header, body)
		}
		if len(r.got) == 0 {
			d.status = http.StatusInternalServerError
		}
		r.got = append(r.got, d)
		w.WriteHeader(d.status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) deliveries() []hookDelivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookDelivery(nil), r.got...)
}

// An operator registers an endpoint; a referral's referral.received event
// reaches it through the bus, signed; the endpoint fails the first attempt
// and the retry schedule (shortened here) delivers it again, with the same
// webhook-id and a new signature, until it answers 2xx.
func TestOutboundWebhookIsSignedAndRetriedUntilTheEndpointTakesIt(t *testing.T) {
	t.Parallel()
	rcv := newHookReceiver(t)
	e := start(t, map[string]string{
		"REFERFLOW_LOCAL_ENV_REFERFLOW_WEBHOOK_RETRY_SCHEDULE": "1s,1s,2s",
		"REFERFLOW_LOCAL_SCHEDULE_SECONDS":                     "1",
	})
	status, ep := e.admin(http.MethodPost, "/admin/webhooks", adminToken, map[string]any{
		"url": rcv.srv.URL + "/hooks/referflow", "types": []string{"referral.received"}, "description": "e2e"})
	secret, _ := ep["secret"].(string)
	id, _ := ep["id"].(string)
	if status != http.StatusCreated || !strings.HasPrefix(secret, "whsec_") || id == "" {
		t.Fatalf("POST /admin/webhooks = %d %v", status, ep)
	}
	rcv.mu.Lock()
	rcv.secret = secret
	rcv.mu.Unlock()

	name, email := company(t)
	a := e.refer(email, name)
	var got []hookDelivery
	e.eventually("the delivery taken on a retry", 60*time.Second, func() (bool, string) {
		got = rcv.deliveries()
		return len(got) >= 2 && got[len(got)-1].status == http.StatusNoContent, fmt.Sprintf("%d deliveries", len(got))
	})
	for i, d := range got {
		if d.verified != nil {
			t.Errorf("delivery %d does not verify: %v", i, d.verified)
		}
		if d.id != got[0].id || !strings.HasPrefix(d.id, "msg_") {
			t.Errorf("delivery %d has webhook-id %q, the first %q", i, d.id, got[0].id)
		}
		var body struct {
			Type string       `json:"type"`
			Data events.Event `json:"data"`
		}
		if err := json.Unmarshal(d.body, &body); err != nil || body.Type != "referral.received" || body.Data.ReferralID != a.ReferralID || body.Data.ID == "" {
			t.Errorf("delivery %d body %s (%v)", i, d.body, err)
		}
		for _, pii := range []string{email, name, "Jane Doe", "555 0100"} {
			if strings.Contains(strings.ToLower(string(d.body)), strings.ToLower(pii)) {
				t.Errorf("delivery %d carries personal data %q", i, pii)
			}
		}
	}
	if len(got) != 2 {
		t.Errorf("%d deliveries, want 2 (one failed attempt, one retry): once per event", len(got))
	}

	// The delivery's log, as an operator sees it.
	status, page := e.admin(http.MethodGet, "/admin/webhooks/"+id+"/deliveries?status=succeeded", adminToken, nil)
	ds, _ := page["deliveries"].([]any)
	if status != http.StatusOK || len(ds) != 1 {
		t.Fatalf("GET deliveries = %d %v", status, page)
	}
	d := ds[0].(map[string]any)
	attempts, _ := d["attempts"].([]any)
	if d["id"] != got[0].id || len(attempts) != 2 ||
		attempts[0].(map[string]any)["status_code"] != 500.0 || attempts[0].(map[string]any)["trigger"] != "first" ||
		attempts[1].(map[string]any)["status_code"] != 204.0 || attempts[1].(map[string]any)["trigger"] != "retry" {
		t.Fatalf("delivery log %v", d)
	}

	// A replay is one more attempt, at once, signed anew.
	status, replayed := e.admin(http.MethodPost, "/admin/webhooks/"+id+"/deliveries/"+got[0].id+"/replay", adminToken, nil)
	if after := rcv.deliveries(); status != http.StatusOK || replayed["status"] != "succeeded" || len(after) != 3 || after[2].verified != nil || after[2].id != got[0].id {
		t.Fatalf("replay = %d %v (%d deliveries)", status, replayed, len(after))
	}
}
