package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/infra/seed"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// The whole journey of the default program: form → verified → qualified
// (referrer paid at once) → won → hold → referrer and new customer paid.
func TestHappyPathPaysBothSidesAfterTheHold(t *testing.T) {
	t.Parallel()
	e := start(t, map[string]string{"REFERFLOW_LOCAL_HOLD_SECONDS": "3"})
	name, email := company(t)
	a := e.refer(email, name)
	e.waitWaiting(a.ReferralID, "qualified")

	// HubSpot workflow webhook: links deal 501 to the referral and qualifies it.
	if code, b := e.hubspot(hubspotDeal(501, "qualifiedtobuy", a.ReferralID, "24000")); code != http.StatusOK {
		t.Fatalf("qualified webhook = %d %s", code, b)
	}
	e.eventually("qualified reward paid", 30*time.Second, func() (bool, string) {
		_, v, _ := e.status(a)
		st, amt := v.reward("qualified", "referrer")
		return st == "paid" && amt == 10000, fmt.Sprintf("%+v", v.Rewards)
	})
	e.waitWaiting(a.ReferralID, "won")

	// Webhooks API: only the deal id; the stored link finds the referral.
	if code, b := e.hubspot(hubspotStage(9001, 501, "closedwon")); code != http.StatusOK {
		t.Fatalf("won webhook = %d %s", code, b)
	}
	e.eventually("won rewards on hold", 20*time.Second, func() (bool, string) {
		_, v, _ := e.status(a)
		s1, _ := v.reward("won", "referrer")
		s2, _ := v.reward("won", "referee")
		return s1 == "on_hold" && s2 == "on_hold", fmt.Sprintf("%+v", v.Rewards)
	})
	v := e.waitStatus(a, "completed", 30*time.Second)
	for _, want := range []struct {
		milestone, party string
		amount           int64
	}{{"qualified", "referrer", 10000}, {"won", "referrer", 50000}, {"won", "referee", 100000}} {
		if st, amt := v.reward(want.milestone, want.party); st != "paid" || amt != want.amount {
			t.Errorf("%s/%s reward = %s %d, want paid %d", want.milestone, want.party, st, amt, want.amount)
		}
	}
	if len(v.Rewards) != 3 || !v.reached("qualified") || !v.reached("won") {
		t.Errorf("status view = %+v", v)
	}
	entries := e.ledgerEntries(a.ReferralID)
	if len(entries) != 3 {
		t.Fatalf("ledger has %d entries, want 3: %+v", len(entries), entries)
	}
	if got := e.execStatus(a.ReferralID); got != sfntypes.ExecutionStatusSucceeded {
		t.Errorf("execution status = %s", got)
	}
	states := strings.Join(e.statesEntered(a.ReferralID), " > ")
	for _, s := range []string{"Verify referral", "Wait for milestone", "Holding period", "Pay rewards", "Complete referral"} {
		if !strings.Contains(states, s) {
			t.Errorf("execution never entered %q: %s", s, states)
		}
	}
	// The status view never shows who was referred.
	_, _, raw := e.status(a)
	if strings.Contains(string(raw), email) || strings.Contains(string(raw), "Jane") {
		t.Errorf("status view leaks personal data: %s", raw)
	}
	e.assertNoPersonalData(a.ReferralID, email, "Jane Doe", name, "555 0100", "partner@demo-referrer.example")
}

func TestLostDealEndsTheReferralAndKeepsWhatWasPaid(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := company(t)
	a := e.refer(email, name)
	e.waitWaiting(a.ReferralID, "qualified")
	e.hubspot(hubspotDeal(601, "qualifiedtobuy", a.ReferralID, ""))
	e.waitWaiting(a.ReferralID, "won")
	if code, b := e.hubspot(hubspotStage(9101, 601, "closedlost")); code != http.StatusOK {
		t.Fatalf("lost webhook = %d %s", code, b)
	}
	v := e.waitStatus(a, "lost", 30*time.Second)
	if st, _ := v.reward("qualified", "referrer"); st != "paid" {
		t.Errorf("the qualified reward paid before the loss must stay paid, is %q", st)
	}
	if st, _ := v.reward("won", "referrer"); st != "" {
		t.Errorf("no won reward may exist for a lost deal, got %q", st)
	}
	e.eventually("execution ends cleanly", 10*time.Second, func() (bool, string) {
		s := e.execStatus(a.ReferralID)
		return s == sfntypes.ExecutionStatusSucceeded, string(s)
	})
	if states := strings.Join(e.statesEntered(a.ReferralID), " > "); !strings.Contains(states, "Record lost deal") {
		t.Errorf("states: %s", states)
	}
	e.assertNoPersonalData(a.ReferralID, email, name)
}

func TestMilestoneDeadlineExpiresTheReferral(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	e.publish(strings.Replace(shortProgram, "DEADLINE", "2s", 1), seed.Overrides{})
	e.addReferrer("short-deadline", "SHORT", "partner@short-referrer.example")
	name, email := company(t)
	a := e.referTo("short-deadline", "SHORT", email, name)
	e.waitStatus(a, "expired", 30*time.Second)
	e.eventually("execution ends cleanly", 10*time.Second, func() (bool, string) {
		s := e.execStatus(a.ReferralID)
		return s == sfntypes.ExecutionStatusSucceeded, string(s)
	})
	states := strings.Join(e.statesEntered(a.ReferralID), " > ")
	if !strings.Contains(states, "Milestone deadline passed") || !strings.Contains(states, "Record expired referral") {
		t.Errorf("states: %s", states)
	}
}

// shortProgram is a one-milestone program with a deadline a test sets.
const shortProgram = `
schema: 1
id: short-deadline
name: Short deadline
currency: USD
eligibility: {require_company_domain: true}
milestones:
  - name: won
    deadline: DEADLINE
    hold: 0
    stages:
      - {provider: hubspot, stage: closedwon}
    rewards:
      - {party: referrer, kind: cash, amount: 50}
lost:
  - {provider: hubspot, stage: closedlost}
`

// The same delivery three times at once, then again later: one milestone,
// one reward, one ledger entry; every delivery answered 200.
func TestSameWebhookThreeTimesConcurrently(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := company(t)
	a := e.refer(email, name)
	e.waitWaiting(a.ReferralID, "qualified")
	body := hubspotDeal(701, "qualifiedtobuy", a.ReferralID, "")
	var wg sync.WaitGroup
	codes := make([]int, 3)
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i], _ = e.hubspot(body)
		}(i)
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("delivery %d = %d", i, c)
		}
	}
	e.waitWaiting(a.ReferralID, "won")
	code, b := e.hubspot(body)
	if code != http.StatusOK || !strings.Contains(string(b), `"duplicate":1`) {
		t.Errorf("a later redelivery = %d %s, want 200 counted as duplicate", code, b)
	}
	// Batch event delivered three times.
	batch := hubspotStage(9201, 701, "closedwon")
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); e.hubspot(batch) }()
	}
	wg.Wait()
	v := e.waitStatus(a, "completed", 30*time.Second)
	if len(v.Rewards) != 3 {
		t.Fatalf("rewards = %+v, want exactly 3", v.Rewards)
	}
	if n := len(e.ledgerEntries(a.ReferralID)); n != 3 {
		t.Fatalf("%d ledger entries, want 3", n)
	}
	log, _ := e.st.Events(context.Background(), a.ReferralID)
	paid := 0
	for _, l := range log {
		if l.Type == events.RewardPaid && l.Status == string(rewards.StatusPaid) {
			paid++
		}
	}
	if paid != 3 {
		t.Errorf("activity log records %d payments, want 3", paid)
	}
}

// Won reported before the workflow even waits for qualified, then the
// older qualified event arrives late: both milestones are honoured once,
// in order, and the late event changes nothing.
func TestOutOfOrderAndEarlyMilestones(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := company(t)
	a := e.refer(email, name)
	// At once, possibly before Verify has run.
	if code, b := e.hubspot(hubspotDeal(801, "closedwon", a.ReferralID, "")); code != http.StatusOK {
		t.Fatalf("won webhook = %d %s", code, b)
	}
	v := e.waitStatus(a, "completed", 40*time.Second)
	first := map[string]*time.Time{}
	for _, m := range v.Milestones {
		first[m.Name] = m.ReachedAt
	}
	if first["qualified"] == nil || first["won"] == nil {
		t.Fatalf("won implies qualified in this program: %+v", v.Milestones)
	}
	// The stale "qualified" arrives after the deal closed.
	if code, b := e.hubspot(hubspotStage(9301, 801, "qualifiedtobuy")); code != http.StatusOK || !strings.Contains(string(b), `"closed":1`) {
		t.Fatalf("late event = %d %s, want 200 counted as closed", code, b)
	}
	_, v2, _ := e.status(a)
	for _, m := range v2.Milestones {
		if !m.ReachedAt.Equal(*first[m.Name]) {
			t.Errorf("milestone %s moved from %v to %v", m.Name, first[m.Name], m.ReachedAt)
		}
	}
	if len(v2.Rewards) != 3 || len(e.ledgerEntries(a.ReferralID)) != 3 {
		t.Errorf("rewards = %+v", v2.Rewards)
	}
}

// Invariant 4: a bad signature is 401 and writes nothing; a stale
// timestamp (a replayed delivery) is rejected the same way.
func TestBadSignatureAndReplayWriteNothing(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := company(t)
	a := e.refer(email, name)
	e.waitWaiting(a.ReferralID, "qualified")
	body := hubspotStage(9401, 901, "closedwon")
	cases := []struct {
		name   string
		ts     time.Time
		secret string
	}{
		{"wrong secret", time.Now(), "not-the-secret"},
		{"replayed 6 minutes later", time.Now().Add(-6 * time.Minute), hubspotSecret},
		{"timestamp from the future", time.Now().Add(6 * time.Minute), hubspotSecret},
	}
	for _, tc := range cases {
		code, b := e.hubspotAt(body, tc.ts, tc.secret)
		if code != http.StatusUnauthorized || !strings.Contains(string(b), `"invalid_signature"`) {
			t.Errorf("%s: %d %s, want 401 invalid_signature", tc.name, code, b)
		}
	}
	// Unsigned and wrongly signed deliveries to every provider.
	for _, p := range []string{"hubspot", "salesforce", "pipedrive", "generic"} {
		code, b, _ := e.post("/webhooks/"+p, "application/json", body, map[string]string{"Authorization": "Basic eDp5", "webhook-id": "x", "webhook-timestamp": fmt.Sprint(time.Now().Unix()), "webhook-signature": "v1,AAAA"})
		if code != http.StatusUnauthorized {
			t.Errorf("%s unsigned: %d %s", p, code, b)
		}
	}
	if state, _, _ := storetest.EventOutcome(context.Background(), e.db, e.st.Table(), "hubspot", "9401"); state != "" {
		t.Errorf("a rejected delivery left event state %q", state)
	}
	r, _ := e.st.Referral(context.Background(), a.ReferralID)
	if len(r.Milestones) != 0 {
		t.Errorf("a rejected delivery recorded milestones %v", r.Milestones)
	}
	// The correctly signed delivery still works afterwards.
	if code, b := e.hubspot(hubspotDeal(901, "qualifiedtobuy", a.ReferralID, "")); code != http.StatusOK {
		t.Fatalf("valid delivery = %d %s", code, b)
	}
}

func TestBadInputGetsClearErrorsAndLeavesNothing(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := company(t)
	big := `{"referrer_code":"DEMO","referee_email":"` + email + `","referee_company":"` + name + `","message":"` + strings.Repeat("x", 17<<10) + `"}`
	cases := []struct {
		name, ct, body string
		status         int
		code, field    string
	}{
		{"malformed JSON", "application/json", `{"referrer_code":`, 400, "invalid_request", ""},
		{"missing fields", "application/json", `{"referrer_code":"DEMO"}`, 400, "invalid_request", "referee_email"},
		{"bad email", "application/x-www-form-urlencoded", "referrer_code=DEMO&referee_email=not-an-email&referee_company=X", 400, "invalid_request", "referee_email"},
		{"nested value", "application/json", `{"referrer_code":"DEMO","referee_email":"` + email + `","referee_company":{"a":1}}`, 400, "invalid_request", "referee_company"},
		{"unknown referrer", "application/json", `{"referrer_code":"NOPE","referee_email":"` + email + `","referee_company":"X"}`, 400, "unknown_referrer", "referrer_code"},
		{"unknown program", "application/json", `{"program":"nope","referrer_code":"DEMO","referee_email":"` + email + `","referee_company":"X"}`, 400, "unknown_program", "program"},
		{"oversized", "application/json", big, 413, "body_too_large", ""},
		{"unsupported media type", "text/plain", "hello", 415, "unsupported_media_type", ""},
		{"no media type", "", "{}", 415, "unsupported_media_type", ""},
	}
	for _, tc := range cases {
		code, b, h := e.post("/referrals", tc.ct, []byte(tc.body), nil)
		if code != tc.status || !strings.Contains(string(b), `"code":"`+tc.code+`"`) || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %s, want %d %s (JSON)", tc.name, code, b, tc.status, tc.code)
		}
		if tc.field != "" && !strings.Contains(string(b), `"`+tc.field+`":`) {
			t.Errorf("%s: the error does not name field %s: %s", tc.name, tc.field, b)
		}
	}
	// A browser post from a site the program does not list: refused.
	valid := []byte(`{"referrer_code":"DEMO","referee_email":"` + email + `","referee_company":"` + name + `"}`)
	code, b, _ := e.post("/referrals", "application/json", valid, map[string]string{"Origin": "https://not-our-site.example"})
	if code != http.StatusForbidden || !strings.Contains(string(b), "origin_not_allowed") {
		t.Errorf("foreign origin = %d %s, want 403 origin_not_allowed", code, b)
	}
	// The program's own site gets the CORS header from the gateway.
	req, _ := http.NewRequest(http.MethodOptions, e.api+"/referrals", nil)
	req.Header.Set("Origin", "https://www.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	if resp, err := e.http.Do(req); err != nil || resp.Header.Get("Access-Control-Allow-Origin") != "https://www.example.com" {
		t.Errorf("preflight from the program's site: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	// Webhook bodies: signed but malformed, and oversized.
	if code, b := e.hubspot([]byte(`{"not":"a deal"`)); code != http.StatusBadRequest || !strings.Contains(string(b), "invalid_payload") {
		t.Errorf("malformed webhook = %d %s", code, b)
	}
	if code, b := e.hubspot([]byte("[" + strings.Repeat(`{"eventId":1},`, 120000) + `{"eventId":1}]`)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized webhook = %d %.200s", code, b)
	}
	if ids, _ := e.st.ReferralsByEmail(context.Background(), email); len(ids) != 0 {
		t.Errorf("rejected requests left referrals %v", ids)
	}
}

func TestHoneypotStoresNothing(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := company(t)
	form := "referrer_code=DEMO&referee_email=" + email + "&referee_company=" + strings.ReplaceAll(name, " ", "+") + "&_gotcha=I+am+a+bot"
	code, b, _ := e.post("/referrals", "application/x-www-form-urlencoded", []byte(form), nil)
	if code != http.StatusAccepted || !strings.Contains(string(b), `"referral_id":"ref_`) {
		t.Fatalf("honeypot = %d %s, want a normal 202", code, b)
	}
	if ids, _ := e.st.ReferralsByEmail(context.Background(), email); len(ids) != 0 {
		t.Fatalf("the honeypot stored %v", ids)
	}
	// The same person, posted by a human, is accepted (nothing was reserved).
	e.refer(email, name)
}

func TestDuplicateReferralIs409AndNamesNoReferrer(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := company(t)
	first := e.refer(email, name)
	domain := email[strings.IndexByte(email, '@')+1:]
	for _, dup := range []string{email, "someone.else@" + domain} {
		body := fmt.Sprintf(`{"referrer_code":"DEMO","referee_email":%q,"referee_company":"Other"}`, dup)
		code, b, _ := e.post("/referrals", "application/json", []byte(body), nil)
		if code != http.StatusConflict || !strings.Contains(string(b), "duplicate_referral") {
			t.Errorf("%s: %d %s, want 409 duplicate_referral", dup, code, b)
		}
		if strings.Contains(string(b), "DEMO") || strings.Contains(string(b), first.ReferralID) {
			t.Errorf("the 409 tells who referred it: %s", b)
		}
	}
	// Idempotency-Key: the same request again answers the first answer.
	_, email2 := company(t)
	body := []byte(fmt.Sprintf(`{"referrer_code":"DEMO","referee_email":%q,"referee_company":"Idem Co"}`, email2))
	c1, b1, _ := e.post("/referrals", "application/json", body, map[string]string{"Idempotency-Key": "retry-123"})
	c2, b2, h2 := e.post("/referrals", "application/json", body, map[string]string{"Idempotency-Key": "retry-123"})
	if c1 != 202 || c2 != 202 || string(b1) != string(b2) || h2.Get("Idempotent-Replayed") != "true" {
		t.Errorf("idempotent repeat: %d %s / %d %s", c1, b1, c2, b2)
	}
}

// Two executions on one state machine: the moto StartExecution defect
// stays worked around, and concurrent referrals each get their workflow.
func TestConcurrentReferralsEachGetAnExecution(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	var wg sync.WaitGroup
	ids := make([]string, 4)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name, email := company(t)
			ids[i] = e.refer(email, name).ReferralID
		}(i)
	}
	wg.Wait()
	for _, id := range ids {
		e.waitWaiting(id, "qualified")
		if s := e.execStatus(id); s != sfntypes.ExecutionStatusRunning {
			t.Errorf("execution %s is %s, want RUNNING", id, s)
		}
	}
}

// Invariant 1: a referral stored but whose StartExecution failed still
// gets its workflow: the scheduled reconciler starts it.
func TestReconcilerStartsAStoredReferralWithoutExecution(t *testing.T) {
	t.Parallel()
	e := start(t, map[string]string{
		"REFERFLOW_LOCAL_SCHEDULE_SECONDS":              "2",
		"REFERFLOW_LOCAL_ENV_REFERFLOW_RECONCILE_GRACE": "1s",
	})
	ctx := context.Background()
	prog, err := e.st.CurrentProgram(ctx, defaultProgram)
	if err != nil {
		t.Fatal(err)
	}
	_, email := company(t)
	now := time.Now().UTC()
	// Exactly what intake writes before it calls StartExecution.
	id, _ := referral.NewID(now, strings.NewReader(strings.Repeat("r", 16)))
	r := &referral.Referral{ID: id, ProgramID: prog.ID, ProgramVersion: prog.Version, Status: referral.StatusReceived,
		ReferrerCode: demoCode, RefereeEmail: email, RefereeCompany: "Orphan Co", RefereeDomain: email[strings.IndexByte(email, '@')+1:],
		StatusTokenHash: referral.HashToken("t"), CreatedAt: now, UpdatedAt: now}
	if err := e.st.CreateReferral(ctx, store.NewReferral{Referral: r, Event: events.New(events.ReferralReceived, r.ID, "test", now)}); err != nil {
		t.Fatal(err)
	}
	e.waitWaiting(id, "qualified")
	if s := e.execStatus(id); s != sfntypes.ExecutionStatusRunning {
		t.Fatalf("execution = %s", s)
	}
}

// A Standard execution lasts at most a year, but B2B journeys (qualified →
// won → renewal) run longer: when a deadline lies beyond what an execution
// can wait, the referral continues in <id>-2, <id>-3, ... and nothing is
// paid twice. Locally the year is shrunk to 8 s.
func TestLongJourneyContinuesInNewExecutions(t *testing.T) {
	t.Parallel()
	e := start(t, map[string]string{
		"REFERFLOW_LOCAL_ENV_REFERFLOW_EXECUTION_BUDGET": "8s",
		"REFERFLOW_LOCAL_ENV_REFERFLOW_EXECUTION_SLACK":  "1s",
	})
	name, email := company(t)
	a := e.refer(email, name)
	e.eventually("the referral to continue in "+a.ReferralID+"-2", 30*time.Second, func() (bool, string) {
		return e.execExists(a.ReferralID + "-2"), "no second execution yet"
	})
	// The first execution ends once its continue step has started the
	// second and recorded which execution carries the referral now.
	e.eventually("the first execution to end", 15*time.Second, func() (bool, string) {
		s := e.execStatus(a.ReferralID)
		return s != sfntypes.ExecutionStatusRunning, "still " + string(s)
	})
	if s := e.execStatus(a.ReferralID); s != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("the first execution ended %s, want SUCCEEDED (continued)", s)
	}
	if states := strings.Join(e.statesEntered(a.ReferralID), " > "); !strings.Contains(states, "Continue in a new execution") || strings.Contains(states, "Record expired referral") {
		t.Fatalf("first execution: %s", states)
	}
	e.waitWaiting(a.ReferralID, "qualified")
	if code, b := e.hubspot(hubspotDeal(1501, "qualifiedtobuy", a.ReferralID, "")); code != http.StatusOK {
		t.Fatalf("qualified = %d %s", code, b)
	}
	e.waitWaiting(a.ReferralID, "won")
	if code, b := e.hubspot(hubspotStage(15002, 1501, "closedwon")); code != http.StatusOK {
		t.Fatalf("won = %d %s", code, b)
	}
	v := e.waitStatus(a, "completed", 60*time.Second)
	if len(v.Rewards) != 3 {
		t.Fatalf("rewards = %+v", v.Rewards)
	}
	for _, r := range v.Rewards {
		if r.Status != "paid" {
			t.Errorf("reward %s/%s is %s", r.Milestone, r.Party, r.Status)
		}
	}
	if n := len(e.ledgerEntries(a.ReferralID)); n != 3 {
		t.Fatalf("%d ledger entries across executions, want 3", n)
	}
	log, _ := e.st.Events(context.Background(), a.ReferralID)
	continued := 0
	for _, l := range log {
		if l.Type == events.ReferralContinued {
			continued++
		}
	}
	if continued == 0 {
		t.Error("the activity log does not say the referral continued")
	}
}
