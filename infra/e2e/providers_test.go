package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/crm/hubspot/hubspottest"
)

// HubSpot's Webhooks API sends only the deal id: the webhook looks the deal
// and its contact up through the CRM API (a local fake), links it by the
// referee's email, and never looks the same deal up again.
func TestHubSpotDealLookedUpOnceThroughTheCRMAPI(t *testing.T) {
	t.Parallel()
	crmAPI := hubspottest.NewServer()
	t.Cleanup(crmAPI.Close)
	crmAPI.RequireToken("local-hubspot-access-token")
	e := start(t, map[string]string{"REFERFLOW_LOCAL_ENV_REFERFLOW_HUBSPOT_API_URL": crmAPI.URL})
	name, email := company(t)
	a := e.refer(email, name)
	crmAPI.AddContact("301", email)
	crmAPI.AddDeal(hubspottest.Deal{ID: "1101", Pipeline: "default", Stage: "qualifiedtobuy", Amount: "30000", Currency: "USD", ContactIDs: []string{"301"}})
	e.waitWaiting(a.ReferralID, "qualified")

	if code, b := e.hubspot(hubspotStage(11001, 1101, "qualifiedtobuy")); code != http.StatusOK || !strings.Contains(string(b), `"milestone":1`) {
		t.Fatalf("qualified = %d %s", code, b)
	}
	lookups := crmAPI.Requests()
	if lookups == 0 {
		t.Fatal("the deal was linked without a CRM look-up?")
	}
	e.waitWaiting(a.ReferralID, "won")
	// Won, delivered twice at once and once more out of order with an
	// older stage: the stored link answers, with no further look-up.
	var wg sync.WaitGroup
	for _, body := range [][]byte{hubspotStage(11002, 1101, "closedwon"), hubspotStage(11002, 1101, "closedwon"), hubspotStage(11000, 1101, "appointmentscheduled")} {
		wg.Add(1)
		go func(b []byte) {
			defer wg.Done()
			if code, out := e.hubspot(b); code != http.StatusOK {
				t.Errorf("delivery = %d %s", code, out)
			}
		}(body)
	}
	wg.Wait()
	v := e.waitStatus(a, "completed", 30*time.Second)
	if got := crmAPI.Requests(); got != lookups {
		t.Errorf("CRM API requests went from %d to %d: a linked deal was looked up again", lookups, got)
	}
	if len(v.Rewards) != 3 || len(e.ledgerEntries(a.ReferralID)) != 3 {
		t.Errorf("rewards = %+v", v.Rewards)
	}
	// A deal nobody referred: answered 200 and counted as untracked.
	crmAPI.AddDeal(hubspottest.Deal{ID: "1199", Pipeline: "default", Stage: "closedwon"})
	if code, b := e.hubspot(hubspotStage(11099, 1199, "closedwon")); code != http.StatusOK || !strings.Contains(string(b), `"untracked":1`) {
		t.Errorf("untracked deal = %d %s", code, b)
	}
	// HubSpot's API failing is transient: 503 so HubSpot retries.
	crmAPI.FailAll(http.StatusBadGateway)
	if code, b := e.hubspot(hubspotStage(11098, 1198, "closedwon")); code != http.StatusServiceUnavailable {
		t.Errorf("CRM API down = %d %s, want 503", code, b)
	}
}

func TestSalesforceOutboundMessagesToPaidReward(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := company(t)
	a := e.refer(email, name)
	e.waitWaiting(a.ReferralID, "qualified")
	ack := "<Ack>true</Ack>"
	code, b := e.salesforce("04l000000000001AAA", "006000000000001AAA", "Qualification", false, false, a.ReferralID)
	if code != http.StatusOK || !strings.Contains(string(b), ack) {
		t.Fatalf("qualification = %d %s", code, b)
	}
	e.waitWaiting(a.ReferralID, "won")
	// Redelivered (no Ack reached Salesforce): acknowledged again, applied once.
	for i := 0; i < 2; i++ {
		code, b = e.salesforce("04l000000000002AAA", "006000000000001AAA", "Closed Won", true, true, a.ReferralID)
		if code != http.StatusOK || !strings.Contains(string(b), ack) {
			t.Fatalf("closed won #%d = %d %s", i, code, b)
		}
	}
	v := e.waitStatus(a, "completed", 30*time.Second)
	if len(v.Rewards) != 3 || len(e.ledgerEntries(a.ReferralID)) != 3 {
		t.Errorf("rewards = %+v", v.Rewards)
	}
	// Wrong token: 401, nothing acknowledged.
	status, body, _ := e.post("/webhooks/salesforce?token=wrong", "text/xml", []byte("<x/>"), nil)
	if status != http.StatusUnauthorized || strings.Contains(string(body), ack) {
		t.Errorf("wrong token = %d %s", status, body)
	}
}

func TestPipedriveWonDealToPaidReward(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := company(t)
	a := e.refer(email, name)
	e.waitWaiting(a.ReferralID, "qualified")
	// Won implies qualified in the default program: one event pays both.
	if code, b := e.pipedriveDeal("evt-1", 42, "won", 5, a.ReferralID, "open"); code != http.StatusOK {
		t.Fatalf("won = %d %s", code, b)
	}
	v := e.waitStatus(a, "completed", 40*time.Second)
	if !v.reached("qualified") || !v.reached("won") || len(v.Rewards) != 3 {
		t.Errorf("view = %+v", v)
	}
	// A lost deal on another referral ends it.
	name2, email2 := company(t)
	b2 := e.refer(email2, name2)
	e.waitWaiting(b2.ReferralID, "qualified")
	if code, b := e.pipedriveDeal("evt-2", 43, "lost", 5, b2.ReferralID, "open"); code != http.StatusOK {
		t.Fatalf("lost = %d %s", code, b)
	}
	e.waitStatus(b2, "lost", 30*time.Second)
	// Wrong credentials: 401.
	status, body, _ := e.post("/webhooks/pipedrive", "application/json", []byte(`{}`), map[string]string{"Authorization": "Basic cGlwZWRyaXZlOndyb25n"})
	if status != http.StatusUnauthorized {
		t.Errorf("wrong password = %d %s", status, body)
	}
}

func TestGenericSignedWebhooksToPaidReward(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := company(t)
	a := e.refer(email, name)
	e.waitWaiting(a.ReferralID, "qualified")
	// Linked by the referee's email; the milestone name is the stage.
	if code, b := e.genericEvent("msg_q1", map[string]any{"referee_email": email, "crm_record_id": "zoho-77", "stage": "qualified"}); code != http.StatusOK {
		t.Fatalf("qualified = %d %s", code, b)
	}
	e.waitWaiting(a.ReferralID, "won")
	// Later events need only the CRM record id: the link was stored.
	if code, b := e.genericEvent("msg_w1", map[string]any{"crm_record_id": "zoho-77", "stage": "won", "amount": 18000, "currency": "USD"}); code != http.StatusOK {
		t.Fatalf("won = %d %s", code, b)
	}
	v := e.waitStatus(a, "completed", 30*time.Second)
	if len(v.Rewards) != 3 {
		t.Errorf("rewards = %+v", v.Rewards)
	}
	r, _ := e.st.Referral(context.Background(), a.ReferralID)
	if r.DealAmountMinor != 1800000 || r.CRMRecordID != "zoho-77" {
		t.Errorf("deal facts: amount %d record %q", r.DealAmountMinor, r.CRMRecordID)
	}
	// Missing stage: 400 naming the field, nothing written.
	code, b := e.genericEvent("msg_bad", map[string]any{"referral_id": a.ReferralID})
	if code != http.StatusBadRequest || !strings.Contains(string(b), "stage") {
		t.Errorf("no stage = %d %s", code, b)
	}
	if state, _, _ := storetest.EventOutcome(context.Background(), e.db, e.st.Table(), "generic", "msg_bad"); state != "" {
		t.Errorf("a rejected event was recorded: %q", state)
	}
}

// A refund after the sale was paid: the paid rewards are never changed, the
// ledger gets one reversal per won reward (however often the refund is
// reported), and the qualified bonus paid earlier stays.
func TestRefundAfterPayoutReversesTheSaleInTheLedger(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := company(t)
	a := e.refer(email, name)
	e.waitWaiting(a.ReferralID, "qualified")
	if code, b := e.genericEvent("msg_won", map[string]any{"referral_id": a.ReferralID, "crm_record_id": "inv-1", "stage": "won"}); code != http.StatusOK {
		t.Fatalf("won = %d %s", code, b)
	}
	e.waitStatus(a, "completed", 40*time.Second)
	for _, id := range []string{"msg_refund", "msg_refund_again"} {
		code, b := e.genericTyped(id, "deal.refunded", map[string]any{"crm_record_id": "inv-1"})
		if code != http.StatusOK || !strings.Contains(string(b), `"refunded":1`) {
			t.Fatalf("%s = %d %s", id, code, b)
		}
	}
	var reversals, sum int64
	for _, en := range e.ledgerEntries(a.ReferralID) {
		sum += en.AmountMinor
		if en.Type == "reversal" {
			reversals++
			if en.Milestone != "won" {
				t.Errorf("reversed a %s reward", en.Milestone)
			}
		}
	}
	if reversals != 2 || sum != 10000 {
		t.Fatalf("%d reversals, ledger sum %d; want 2 reversals leaving the 100.00 qualified bonus", reversals, sum)
	}
	_, v, _ := e.status(a)
	for _, r := range v.Rewards {
		if r.Status != "paid" {
			t.Errorf("a paid reward changed: %+v", r)
		}
	}
}
