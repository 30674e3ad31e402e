package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
)

// localEvent is one entry of GET /_local/events.
type localEvent struct {
	ID         string          `json:"id"`
	EventBus   string          `json:"event_bus"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail_type"`
	Detail     json.RawMessage `json:"detail"`
	Time       time.Time       `json:"time"`
}

// busEvents is GET /_local/events with query, and the raw body.
func (e *env) busEvents(query url.Values) ([]localEvent, []byte) {
	e.t.Helper()
	resp, err := e.http.Get(e.api + "/_local/events?" + query.Encode())
	if err != nil {
		e.t.Fatalf("GET /_local/events: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET /_local/events = %d %s", resp.StatusCode, body)
	}
	var out []localEvent
	if err := json.Unmarshal(body, &out); err != nil {
		e.t.Fatalf("GET /_local/events: %v: %s", err, body)
	}
	return out, body
}

var eventID = regexp.MustCompile(`^evt_ref_[0-9A-Z]{26}_\d{8}T\d{6}\.\d{3}_[0-9a-f]{12}$`)

// Every domain event a referral's journey records reaches the EventBridge
// bus through the table's stream and PublishFunction: source referflow,
// detail-type the event type, detail exactly the event, with ids, statuses
// and amounts and no trace of the person referred.
func TestEveryRecordedEventIsPublishedToTheBusWithoutPersonalData(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := company(t)
	a := e.refer(email, name)
	e.waitWaiting(a.ReferralID, "qualified")
	if code, b := e.hubspot(hubspotDeal(701, "qualifiedtobuy", a.ReferralID, "24000")); code != http.StatusOK {
		t.Fatalf("qualified webhook = %d %s", code, b)
	}
	e.eventually("qualified reward paid", 30*time.Second, func() (bool, string) {
		_, v, _ := e.status(a)
		st, _ := v.reward("qualified", "referrer")
		return st == "paid", fmt.Sprintf("%+v", v.Rewards)
	})

	// Nothing is lost: every event the table recorded is on the bus.
	stored, err := e.st.Events(context.Background(), a.ReferralID)
	if err != nil || len(stored) < 5 {
		t.Fatalf("stored events = %d, %v", len(stored), err)
	}
	mine := url.Values{"referral_id": {a.ReferralID}}
	var published []localEvent
	e.eventually("every stored event published", 20*time.Second, func() (bool, string) {
		published, _ = e.busEvents(mine)
		seen := map[string]bool{}
		for _, p := range published {
			var d events.Event
			_ = json.Unmarshal(p.Detail, &d)
			seen[d.ID] = true
		}
		var missing []string
		for _, s := range stored {
			if !seen[s.ID] {
				missing = append(missing, string(s.Type)+" "+s.ID)
			}
		}
		return len(missing) == 0, fmt.Sprintf("not published: %v", missing)
	})

	types := map[events.Type]events.Event{}
	for _, p := range published {
		var d events.Event
		if err := json.Unmarshal(p.Detail, &d); err != nil {
			t.Fatalf("detail %s: %v", p.Detail, err)
		}
		if p.Source != "referflow" || p.DetailType != string(d.Type) || p.EventBus != e.stack.EventBuses["EventBus"] || p.ID == "" {
			t.Errorf("published %s on %s from %s as %s (id %q)", d.Type, p.EventBus, p.Source, p.DetailType, p.ID)
		}
		if d.ReferralID != a.ReferralID || d.Version != events.SchemaVersion || !eventID.MatchString(d.ID) || d.At.IsZero() {
			t.Errorf("detail = %s", p.Detail)
		}
		if at := d.At.Truncate(time.Millisecond); !p.Time.Equal(at) && !p.Time.Equal(at.Truncate(time.Second)) {
			t.Errorf("event time %v, detail at %v", p.Time, d.At)
		}
		types[d.Type] = d
	}
	received, ok := types[events.ReferralReceived]
	if !ok || received.Status != "received" || received.Get("referrer_code") != demoCode || received.ProgramID == "" {
		t.Errorf("referral.received = %+v", received)
	}
	for _, want := range []events.Type{events.ReferralVerifying, events.ReferralVerified, events.ReferralDealEvent, events.RewardCreated, events.RewardPaid} {
		if _, ok := types[want]; !ok {
			t.Errorf("no %s published", want)
		}
	}
	if paid := types[events.RewardPaid]; paid.RewardID == "" || paid.Get("amount_minor") != "10000" || paid.Get("currency") == "" {
		t.Errorf("reward.paid = %+v", paid)
	}
	// The bus filters by detail type, newest first.
	only, _ := e.busEvents(url.Values{"referral_id": {a.ReferralID}, "detail_type": {"referral.received"}, "limit": {"5"}})
	if len(only) != 1 || only[0].DetailType != "referral.received" {
		t.Errorf("filtered = %+v", only)
	}

	// No personal data anywhere on the bus (every test's events included).
	_, all := e.busEvents(url.Values{"limit": {"10000"}})
	for _, pii := range []string{email, strings.Split(email, "@")[1], "Jane", "Doe", name, "555 0100", "partner@demo-referrer.example"} {
		if strings.Contains(string(all), pii) {
			t.Errorf("the bus carries %q", pii)
		}
	}

	// The publisher's work is metered: invocations and entries put.
	snap, err := e.stack.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if f := snap.Functions["PublishFunction"]; f == nil || f.Invocations == 0 || f.AWSCalls["events/PutEvents"] == 0 {
		t.Errorf("PublishFunction stats = %+v", f)
	}
	if snap.EventEntries["PublishFunction"] < len(stored) {
		t.Errorf("entries metered = %v, want at least %d", snap.EventEntries, len(stored))
	}
}
