package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/fault"
	"github.com/referflow/referflow/infra/seed"
	"github.com/referflow/referflow/internal/crm/generic"
	"github.com/referflow/referflow/internal/rewards"
)

// The chaos soak: referrals of every journey through the local stack while
// a fault plan crashes functions after their writes, times them out,
// throttles DynamoDB, cancels transactions, refuses Step Functions calls
// and duplicates, delays and reorders webhook deliveries. Afterwards
// nothing may be stuck, lost or paid wrongly. `make chaos` runs it with 200
// referrals (CHAOS_REFERRALS); `make test` with a smaller plan.

// chaosPlan turns every fault on.
const chaosPlan = `{"seed": %d,
 "functions": {"*": {"crash_after": 0.04, "timeout": 0.02}},
 "dynamodb": {"throttle": 0.03, "conflict": 0.08},
 "stepfunctions": {"start_execution": 0.25, "send_task": 0.25},
 "webhooks": {"duplicate": 0.3, "delay_ms": 300, "reorder": true}}`

// journey is one kind of referral life the soak drives.
type journey string

const (
	jWon           journey = "won"
	jLost          journey = "lost"
	jExpired       journey = "expired"
	jReviewApprove journey = "review approved"
	jReviewReject  journey = "review rejected"
	jReviewTimeout journey = "review timed out"
	jRefundHold    journey = "refund during hold"
	jRefundPaid    journey = "refund after payout"
	jBudget        journey = "budget exhaustion"
)

var journeys = []journey{jWon, jLost, jExpired, jReviewApprove, jReviewReject, jReviewTimeout, jRefundHold, jRefundPaid, jBudget}

// chaosProgram is a two-milestone program: qualified pays nothing, won pays
// the referrer 100 and the new customer 50 after a hold; its budget fits
// every referral, so the counter is checked through voids and reversals.
// Every chaos program pays through Stripe (the partner's cash as a
// transfer to its connected account, the new customer's discount as a
// coupon and promotion code): each journey, its voids, refunds, reviews and
// budget included, then runs through the claim → sending → Send path under
// the fault plan, and the ledger figures hold as before (the payable entry
// is written when the rail's payment is recorded), so no ledger-only
// program is kept.
func chaosProgram(id, extra string) string {
	return fmt.Sprintf(`
schema: 1
id: %s
name: Chaos %s
currency: USD
eligibility: {allow_self_referral: false, require_company_domain: true%s}
later_implies_earlier: true
milestones:
  - name: qualified
    deadline: 600s
    stages: [{provider: generic, stage: qualified}]
  - name: won
    deadline: 600s
    hold: 3s
    stages: [{provider: generic, stage: won}]
    rewards:
      - {party: referrer, kind: cash, amount: 100}
      - {party: referee, kind: discount, amount: 50}
lost:
  - {provider: generic, stage: lost}
payout: {rails: {cash: stripe, discount: stripe}}
%s`, id, id, map[bool]string{true: ", countries: [DE], on_icp_mismatch: review"}[strings.Contains(id, "review")], extra)
}

// chaosPrograms publishes the soak's programs.
func (e *env) chaosPrograms() {
	e.publish(chaosProgram("chaos", "caps: {period: month, budget: 1000000, on_exhausted: review}\n"), seed.Overrides{})
	e.publish(strings.ReplaceAll(chaosProgram("chaos-expire", ""), "deadline: 600s", "deadline: 4s"), seed.Overrides{})
	e.publish(chaosProgram("chaos-review", "review: {deadline: 600s, default: approve}\n"), seed.Overrides{})
	e.publish(chaosProgram("chaos-review-timeout", "review: {deadline: 3s, default: reject}\n"), seed.Overrides{ReviewDeadlineSeconds: 3})
	e.publish(chaosProgram("chaos-budget", "caps: {period: month, budget: 300, on_exhausted: review}\n"), seed.Overrides{})
	for _, p := range []string{"chaos", "chaos-expire", "chaos-review", "chaos-review-timeout", "chaos-budget"} {
		e.addReferrer(p, chaosCode(p), "pat@chaos-partner.example")
	}
}

// chaosCode is the soak's partner code in program p: a code names one
// program (a link /r/<code> names none), so each program has its own.
func chaosCode(p string) string { return strings.ToUpper(p) }

func (j journey) program() string {
	switch j {
	case jExpired:
		return "chaos-expire"
	case jReviewApprove, jReviewReject:
		return "chaos-review"
	case jReviewTimeout:
		return "chaos-review-timeout"
	case jBudget:
		return "chaos-budget"
	}
	return "chaos"
}

// final is the status a journey ends in.
func (j journey) final() string {
	switch j {
	case jWon, jReviewApprove, jRefundPaid, jBudget:
		return "completed"
	case jLost, jRefundHold:
		return "lost"
	case jExpired:
		return "expired"
	}
	return "rejected"
}

// paid reports whether a journey's won rewards end paid (jBudget: paid or
// left for a person, as the budget allows).
func (j journey) paid() bool { return j == jWon || j == jReviewApprove || j == jRefundPaid }

// chaosDriver sends what one referral's journey needs, like a CRM and an
// admin would under the plan: retried until answered, duplicated, delayed
// and reordered.
type chaosDriver struct {
	e    *env
	plan fault.WebhookFaults
	mu   sync.Mutex
	rng  *rand.Rand
	// resumedOnTheWay counts referrals a journey resumed, as an operator
	// does, to go on (the report adds those resumed once all settled).
	resumedOnTheWay atomic.Int64
}

func (d *chaosDriver) chance(p float64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rng.Float64() < p
}

func (d *chaosDriver) delay() {
	if d.plan.DelayMS <= 0 {
		return
	}
	d.mu.Lock()
	ms := d.rng.IntN(d.plan.DelayMS + 1)
	d.mu.Unlock()
	time.Sleep(time.Duration(ms) * time.Millisecond)
}

// send posts until the stack answers without a server error (a crashed
// function answers 502, a throttled one 503): what every sender does.
func (d *chaosDriver) send(path string, body []byte, headers func() map[string]string) (int, []byte, error) {
	return d.do(http.MethodPost, path, body, headers)
}

// do sends a request until the stack answers without a server error.
func (d *chaosDriver) do(method, path string, body []byte, headers func() map[string]string) (int, []byte, error) {
	var status int
	var b []byte
	for attempt := 0; attempt < 12; attempt++ {
		req, _ := http.NewRequest(method, d.e.api+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range headers() {
			req.Header.Set(k, v)
		}
		resp, err := d.e.http.Do(req)
		if err == nil {
			b = readAll(resp)
			status = resp.StatusCode
			if status < 500 && status != http.StatusTooManyRequests {
				return status, b, nil
			}
		}
		time.Sleep(time.Duration(200*(attempt+1)) * time.Millisecond)
	}
	return status, b, fmt.Errorf("%s %s still answered %d: %s", method, path, status, b)
}

// deliver sends one signed generic webhook event, maybe twice.
func (d *chaosDriver) deliver(id, typ string, data map[string]any) error {
	body, _ := json.Marshal(map[string]any{"type": typ, "data": data})
	sign := func() map[string]string {
		ts := time.Now()
		return map[string]string{"webhook-id": id, "webhook-timestamp": fmt.Sprint(ts.Unix()),
			"webhook-signature": generic.Sign(webhookSecret, id, ts, body)}
	}
	times := 1
	if d.chance(d.plan.Duplicate) {
		times = 2
	}
	for i := 0; i < times; i++ {
		d.delay()
		if status, b, err := d.send("/webhooks/generic", body, sign); err != nil || status != http.StatusOK {
			return fmt.Errorf("webhook %s = %d %s: %v", id, status, b, err)
		}
	}
	return nil
}

// stages delivers stage events for a referral, in a shuffled order when the
// plan reorders (later milestones imply earlier ones, so order is harmless).
func (d *chaosDriver) stages(id string, stages ...string) error {
	if d.plan.Reorder && d.chance(0.5) {
		for i, j := 0, len(stages)-1; i < j; i, j = i+1, j-1 {
			stages[i], stages[j] = stages[j], stages[i]
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(stages))
	for i, s := range stages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.deliver("evt-"+s+"-"+id, "deal.stage_changed", map[string]any{"referral_id": id, "stage": s})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func readAll(resp *http.Response) []byte {
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return buf.Bytes()
}

// chaosReferral is one referral the soak made.
type chaosReferral struct {
	j      journey
	id     string
	err    error // the driver could not do its part
	status string
}

// refer submits a referral with an Idempotency-Key, retried until stored.
func (d *chaosDriver) refer(j journey, n int) (string, error) {
	fields := map[string]string{"program": j.program(), "referrer_code": chaosCode(j.program()),
		"referee_email": fmt.Sprintf("ann.lee@chaos-co-%d-%d.example", n, time.Now().UnixNano()%1e9),
		"referee_name":  "Ann Lee", "referee_company": fmt.Sprintf("Chaos Co %d", n), "referee_country": "DE"}
	if j == jReviewApprove || j == jReviewReject || j == jReviewTimeout {
		fields["referee_country"] = "US" // outside the ICP: a person reviews it
	}
	body, _ := json.Marshal(fields)
	key := fmt.Sprintf("chaos-%d-%d", n, time.Now().UnixNano())
	status, b, err := d.send("/referrals", body, func() map[string]string { return map[string]string{"Idempotency-Key": key} })
	if err != nil || status != http.StatusAccepted {
		return "", fmt.Errorf("POST /referrals = %d %s: %v", status, b, err)
	}
	var a accepted
	if err := json.Unmarshal(b, &a); err != nil {
		return "", err
	}
	return a.ReferralID, nil
}

// statusOf reads a referral's status from the table.
func (d *chaosDriver) statusOf(id string) string {
	r, err := d.e.st.Referral(context.Background(), id)
	if err != nil {
		return ""
	}
	return string(r.Status)
}

// await polls until cond holds for referral id (or times out).
func (d *chaosDriver) await(id string, timeout time.Duration, cond func() bool) error {
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		if cond() {
			return nil
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("%s: timed out in status %s", id, d.statusOf(id))
}

// drive runs journey j for a new referral.
func (d *chaosDriver) drive(j journey, n int) chaosReferral {
	c := chaosReferral{j: j}
	if c.id, c.err = d.refer(j, n); c.err != nil {
		return c
	}
	// As an integration does once it has the referral id: the new
	// customer's Stripe customer, where its discount goes.
	if c.err = d.payee("/admin/referrals/"+c.id+"/payee", "customer", chaosCustomer(n)); c.err != nil {
		return c
	}
	c.err = d.act(j, c.id)
	return c
}

func (d *chaosDriver) act(j journey, id string) error {
	switch j {
	case jWon, jBudget:
		return d.stages(id, "qualified", "won")
	case jLost:
		return d.stages(id, "qualified", "lost")
	case jExpired, jReviewTimeout:
		return nil
	case jReviewApprove, jReviewReject:
		return d.review(id, j == jReviewApprove)
	case jRefundHold:
		if err := d.stages(id, "won"); err != nil {
			return err
		}
		// Refunded while held; if the hold ran out first (a slow,
		// retried delivery), it is a refund after payout, which nets 0 too.
		held := func() bool { s := d.rewardStatus(id); return s == rewards.StatusOnHold || s == rewards.StatusPaid }
		if err := d.awaitResuming(id, held); err != nil {
			return err
		}
		return d.deliver("evt-refund-"+id, "deal.refunded", map[string]any{"referral_id": id})
	case jRefundPaid:
		if err := d.stages(id, "won"); err != nil {
			return err
		}
		if err := d.awaitResuming(id, func() bool { return d.statusOf(id) == "completed" }); err != nil {
			return err
		}
		return d.deliver("evt-refund-"+id, "deal.refunded", map[string]any{"referral_id": id})
	}
	return fmt.Errorf("unknown journey %q", j)
}

// awaitResuming waits until cond holds for referral id, resuming it as
// an operator does when a step gave up on it (needs_attention) on the
// way: a journey goes on only from where the referral really is.
func (d *chaosDriver) awaitResuming(id string, cond func() bool) error {
	for attempt := 1; ; attempt++ {
		reached := func() bool { return cond() || d.statusOf(id) == "needs_attention" }
		if err := d.await(id, 150*time.Second, reached); err != nil {
			return err
		}
		if cond() {
			return nil
		}
		if attempt == 5 {
			return fmt.Errorf("%s: still needs attention after %d resumes", id, attempt-1)
		}
		if !d.resume(id) {
			return fmt.Errorf("%s: resume failed", id)
		}
		d.resumedOnTheWay.Add(1)
	}
}

func (d *chaosDriver) review(id string, approve bool) error {
	if err := d.awaitResuming(id, func() bool { return d.statusOf(id) == "in_review" }); err != nil {
		return err
	}
	decision := map[bool]string{true: "approve", false: "reject"}[approve]
	body, _ := json.Marshal(map[string]string{"decision": decision, "reason": "chaos soak"})
	auth := func() map[string]string { return map[string]string{"Authorization": "Bearer " + adminToken} }
	// As an operator does: a referral that needs attention cannot be
	// reviewed (409); resume it, wait for it to be back in review, decide again.
	for attempt := 1; ; attempt++ {
		status, b, err := d.send("/admin/referrals/"+id+"/review", body, auth)
		if err == nil && status == http.StatusOK {
			break
		}
		if err != nil || status != http.StatusConflict || d.statusOf(id) != "needs_attention" || attempt == 5 {
			return fmt.Errorf("review %s = %d %s: %v", id, status, b, err)
		}
		if !d.resume(id) {
			return fmt.Errorf("review %s: resume failed", id)
		}
		d.resumedOnTheWay.Add(1)
		if err := d.await(id, 150*time.Second, func() bool { return d.statusOf(id) != "needs_attention" }); err != nil {
			return err
		}
	}
	if approve {
		return d.stages(id, "qualified", "won")
	}
	return nil
}

// rewardStatus is the status of the referrer's won reward ("" if none).
func (d *chaosDriver) rewardStatus(id string) rewards.Status {
	rw, err := d.e.st.Reward(context.Background(), id, "won", "referrer")
	if err != nil {
		return ""
	}
	return rw.Status
}

// chaosSize is how many referrals the soak makes: CHAOS_REFERRALS, or 30.
func chaosSize(t *testing.T) int {
	if v := os.Getenv("CHAOS_REFERRALS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CHAOS_REFERRALS=%q is not a positive number", v)
		}
		return n
	}
	return 30
}

// TestChaosNothingStuckLostOrPaidWrongly is the soak.
func TestChaosNothingStuckLostOrPaidWrongly(t *testing.T) {
	n := chaosSize(t)
	seed := uint64(time.Now().UnixNano())
	plan := fmt.Sprintf(chaosPlan, seed)
	// The reconciler runs every 10 s: often enough to matter in a soak of
	// minutes, not so often that moto (single-threaded) spends itself on it.
	e := start(t, map[string]string{fault.Env: plan, "REFERFLOW_LOCAL_SCHEDULE_SECONDS": "10"})
	e.chaosPrograms()
	var p fault.Plan
	if err := json.Unmarshal([]byte(plan), &p); err != nil {
		t.Fatal(err)
	}
	d := &chaosDriver{e: e, plan: p.Webhooks, rng: rand.New(rand.NewPCG(seed, seed+1))}
	if err := d.partnerPayees(); err != nil {
		t.Fatal(err)
	}
	sf := stripeFaults(seed)
	if err := e.stripeChaos(sf); err != nil {
		t.Fatal(err)
	}
	t.Logf("fault plan seed %d, %d referrals; Stripe: %.0f%% of payout calls fail ambiguously", seed, n, sf.Probability*100)
	refs := d.run(n)
	report := e.chaosReport(d, refs)
	fmt.Print(report.table())
	report.check(t)
}

// run drives n referrals, a few at a time, then waits for them to settle.
func (d *chaosDriver) run(n int) []chaosReferral {
	refs := make([]chaosReferral, n)
	sem := make(chan struct{}, 12)
	var wg sync.WaitGroup
	for i := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			refs[i] = d.drive(journeys[i%len(journeys)], i)
		}()
	}
	wg.Wait()
	return refs
}
