package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/fakes"
	"github.com/referflow/referflow/infra/local/stack"
	"github.com/referflow/referflow/internal/crm/hubspot"
)

// hubspotV1 sends a HubSpot delivery signed with v1 (the Webhooks API's
// signature for apps that have not moved to v3).
func (e *env) hubspotV1(body []byte) (int, []byte) {
	e.t.Helper()
	status, b, _ := e.post("/webhooks/hubspot", "application/json", body, map[string]string{
		hubspot.HeaderSignature:        hubspot.SignV1(hubspotSecret, body),
		hubspot.HeaderSignatureVersion: "v1",
	})
	return status, b
}

// assertHermetic checks that no function tried to leave the machine.
func (e *env) assertHermetic() {
	e.t.Helper()
	attempts, err := e.stack.Egress()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range attempts {
		e.t.Errorf("%s tried %s %s%s outside the machine", a.Caller, a.Method, a.Host, a.Path)
	}
}

// The stack as `make run` starts it (no API URL given): HubSpot
// Webhooks-API deliveries, which carry only a deal id, are looked up in the
// stack's own fake of the CRM API. A batch about a deal nobody referred,
// signed v3 or v1, is answered 200 untracked at once (it was 503 after
// 11 s: the webhook called the real HubSpot API with a placeholder token),
// a referred deal put into the fake through /_local/hubspot/deals is
// linked by its contact's email and completes the referral, and no
// function's HTTP left the machine.
func TestHubSpotWebhooksAPIUsesTheStacksFake(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	for _, tc := range []struct {
		name string
		send func([]byte) (int, []byte)
		body []byte
	}{
		{"v3", e.hubspot, hubspotStage(12001, 1299, "closedwon")},
		{"v1", e.hubspotV1, hubspotStage(12002, 1298, "qualifiedtobuy")},
	} {
		began := time.Now()
		code, b := tc.send(tc.body)
		if took := time.Since(began); code != http.StatusOK || !strings.Contains(string(b), `"untracked":1`) || took > 5*time.Second {
			t.Errorf("unknown deal, signed %s = %d %s after %s; want 200 untracked within 5s", tc.name, code, b, took.Round(time.Millisecond))
		}
	}
	looked, err := e.stack.FakeRequests("hubspot")
	if err != nil || looked == 0 {
		t.Fatalf("the stack's HubSpot fake answered %d requests (%v): the deals were not looked up there", looked, err)
	}

	name, email := company(t)
	a := e.refer(email, name)
	if err := e.stack.AddHubSpotDeal(fakes.HubSpotDeal{ID: "1301", Pipeline: "default", Stage: "qualifiedtobuy", Amount: "30000", Currency: "USD",
		Contacts: []fakes.HubSpotContact{{ID: "401", Email: email}}}); err != nil {
		t.Fatal(err)
	}
	e.waitWaiting(a.ReferralID, "qualified")
	if code, b := e.hubspot(hubspotStage(12003, 1301, "qualifiedtobuy")); code != http.StatusOK || !strings.Contains(string(b), `"milestone":1`) {
		t.Fatalf("qualified = %d %s", code, b)
	}
	e.waitWaiting(a.ReferralID, "won")
	if code, b := e.hubspotV1(hubspotStage(12004, 1301, "closedwon")); code != http.StatusOK {
		t.Fatalf("won = %d %s", code, b)
	}
	e.waitStatus(a, "completed", 30*time.Second)
	e.assertHermetic()
}

// The HTTP front answers 503 temporarily_unavailable, in the API's JSON
// error shape, until the programs and the demo referrer are loaded (it
// answered 400 unknown_referrer: the port served requests during the seed).
// The stack runs in this process so the request is made, deterministically,
// from inside the seed hook, before anything is loaded.
func TestAPIAnswers503UntilReady(t *testing.T) {
	t.Parallel()
	early := make(chan string, 1)
	s := runInProcess(t, func(ctx context.Context, s *stack.Stack) error {
		code, b, hdr := postDemoReferral(s.APIURL, "early")
		early <- fmt.Sprintf("%d %s %s %s", code, hdr.Get("Content-Type"), hdr.Get("Retry-After"), b)
		return seedDemo(ctx, s)
	})
	got := <-early
	if !strings.HasPrefix(got, `503 application/json 5 {"error":{"code":"temporarily_unavailable","message":`) {
		t.Errorf("POST /referrals before READY = %s; want 503 temporarily_unavailable", got)
	}
	if code, b, _ := postDemoReferral(s.APIURL, "after"); code != http.StatusAccepted {
		t.Errorf("POST /referrals after READY = %d %s", code, b)
	}
}

// A caller who exported their own REFERFLOW_* values (for `make run`: a
// real HubSpot secret, a fault plan, short deadlines, a URL override) still
// gets passing tests: localtest drops them and the tests set every setting
// they rely on. Before, the stack took them over: deliveries signed with
// the local secrets answered 401.
func TestCallersREFERFLOWVariablesDoNotReachTheStack(t *testing.T) {
	for _, s := range stack.Settings {
		t.Setenv(s.Name, "hostile-"+strings.ToLower(s.Name))
	}
	for k, v := range map[string]string{
		"REFERFLOW_LOCAL_FAULTS":                        "not a fault plan",
		"REFERFLOW_LOCAL_HOLD_SECONDS":                  "3600",
		"REFERFLOW_LOCAL_DEADLINE_SECONDS":              "1",
		"REFERFLOW_LOCAL_SCHEDULE_SECONDS":              "nope",
		"REFERFLOW_LOCAL_ENV_REFERFLOW_HUBSPOT_API_URL": "https://api.hubapi.com",
		"REFERFLOW_LOCAL_ENV_REFERFLOW_TABLE":           "hostile-table",
		"REFERFLOW_DEMO_REFERRER_CODE":                  "HOSTILE",
		"REFERFLOW_HUBSPOT_REQUIRE_V3":                  "true",
		"PORT":                                          "1",
	} {
		t.Setenv(k, v)
	}
	e := start(t, nil)
	name, email := company(t)
	a := e.refer(email, name)
	if err := e.stack.AddHubSpotDeal(fakes.HubSpotDeal{ID: "1401", Pipeline: "default", Stage: "qualifiedtobuy",
		Contacts: []fakes.HubSpotContact{{ID: "501", Email: email}}}); err != nil {
		t.Fatal(err)
	}
	e.waitWaiting(a.ReferralID, "qualified")
	if code, b := e.hubspotV1(hubspotStage(14001, 1401, "qualifiedtobuy")); code != http.StatusOK || !strings.Contains(string(b), `"milestone":1`) {
		t.Fatalf("HubSpot (v1, looked up in the fake) = %d %s", code, b)
	}
	e.waitWaiting(a.ReferralID, "won")
	if code, b := e.hubspot(hubspotDeal(1401, "closedwon", a.ReferralID, "30000")); code != http.StatusOK {
		t.Fatalf("HubSpot won = %d %s", code, b)
	}
	e.waitStatus(a, "completed", 30*time.Second)
	if v := e.adminView(a.ReferralID); v.Status != "completed" {
		t.Errorf("admin view = %+v", v)
	}
	if code, b := e.pipedriveDeal("pd-hostile-1", 990001, "open", 1, "", "open"); code != http.StatusOK {
		t.Errorf("Pipedrive = %d %s", code, b)
	}
	if code, b := e.salesforce("04l000000000099AAA", "006000000000099AAA", "Prospecting", false, false, ""); code != http.StatusOK {
		t.Errorf("Salesforce = %d %s", code, b)
	}
	if code, b := e.genericEvent("evt-hostile-1", map[string]any{"crm_record_id": "g-hostile-1", "stage": "won"}); code != http.StatusOK {
		t.Errorf("generic = %d %s", code, b)
	}
	e.assertHermetic()
}
