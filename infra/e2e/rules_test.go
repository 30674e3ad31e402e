package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/fakes"
	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/infra/seed"
	"github.com/referflow/referflow/internal/activity"
	"github.com/referflow/referflow/internal/rewards"
)

// Program rules end to end: verification outcomes and the manual review
// (through the IAM-guarded admin API), tiers, percent-of-deal rewards, a
// program budget under concurrent closes, and a void during the hold.

// rulesProgram is a one-milestone program ("won", generic and HubSpot
// stages); extra YAML is appended.
func rulesProgram(id, extra string) string {
	return fmt.Sprintf(`
schema: 1
id: %s
name: Rules %s
currency: USD
eligibility: {allow_self_referral: false, require_company_domain: true}
milestones:
  - name: won
    deadline: 600s
    hold: HOLD
    stages:
      - {provider: generic, stage: won}
      - {provider: hubspot, stage: closedwon}
    rewards:
      - {party: referrer, kind: cash, amount: 100}
lost:
  - {provider: generic, stage: lost}
  - {provider: hubspot, stage: closedlost}
%s`, id, id, extra)
}

// withHold sets the program's hold ("0" or seconds).
func withHold(yaml string, seconds int) string {
	return strings.Replace(yaml, "hold: HOLD", fmt.Sprintf("hold: %ds", seconds), 1)
}

// ruleCompany returns a unique referee company and work email (short
// domain labels: subtest names are too long for one).
func ruleCompany() (name, email string) {
	n := seq.Add(1)
	return fmt.Sprintf("Rules Co %d", n), fmt.Sprintf("jane.doe@rules-co-%d-%d.example", time.Now().UnixNano()%1000000, n)
}

// forT is the env as seen from a (parallel) subtest: helpers fail t.
func (e *env) forT(t *testing.T) *env {
	cp := *e
	cp.t = t
	return &cp
}

// referWith submits a referral with extra form fields and expects 202.
func (e *env) referWith(programID, code, email, companyName string, extra map[string]string) accepted {
	e.t.Helper()
	fields := map[string]string{"program": programID, "referrer_code": code, "referee_email": email, "referee_name": "Jane Doe", "referee_company": companyName}
	for k, v := range extra {
		fields[k] = v
	}
	body, _ := json.Marshal(fields)
	status, b, _ := e.post("/referrals", "application/json", body, nil)
	if status != http.StatusAccepted {
		e.t.Fatalf("POST /referrals = %d %s", status, b)
	}
	var a accepted
	if err := json.Unmarshal(b, &a); err != nil || a.ReferralID == "" {
		e.t.Fatalf("202 body %s: %v", b, err)
	}
	return a
}

// admin calls an admin route with the local stand-in for IAM (token "" =
// no Authorization header).
func (e *env) admin(method, path, token string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, e.api+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// adminView is GET /admin/referrals/{id}.
type adminView struct {
	Status   string            `json:"status"`
	Referee  map[string]any    `json:"referee"`
	Reasons  []map[string]any  `json:"reasons"`
	Review   map[string]string `json:"review"`
	Rewards  []rewards.Reward  `json:"rewards"`
	Activity []activity.Line   `json:"activity"`
}

func (e *env) adminView(id string) adminView {
	e.t.Helper()
	status, body := e.admin(http.MethodGet, "/admin/referrals/"+id, adminToken, nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET /admin/referrals/%s = %d %v", id, status, body)
	}
	raw, _ := json.Marshal(body)
	var v adminView
	if err := json.Unmarshal(raw, &v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (v adminView) logged(substr string) bool {
	for _, a := range v.Activity {
		if strings.Contains(a.Detail, substr) {
			return true
		}
	}
	return false
}

// won reports the deal won through a signed generic webhook.
func (e *env) won(id string) {
	e.t.Helper()
	if code, b := e.genericEvent("evt-won-"+id, map[string]any{"referral_id": id, "stage": "won"}); code != http.StatusOK {
		e.t.Fatalf("generic won = %d %s", code, b)
	}
}

// TestRulesVerificationAndReview: a self-referral is rejected with its
// reason; an ICP mismatch goes to review, the admin API (401 without the
// token) approves it and the workflow carries on to a paid reward; another
// review whose deadline passes gets the program's default.
func TestRulesVerificationAndReview(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	review := strings.Replace(withHold(rulesProgram("rules-review", "review: {deadline: 600s, default: reject}\n"), 0),
		"eligibility: {allow_self_referral: false, require_company_domain: true}",
		"eligibility: {allow_self_referral: false, require_company_domain: true, countries: [DE], on_icp_mismatch: review}", 1)
	e.publish(review, seed.Overrides{})
	e.addReferrer("rules-review", "REV", "pat@partner-firm.example")
	timeout := strings.Replace(strings.Replace(review, "id: rules-review", "id: rules-timeout", 1), "default: reject", "default: approve", 1)
	e.publish(timeout, seed.Overrides{ReviewDeadlineSeconds: 2})
	e.addReferrer("rules-timeout", "TMO", "pat@partner-firm.example")

	t.Run("self-referral rejected", func(t *testing.T) {
		t.Parallel()
		e := e.forT(t)
		a := e.referWith("rules-review", "REV", "colleague@partner-firm.example", "Partner Firm", map[string]string{"referee_country": "DE"})
		e.waitStatus(a, "rejected", 30*time.Second)
		v := e.adminView(a.ReferralID)
		found := false
		for _, r := range v.Reasons {
			found = found || r["code"] == "self_referral"
		}
		if !found {
			t.Errorf("reasons %v lack self_referral", v.Reasons)
		}
		if v.Referee["email"] != "colleague@partner-firm.example" {
			t.Errorf("the admin view shows the referee %v", v.Referee)
		}
	})

	t.Run("review approved through the admin API", func(t *testing.T) {
		t.Parallel()
		e := e.forT(t)
		name, email := ruleCompany()
		a := e.referWith("rules-review", "REV", email, name, map[string]string{"referee_country": "US"})
		e.waitStatus(a, "in_review", 30*time.Second)
		path := "/admin/referrals/" + a.ReferralID + "/review"
		decision := map[string]string{"decision": "approve", "reason": "US expansion account"}
		if status, _ := e.admin(http.MethodPost, path, "", decision); status != http.StatusUnauthorized {
			t.Fatalf("review without the admin token = %d, want 401", status)
		}
		if status, body := e.admin(http.MethodPost, path, adminToken, map[string]string{"decision": "maybe"}); status != http.StatusBadRequest {
			t.Fatalf("bad review = %d %v", status, body)
		}
		status, body := e.admin(http.MethodPost, path, adminToken, decision)
		if status != http.StatusOK || body["outcome"] != "approved" {
			t.Fatalf("review = %d %v", status, body)
		}
		e.waitWaiting(a.ReferralID, "won") // the workflow resumed and waits for the deal
		if status, body := e.admin(http.MethodPost, path, adminToken, map[string]string{"decision": "reject", "reason": "changed my mind"}); status != http.StatusConflict {
			t.Fatalf("second, different review = %d %v", status, body)
		}
		e.won(a.ReferralID)
		v := e.waitStatus(a, "completed", 30*time.Second)
		if st, amt := v.reward("won", "referrer"); st != "paid" || amt != 10000 {
			t.Errorf("reward %s %d, want paid 10000", st, amt)
		}
		av := e.adminView(a.ReferralID)
		if av.Review["outcome"] != "approved" || !av.logged("Manual review: approved by an admin") {
			t.Errorf("review %v; activity %+v", av.Review, av.Activity)
		}
		e.assertNoPersonalData(a.ReferralID, email, "US expansion account")
	})

	t.Run("review deadline applies the program default", func(t *testing.T) {
		t.Parallel()
		e := e.forT(t)
		name, email := ruleCompany()
		a := e.referWith("rules-timeout", "TMO", email, name, map[string]string{"referee_country": "US"})
		e.waitStatus(a, "in_progress", 45*time.Second)
		v := e.adminView(a.ReferralID)
		if !v.logged("Review deadline passed: the program's default (approved) applied") {
			t.Errorf("activity %+v", v.Activity)
		}
		path := "/admin/referrals/" + a.ReferralID + "/review"
		if status, body := e.admin(http.MethodPost, path, adminToken, map[string]string{"decision": "reject", "reason": "too late"}); status != http.StatusConflict || !strings.Contains(fmt.Sprint(body), "not_in_review") {
			t.Errorf("late review = %d %v, want 409 not_in_review", status, body)
		}
	})
}

// TestRulesRewards: the referrer's third won referral in the period pays
// the 1.5x tier; a percent-of-deal reward is computed from the amount of a
// HubSpot deal; a deal lost during the hold voids the held reward.
func TestRulesRewards(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	tiers := withHold(rulesProgram("rules-tiers", `
tiers:
  - {from: 1, multiplier: 1, period: month}
  - {from: 3, multiplier: 1.5, period: month}
`), 0)
	e.publish(tiers, seed.Overrides{})
	e.addReferrer("rules-tiers", "TIER", "tia@tier-partner.example")
	percent := strings.Replace(withHold(rulesProgram("rules-percent", ""), 0),
		"- {party: referrer, kind: cash, amount: 100}",
		"- {party: referrer, kind: cash, percent: \"10%\", floor: 250, ceiling: 5000}", 1)
	e.publish(percent, seed.Overrides{})
	e.addReferrer("rules-percent", "PCT", "pam@pct-partner.example")
	void := withHold(rulesProgram("rules-void", ""), 3)
	e.publish(void, seed.Overrides{})
	e.addReferrer("rules-void", "VOID", "vic@void-partner.example")

	t.Run("tiered third referral", func(t *testing.T) {
		t.Parallel()
		e := e.forT(t)
		var amounts []int64
		for i := 0; i < 3; i++ {
			name, email := ruleCompany()
			a := e.referWith("rules-tiers", "TIER", email, name, nil)
			e.waitWaiting(a.ReferralID, "won")
			e.won(a.ReferralID)
			v := e.waitStatus(a, "completed", 30*time.Second)
			_, amt := v.reward("won", "referrer")
			amounts = append(amounts, amt)
		}
		if fmt.Sprint(amounts) != "[10000 10000 15000]" {
			t.Errorf("referrer rewards %v, want [10000 10000 15000] (3rd at 1.5x)", amounts)
		}
	})

	t.Run("percent of a HubSpot deal amount", func(t *testing.T) {
		t.Parallel()
		e := e.forT(t)
		name, email := ruleCompany()
		a := e.referWith("rules-percent", "PCT", email, name, nil)
		e.waitWaiting(a.ReferralID, "won")
		// The deal is in HubSpot (the stack's fake): its currency is read
		// there, as HubSpot's workflow webhooks do not carry it.
		if err := e.stack.AddHubSpotDeal(fakes.HubSpotDeal{ID: "880001", Pipeline: "default", Stage: "closedwon", Amount: "24000",
			Currency: "USD", Properties: map[string]string{"referral_id": a.ReferralID}}); err != nil {
			t.Fatal(err)
		}
		if code, b := e.hubspot(hubspotDeal(880001, "closedwon", a.ReferralID, "24000")); code != http.StatusOK {
			t.Fatalf("hubspot = %d %s", code, b)
		}
		v := e.waitStatus(a, "completed", 30*time.Second)
		if st, amt := v.reward("won", "referrer"); st != "paid" || amt != 240000 {
			t.Errorf("reward %s %d, want paid 240000 (10%% of 24,000.00)", st, amt)
		}
		entries := e.ledgerEntries(a.ReferralID)
		if len(entries) != 1 || entries[0].AmountMinor != 240000 {
			t.Errorf("ledger %+v", entries)
		}
	})

	t.Run("void during hold", func(t *testing.T) {
		t.Parallel()
		e := e.forT(t)
		name, email := ruleCompany()
		a := e.referWith("rules-void", "VOID", email, name, nil)
		e.waitWaiting(a.ReferralID, "won")
		e.won(a.ReferralID)
		e.eventually("reward on hold", 20*time.Second, func() (bool, string) {
			_, v, _ := e.status(a)
			st, _ := v.reward("won", "referrer")
			return st == "on_hold", st
		})
		if code, b := e.genericEvent("evt-lost-"+a.ReferralID, map[string]any{"referral_id": a.ReferralID, "stage": "lost"}); code != http.StatusOK {
			t.Fatalf("generic lost = %d %s", code, b)
		}
		v := e.waitStatus(a, "lost", 30*time.Second)
		if st, _ := v.reward("won", "referrer"); st != "voided" {
			t.Errorf("reward %s, want voided", st)
		}
		if n := len(e.ledgerEntries(a.ReferralID)); n != 0 {
			t.Errorf("%d ledger entries for a voided reward", n)
		}
	})
}

// TestRulesBudgetUnderConcurrentCloses wins several referrals at once
// against a budget that fits two rewards: the paid sum never passes the
// budget, the budget counter equals it, the others wait for a person as
// "budget exhausted", and the admin API pays one of them exactly once.
func TestRulesBudgetUnderConcurrentCloses(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	const n, budget = 6, 25000
	e.publish(withHold(rulesProgram("rules-budget", "caps: {period: month, budget: 250, on_exhausted: review}\n"), 0), seed.Overrides{})
	e.addReferrer("rules-budget", "BUD", "bo@budget-partner.example")
	refs := make([]accepted, n)
	for i := range refs {
		name, email := ruleCompany()
		refs[i] = e.referWith("rules-budget", "BUD", email, name, nil)
	}
	for _, a := range refs {
		e.waitWaiting(a.ReferralID, "won")
	}
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i, a := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = e.genericEvent("evt-won-"+a.ReferralID, map[string]any{"referral_id": a.ReferralID, "stage": "won"})
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("won %d = %d", i, c)
		}
	}
	var paid, waiting int64
	var blocked, declined accepted
	for _, a := range refs {
		v := e.waitStatus(a, "completed", 45*time.Second)
		st, amt := v.reward("won", "referrer")
		switch st {
		case "paid":
			paid += amt
		case "pending":
			waiting++
			blocked, declined = a, blocked
		default:
			t.Errorf("%s reward %s", a.ReferralID, st)
		}
	}
	var ledgerSum int64
	for _, a := range refs {
		for _, en := range e.ledgerEntries(a.ReferralID) {
			ledgerSum += en.AmountMinor
		}
	}
	spent, err := storetest.Spent(context.Background(), e.db, e.st.Table(), "rules-budget", rewards.BudgetCounter(time.Now().UTC().Format("2006-01")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("paid %d of a %d budget, %d waiting, counter %d", paid, budget, waiting, spent)
	if paid > budget || ledgerSum != paid || spent != paid || paid != 20000 || waiting != n-2 {
		t.Fatalf("paid %d, ledger %d, counter %d, waiting %d; want 20000 paid within %d and %d waiting", paid, ledgerSum, spent, waiting, budget, n-2)
	}
	av := e.adminView(blocked.ReferralID)
	if len(av.Rewards) != 1 || av.Rewards[0].StatusReason != "budget exhausted" || !av.Rewards[0].NeedsApproval {
		t.Fatalf("blocked reward %+v", av.Rewards)
	}
	path := "/admin/rewards/" + blocked.ReferralID + "/won/referrer/approve"
	for i := 0; i < 2; i++ {
		status, body := e.admin(http.MethodPost, path, adminToken, nil)
		if status != http.StatusOK || body["status"] != "paid" {
			t.Fatalf("approve #%d = %d %v", i+1, status, body)
		}
	}
	if entries := e.ledgerEntries(blocked.ReferralID); len(entries) != 1 {
		t.Fatalf("approved twice: %d ledger entries", len(entries))
	}
	// The override counts on the budget it did not fit (invariant 9: the
	// counter holds every payment), past its limit.
	spent += e.adminView(blocked.ReferralID).Rewards[0].AmountMinor
	if now, _ := storetest.Spent(context.Background(), e.db, e.st.Table(), "rules-budget", rewards.BudgetCounter(time.Now().UTC().Format("2006-01"))); now != spent || now <= budget {
		t.Fatalf("budget counter %d after the override, want %d (past the %d budget)", now, spent, budget)
	}
	// Another one is declined: voided with the reason, nothing paid, and
	// the budget counter still holds only what was paid.
	path = "/admin/rewards/" + declined.ReferralID + "/won/referrer/decline"
	for i := 0; i < 2; i++ {
		status, body := e.admin(http.MethodPost, path, adminToken, map[string]any{"reason": "over budget this month"})
		if status != http.StatusOK || body["status"] != "voided" || body["status_reason"] != "declined: over budget this month" {
			t.Fatalf("decline #%d = %d %v", i+1, status, body)
		}
	}
	if entries := e.ledgerEntries(declined.ReferralID); len(entries) != 0 {
		t.Fatalf("a declined reward has %d ledger entries", len(entries))
	}
	if after, _ := storetest.Spent(context.Background(), e.db, e.st.Table(), "rules-budget", rewards.BudgetCounter(time.Now().UTC().Format("2006-01"))); after != spent {
		t.Fatalf("budget counter %d after the decline, want %d", after, spent)
	}
	if !e.adminView(declined.ReferralID).logged("voided: declined") {
		t.Fatal("the activity log does not show the decline")
	}
}
