package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/referflow/referflow/infra/local/localtest"
	"github.com/referflow/referflow/infra/seed"
	"github.com/referflow/referflow/internal/crm/generic"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/crm/pipedrive"
	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	localtest.RemoveBuilds()
	if code != 0 {
		panic(fmt.Sprintf("e2e tests failed (exit %d)", code))
	}
}

// env is one running stack and clients for it.
type env struct {
	t     *testing.T
	stack *localtest.Stack
	api   string
	st    *store.Store
	db    *dynamodb.Client
	sfn   *sfn.Client
	http  *http.Client
}

// start brings up a stack for one test. Holds are 2 s unless extra says
// otherwise; extra adds stack environment (settings, REFERFLOW_LOCAL_*).
func start(t *testing.T, extra map[string]string) *env {
	t.Helper()
	vars := stackVars(map[string]string{"REFERFLOW_LOCAL_HOLD_SECONDS": "2"})
	for k, v := range extra {
		vars[k] = v
	}
	s := localtest.Start(t, localtest.Options{Env: vars})
	cfg := s.AWSConfig()
	db := dynamodb.NewFromConfig(cfg)
	return &env{
		t: t, stack: s, api: s.API, db: db,
		st:   store.New(db, s.Tables["Table"]).WithKeys(localKeys),
		sfn:  sfn.NewFromConfig(cfg),
		http: &http.Client{Timeout: 20 * time.Second},
	}
}

var seq atomic.Int64

// company returns a unique referee company and email for a test.
func company(t *testing.T) (name, email string) {
	n := seq.Add(1)
	slug := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	return fmt.Sprintf("Acme %d", n), fmt.Sprintf("jane.doe@%s-%d.example", slug, n)
}

// post sends a request and returns the status, the body and the headers.
func (e *env) post(path, contentType string, body []byte, headers map[string]string) (int, []byte, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.api+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// accepted is the 202 answer of POST /referrals.
type accepted struct {
	ReferralID string `json:"referral_id"`
	Status     string `json:"status"`
	StatusURL  string `json:"status_url"`
}

// refer submits a referral from the demo referrer and expects 202, then
// records the new customer's Stripe customer as its payee, as a deployment's
// integration does: the default program pays the new customer's discount
// through Stripe (referNoPayee leaves it without one).
func (e *env) refer(email, companyName string) accepted {
	e.t.Helper()
	a := e.referTo("", demoCode, email, companyName)
	pay := &payees.Service{Store: e.st, Now: time.Now}
	if _, err := pay.SetReferee(context.Background(), a.ReferralID, payees.Payee{Method: payees.MethodStripe,
		Details: payees.Details{Customer: "cus_E2E" + strings.TrimPrefix(a.ReferralID, "ref_")}}, "e2e"); err != nil {
		e.t.Fatalf("record the new customer's payee: %v", err)
	}
	return a
}

// referNoPayee submits a referral from the demo referrer, its new customer
// without a payout method.
func (e *env) referNoPayee(email, companyName string) accepted {
	e.t.Helper()
	return e.referTo("", demoCode, email, companyName)
}

func (e *env) referTo(programID, code, email, companyName string) accepted {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"program": programID, "referrer_code": code, "referee_email": email,
		"referee_name": "Jane Doe", "referee_company": companyName, "referee_phone": "+1 555 0100"})
	status, b, _ := e.post("/referrals", "application/json", body, nil)
	if status != http.StatusAccepted {
		e.t.Fatalf("POST /referrals = %d %s", status, b)
	}
	var a accepted
	if err := json.Unmarshal(b, &a); err != nil || a.ReferralID == "" {
		e.t.Fatalf("202 body %s: %v", b, err)
	}
	// Invariant 5 for every referral a test makes: once the test is done
	// (cleanups run before the stack's own, registered earlier, stops it),
	// its execution history must hold none of the person's data.
	e.t.Cleanup(func() {
		if e.execExists(a.ReferralID) {
			e.assertNoPersonalData(a.ReferralID, email, "Jane Doe", companyName, "555 0100")
		}
	})
	return a
}

// execExists reports whether the referral's execution was started.
func (e *env) execExists(id string) bool {
	_, err := e.sfn.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(e.executionARN(id))})
	return err == nil
}

// view is GET /referrals/{id}.
type view struct {
	ReferralID string `json:"referral_id"`
	Program    string `json:"program"`
	Status     string `json:"status"`
	Milestones []struct {
		Name      string     `json:"name"`
		ReachedAt *time.Time `json:"reached_at"`
	} `json:"milestones"`
	Rewards []struct {
		Milestone   string `json:"milestone"`
		Party       string `json:"party"`
		Kind        string `json:"kind"`
		Amount      string `json:"amount"`
		AmountMinor int64  `json:"amount_minor"`
		Currency    string `json:"currency"`
		Status      string `json:"status"`
	} `json:"rewards"`
}

func (v view) reward(milestone, party string) (status string, amount int64) {
	for _, r := range v.Rewards {
		if r.Milestone == milestone && r.Party == party {
			return r.Status, r.AmountMinor
		}
	}
	return "", 0
}

func (v view) reached(name string) bool {
	for _, m := range v.Milestones {
		if m.Name == name {
			return m.ReachedAt != nil
		}
	}
	return false
}

func (e *env) status(a accepted) (int, view, []byte) {
	e.t.Helper()
	resp, err := e.http.Get(e.api + a.StatusURL)
	if err != nil {
		e.t.Fatalf("GET %s: %v", a.StatusURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v view
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &v); err != nil {
			e.t.Fatalf("status body %s: %v", b, err)
		}
	}
	return resp.StatusCode, v, b
}

// eventually polls cond every 200 ms until it holds or timeout passes.
func (e *env) eventually(what string, timeout time.Duration, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, what, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitStatus waits until the referral has status want.
func (e *env) waitStatus(a accepted, want string, timeout time.Duration) view {
	e.t.Helper()
	var v view
	e.eventually(a.ReferralID+" "+want, timeout, func() (bool, string) {
		_, v, _ = e.status(a)
		return v.Status == want, fmt.Sprintf("status %q, rewards %+v", v.Status, v.Rewards)
	})
	return v
}

// waitWaiting waits until the workflow waits for milestone (its token is stored).
func (e *env) waitWaiting(id, milestone string) {
	e.t.Helper()
	e.eventually(id+" waiting for "+milestone, 30*time.Second, func() (bool, string) {
		r, err := e.st.Waiting(context.Background(), id)
		if err != nil {
			return false, err.Error()
		}
		return r.WaitMilestone == milestone && r.WaitToken != "", fmt.Sprintf("status %s, waiting for %q", r.Status, r.WaitMilestone)
	})
}

// hubspot sends a HubSpot delivery signed with v3 at time ts.
func (e *env) hubspotAt(body []byte, ts time.Time, secret string) (int, []byte) {
	e.t.Helper()
	u := e.api + "/webhooks/hubspot"
	sig := hubspot.SignV3(secret, http.MethodPost, u, body, ts)
	status, b, _ := e.post("/webhooks/hubspot", "application/json", body, map[string]string{
		"X-HubSpot-Signature-v3":      sig,
		"X-HubSpot-Request-Timestamp": fmt.Sprint(ts.UnixMilli()),
	})
	return status, b
}

func (e *env) hubspot(body []byte) (int, []byte) {
	e.t.Helper()
	return e.hubspotAt(body, time.Now(), hubspotSecret)
}

// hubspotDeal is a HubSpot workflow webhook body for a deal.
func hubspotDeal(dealID int, stage, referralID, amount string) []byte {
	props := map[string]any{"dealstage": map[string]string{"value": stage}, "pipeline": map[string]string{"value": "default"}}
	if referralID != "" {
		props["referral_id"] = map[string]string{"value": referralID}
	}
	if amount != "" {
		props["amount"] = map[string]string{"value": amount}
	}
	b, _ := json.Marshal(map[string]any{"objectId": dealID, "properties": props})
	return b
}

// hubspotStage is a Webhooks API batch with one dealstage change.
func hubspotStage(eventID, dealID int, stage string) []byte {
	b, _ := json.Marshal([]map[string]any{{
		"eventId": eventID, "subscriptionId": 1, "portalId": 62515, "appId": 1,
		"occurredAt": time.Now().UnixMilli(), "subscriptionType": "deal.propertyChange", "attemptNumber": 0,
		"objectId": dealID, "propertyName": "dealstage", "propertyValue": stage, "changeSource": "CRM_UI",
	}})
	return b
}

// genericEvent sends a Standard Webhooks deal.stage_changed delivery.
func (e *env) genericEvent(id string, data map[string]any) (int, []byte) {
	e.t.Helper()
	return e.genericTyped(id, "deal.stage_changed", data)
}

// genericTyped sends a Standard Webhooks delivery of any type.
func (e *env) genericTyped(id, typ string, data map[string]any) (int, []byte) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"type": typ, "data": data})
	ts := time.Now()
	status, b, _ := e.post("/webhooks/generic", "application/json", body, map[string]string{
		"webhook-id": id, "webhook-timestamp": fmt.Sprint(ts.Unix()),
		"webhook-signature": generic.Sign(webhookSecret, id, ts, body),
	})
	return status, b
}

// pipedriveDeal sends a Pipedrive webhooks v2 delivery.
func (e *env) pipedriveDeal(eventID string, dealID int, status string, stageID int, referralID string, prevStatus string) (int, []byte) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"meta": map[string]any{"action": "change", "entity": "deal", "version": "2.0", "company_id": 1, "id": eventID,
			"entity_id": dealID, "webhook_id": "7", "attempt": 1, "host": "acme.pipedrive.com", "timestamp": time.Now().Unix(), "change_source": "app"},
		"data": map[string]any{"id": dealID, "status": status, "stage_id": stageID, "pipeline_id": 1, "value": 24000, "currency": "USD",
			"custom_fields": map[string]any{"referral_id": map[string]any{"type": "varchar", "value": referralID}}},
		"previous": map[string]any{"status": prevStatus},
	})
	code, b, _ := e.post("/webhooks/pipedrive", "application/json", body, map[string]string{"Authorization": pipedrive.BasicAuth(pipedriveUser, pipedrivePassword)})
	return code, b
}

// salesforce sends an Outbound Message for one Opportunity.
func (e *env) salesforce(notificationID, oppID, stage string, won, closed bool, referralID string) (int, []byte) {
	e.t.Helper()
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>%s</OrganizationId>
   <ActionId>04k000000000001AAA</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/60.0/00D000000000001</EnterpriseUrl>
   <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/60.0/00D000000000001</PartnerUrl>
   <Notification>
    <Id>%s</Id>
    <sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>%s</sf:Id>
     <sf:Amount>24000.0</sf:Amount>
     <sf:IsClosed>%t</sf:IsClosed>
     <sf:IsWon>%t</sf:IsWon>
     <sf:Referral_Id__c>%s</sf:Referral_Id__c>
     <sf:StageName>%s</sf:StageName>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>`, salesforceOrg, notificationID, oppID, closed, won, referralID, stage)
	status, b, _ := e.post("/webhooks/salesforce?token="+url.QueryEscape(salesforceToken), "text/xml; charset=utf-8", []byte(body), map[string]string{"SOAPAction": `""`})
	return status, b
}

// executionARN is the execution of a referral (named after it).
func (e *env) executionARN(id string) string {
	sm := e.stack.StateMachines["ReferralWorkflow"]
	return strings.Replace(sm, ":stateMachine:", ":execution:", 1) + ":" + id
}

// history returns the execution's full history.
func (e *env) history(id string) []sfntypes.HistoryEvent {
	e.t.Helper()
	var out []sfntypes.HistoryEvent
	in := &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(e.executionARN(id)), IncludeExecutionData: aws.Bool(true)}
	for {
		page, err := e.sfn.GetExecutionHistory(context.Background(), in)
		if err != nil {
			e.t.Fatalf("GetExecutionHistory(%s): %v", id, err)
		}
		out = append(out, page.Events...)
		if page.NextToken == nil {
			return out
		}
		in.NextToken = page.NextToken
	}
}

// statesEntered lists the states the execution entered, in order.
func (e *env) statesEntered(id string) []string {
	var names []string
	for _, ev := range e.history(id) {
		if d := ev.StateEnteredEventDetails; d != nil {
			names = append(names, aws.ToString(d.Name))
		}
	}
	return names
}

// execStatus is the execution's status.
func (e *env) execStatus(id string) sfntypes.ExecutionStatus {
	out, err := e.sfn.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(e.executionARN(id))})
	if err != nil {
		e.t.Fatalf("DescribeExecution(%s): %v", id, err)
	}
	return out.Status
}

// assertNoPersonalData checks invariant 5: the execution history (inputs,
// outputs, task payloads) carries none of the referral's personal data.
func (e *env) assertNoPersonalData(id string, pii ...string) {
	e.t.Helper()
	raw, _ := json.Marshal(e.history(id))
	text := strings.ToLower(string(raw))
	for _, p := range pii {
		if p != "" && strings.Contains(text, strings.ToLower(p)) {
			e.t.Errorf("execution history of %s contains personal data %q", id, p)
		}
	}
}

// ledger returns the ledger entries of a referral's rewards.
func (e *env) ledgerEntries(id string) []rewards.Entry {
	e.t.Helper()
	rws, err := e.st.Rewards(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []rewards.Entry
	for _, r := range rws {
		entries, err := e.st.LedgerEntries(context.Background(), r.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, entries...)
	}
	return out
}

// publish loads a program made by a test into the stack's table.
func (e *env) publish(yaml string, o seed.Overrides) {
	e.t.Helper()
	if _, err := seed.PublishProgram(context.Background(), e.st, []byte(yaml), o, time.Now()); err != nil {
		e.t.Fatalf("publish program: %v", err)
	}
}

// addReferrer adds a referrer to a program.
func (e *env) addReferrer(programID, code, email string) {
	e.t.Helper()
	if err := seed.AddReferrer(context.Background(), e.st, referral.Referrer{ProgramID: programID, Code: code, Email: email}, time.Now()); err != nil {
		e.t.Fatal(err)
	}
}
