package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/referflow/referflow/infra/seed"
	"github.com/referflow/referflow/internal/events"
)

// fragileProgram pays one reward after a hold long enough for a test to
// break the reward before the pay step reads it.
const fragileProgram = `
schema: 1
id: fragile-pay
name: Fragile pay
currency: USD
eligibility: {require_company_domain: true}
milestones:
  - name: won
    deadline: 10m
    hold: 4s
    stages:
      - {provider: hubspot, stage: closedwon}
    rewards:
      - {party: referrer, kind: cash, amount: 50}
`

// setRewardAmount overwrites the stored amount of a referral's won reward
// for the referrer (an attribute value, so a string breaks its decoding).
func (e *env) setRewardAmount(id string, v types.AttributeValue) {
	e.t.Helper()
	_, err := e.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(e.stack.Tables["Table"]),
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "REFERRAL#" + id},
			"SK": &types.AttributeValueMemberS{Value: "REWARD#won#referrer"}},
		UpdateExpression:          aws.String("SET amount_minor = :a"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": v},
	})
	if err != nil {
		e.t.Fatalf("set reward amount: %v", err)
	}
}

// A step that keeps failing after its retries (here: the pay step cannot
// read a reward an operator's bad data fix broke) leaves the referral
// visibly in needs_attention with its cause; once the cause is fixed, a
// resume through the admin API completes it in a new execution, paying
// the reward once.
func TestStepThatKeepsFailingNeedsAttentionAndResumeCompletesIt(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	e.publish(fragileProgram, seed.Overrides{})
	e.addReferrer("fragile-pay", "FRAGILE", "partner@fragile-referrer.example")
	name, email := company(t)
	a := e.referTo("fragile-pay", "FRAGILE", email, name)
	e.waitWaiting(a.ReferralID, "won")
	if code, b := e.hubspot(hubspotDeal(2101, "closedwon", a.ReferralID, "")); code != http.StatusOK {
		t.Fatalf("won webhook = %d %s", code, b)
	}
	e.eventually("the reward on hold", 15*time.Second, func() (bool, string) {
		_, v, _ := e.status(a)
		st, _ := v.reward("won", "referrer")
		return st == "on_hold", fmt.Sprintf("%+v", v.Rewards)
	})
	e.setRewardAmount(a.ReferralID, &types.AttributeValueMemberS{Value: "not a number"})

	// Pay rewards fails on every attempt (5 retries, up to 31 s of jittered
	// waits), then the referral is marked and the execution ends failed.
	// (Meanwhile the status APIs cannot read the broken reward either.)
	e.eventually("needs_attention", 90*time.Second, func() (bool, string) {
		tr, err := e.st.Tracked(context.Background(), a.ReferralID)
		if err != nil {
			return false, err.Error()
		}
		return tr.Status == "needs_attention", string(tr.Status)
	})
	e.eventually("the execution to end", 20*time.Second, func() (bool, string) {
		s := e.execStatus(a.ReferralID)
		return s == sfntypes.ExecutionStatusFailed, string(s)
	})
	states := strings.Join(e.statesEntered(a.ReferralID), " > ")
	if !strings.Contains(states, "Step failed > Mark needs attention > Needs attention") || strings.Contains(states, "Complete referral") {
		t.Fatalf("states: %s", states)
	}

	// The operator fixes the data, sees why it stopped, then resumes; a
	// repeat changes nothing.
	e.setRewardAmount(a.ReferralID, &types.AttributeValueMemberN{Value: "5000"})
	if _, sv, _ := e.status(a); sv.Status != "needs_attention" {
		t.Fatalf("status API: %+v", sv)
	}
	v := e.adminView(a.ReferralID)
	status, body := e.admin(http.MethodGet, "/admin/referrals/"+a.ReferralID, adminToken, nil)
	att, _ := body["attention"].(map[string]any)
	if status != http.StatusOK || v.Status != "needs_attention" || att["from"] != "in_progress" || att["execution"] != a.ReferralID ||
		att["error"] == "" || strings.HasPrefix(fmt.Sprint(att["error"]), "Referral.") || !strings.Contains(fmt.Sprint(att["cause"]), "unmarshal") {
		t.Fatalf("admin view: %d attention %v", status, att)
	}
	if !v.logged("Needs attention: ") {
		t.Errorf("activity: %+v", v.Activity)
	}
	status, body = e.admin(http.MethodPost, "/admin/referrals/"+a.ReferralID+"/resume", adminToken, nil)
	if status != http.StatusOK || body["action"] != "resumed" || body["status"] != "in_progress" || body["execution"] != a.ReferralID+"-2" {
		t.Fatalf("resume = %d %v", status, body)
	}
	if status, body = e.admin(http.MethodPost, "/admin/referrals/"+a.ReferralID+"/resume", adminToken, nil); status != http.StatusOK || body["execution"] != a.ReferralID+"-2" {
		t.Fatalf("repeated resume = %d %v", status, body)
	}
	v2 := e.waitStatus(a, "completed", 60*time.Second)
	if st, amt := v2.reward("won", "referrer"); st != "paid" || amt != 5000 {
		t.Fatalf("reward %s %d", st, amt)
	}
	if n := len(e.ledgerEntries(a.ReferralID)); n != 1 {
		t.Fatalf("%d ledger entries, want 1", n)
	}
	if e.execExists(a.ReferralID + "-3") {
		t.Error("a repeated resume started a third execution")
	}
	if av := e.adminView(a.ReferralID); !av.logged("Resumed by an admin: back to in_progress in execution "+a.ReferralID+"-2") || av.Status != "completed" {
		t.Errorf("after resume: %s %+v", av.Status, av.Activity)
	}
	e.assertNoPersonalData(a.ReferralID+"-2", email, "Jane Doe", name, "555 0100")
}

// A referral whose execution ended while the referral still moves (here an
// operator aborted it during a holding period) is found by the reconciler
// and resumed in a new execution, which carries it to the end: the hold
// goes on where it was, nothing is paid twice. (moto cannot abort an
// execution waiting for a task token: infra/local/README.md.)
func TestReconcilerResumesAnAbortedExecution(t *testing.T) {
	t.Parallel()
	e := start(t, map[string]string{
		"REFERFLOW_LOCAL_HOLD_SECONDS":                  "12",
		"REFERFLOW_LOCAL_SCHEDULE_SECONDS":              "2",
		"REFERFLOW_LOCAL_ENV_REFERFLOW_RECONCILE_GRACE": "1s",
	})
	name, email := company(t)
	a := e.refer(email, name)
	e.waitWaiting(a.ReferralID, "qualified")
	if code, b := e.hubspot(hubspotDeal(2201, "qualifiedtobuy", a.ReferralID, "")); code != http.StatusOK {
		t.Fatalf("qualified = %d %s", code, b)
	}
	e.waitWaiting(a.ReferralID, "won")
	if code, b := e.hubspot(hubspotStage(22002, 2201, "closedwon")); code != http.StatusOK {
		t.Fatalf("won = %d %s", code, b)
	}
	e.eventually("won rewards on hold", 20*time.Second, func() (bool, string) {
		_, v, _ := e.status(a)
		s1, _ := v.reward("won", "referrer")
		return s1 == "on_hold", fmt.Sprintf("%+v", v.Rewards)
	})
	if _, err := e.sfn.StopExecution(context.Background(), &sfn.StopExecutionInput{ExecutionArn: aws.String(e.executionARN(a.ReferralID))}); err != nil {
		t.Fatal(err)
	}
	e.eventually("the reconciler to resume it", 30*time.Second, func() (bool, string) {
		tr, _ := e.st.Tracked(context.Background(), a.ReferralID)
		return e.execExists(a.ReferralID + "-2"), fmt.Sprintf("first execution %s, referral %s in %s", e.execStatus(a.ReferralID), tr.Status, tr.Current())
	})
	// ABORTED on AWS; moto ends an execution stopped inside a Map FAILED.
	if s := e.execStatus(a.ReferralID); s != sfntypes.ExecutionStatusAborted && s != sfntypes.ExecutionStatusFailed {
		t.Fatalf("first execution is %s", s)
	}
	v := e.waitStatus(a, "completed", 60*time.Second)
	for _, r := range v.Rewards {
		if r.Status != "paid" {
			t.Errorf("reward %s/%s is %s", r.Milestone, r.Party, r.Status)
		}
	}
	if len(v.Rewards) != 3 || len(e.ledgerEntries(a.ReferralID)) != 3 {
		t.Fatalf("rewards %+v, ledger %d", v.Rewards, len(e.ledgerEntries(a.ReferralID)))
	}
	evs, _ := e.st.Events(context.Background(), a.ReferralID)
	resumed := 0
	for _, ev := range evs {
		if ev.Type == events.ReferralResumed && ev.Actor == events.ActorReconciler && strings.HasPrefix(ev.Get("after"), "execution "+a.ReferralID+" ") {
			resumed++
		}
	}
	if resumed != 1 {
		t.Errorf("%d resumes by the reconciler, want 1: %+v", resumed, evs)
	}
	e.assertNoPersonalData(a.ReferralID+"-2", email, "Jane Doe", name, "555 0100")
}
