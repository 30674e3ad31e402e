package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/fakes"
	"github.com/referflow/referflow/internal/rewards"
)

// demoStripeAccount is the demo partner's connected account the local seed
// records (infra/local/seed.go).
const demoStripeAccount = "acct_1DemoPartner00001"

// stripeFakeState is GET /_local/stripe/: the Stripe fake's state.
type stripeFakeState struct {
	Requests int                         `json:"requests"`
	Objects  map[string][]map[string]any `json:"objects"`
}

// objects is one list of the fake ("transfers", "coupons", "promotion_codes").
func (s stripeFakeState) objects(list string) []map[string]any { return s.Objects[list] }

func (e *env) stripeFake() stripeFakeState {
	e.t.Helper()
	resp, err := e.http.Get(e.api + fakes.Prefix + "stripe/")
	if err != nil {
		e.t.Fatalf("GET the Stripe fake's state: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var s stripeFakeState
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &s) != nil {
		e.t.Fatalf("GET the Stripe fake's state = %d %s", resp.StatusCode, b)
	}
	return s
}

// stripeFail makes the Stripe fake fail its next API request as f says.
func (e *env) stripeFail(f fakes.StripeFailure) {
	e.t.Helper()
	body, _ := json.Marshal(f)
	code, b, _ := e.post(fakes.Prefix+"stripe/failures", "application/json", body, nil)
	if code != http.StatusOK {
		e.t.Fatalf("POST the Stripe fake's failures = %d %s", code, b)
	}
}

// functionInvocations is how many invocations of a function (logical id)
// have ended, from the stack's meter.
func (e *env) functionInvocations(logicalID string) int {
	e.t.Helper()
	resp, err := e.http.Get(e.api + "/__referflow/stats")
	if err != nil {
		e.t.Fatalf("GET /__referflow/stats: %v", err)
	}
	defer resp.Body.Close()
	var s struct {
		Functions map[string]struct {
			Invocations int `json:"invocations"`
		} `json:"functions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		e.t.Fatalf("stats: %v", err)
	}
	return s.Functions[logicalID].Invocations
}

// runPayouts fires the payouts runner's schedule now and waits until that
// run has ended.
func (e *env) runPayouts() {
	e.t.Helper()
	before := e.functionInvocations("PayoutsFunction")
	code, b, _ := e.post("/__referflow/schedules/PayoutsFunction/run", "", nil, nil)
	if code != http.StatusAccepted {
		e.t.Fatalf("fire PayoutsFunction = %d %s", code, b)
	}
	e.eventually("the payouts run to end", 60*time.Second, func() (bool, string) {
		n := e.functionInvocations("PayoutsFunction")
		return n > before, fmt.Sprintf("%d runs ended", n)
	})
}

// setRefereePayee records the referee's Stripe customer through the admin API.
func (e *env) setRefereePayee(referralID, customer string) {
	e.t.Helper()
	code, body := e.admin(http.MethodPut, "/admin/referrals/"+referralID+"/payee", adminToken,
		map[string]any{"method": "stripe", "details": map[string]string{"customer": customer}})
	if code != http.StatusOK {
		e.t.Fatalf("PUT the referee's payee = %d %v", code, body)
	}
}

// qualified reports the deal qualified through a signed generic webhook.
func (e *env) qualified(id string) {
	e.t.Helper()
	if code, b := e.genericEvent("evt-qualified-"+id, map[string]any{"referral_id": id, "stage": "qualified"}); code != http.StatusOK {
		e.t.Fatalf("generic qualified = %d %s", code, b)
	}
}

// storedReward is a referral's reward as the table holds it.
func (e *env) storedReward(referralID, milestone, party string) (rewards.Reward, bool) {
	e.t.Helper()
	rws, err := e.st.Rewards(context.Background(), referralID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range rws {
		if r.Milestone == milestone && r.Party == party {
			return r, true
		}
	}
	return rewards.Reward{}, false
}

// waitReward waits until the reward has status want and returns it.
func (e *env) waitReward(referralID, milestone, party string, want rewards.Status, timeout time.Duration) rewards.Reward {
	e.t.Helper()
	var r rewards.Reward
	e.eventually(fmt.Sprintf("%s/%s reward %s", milestone, party, want), timeout, func() (bool, string) {
		var ok bool
		r, ok = e.storedReward(referralID, milestone, party)
		return ok && r.Status == want, fmt.Sprintf("%+v", r)
	})
	return r
}

// referee returns a unique referee company and email for a test whose
// name is too long for company's domain label (at most 63 characters).
func referee(tag string) (name, email string) {
	n := seq.Add(1)
	return fmt.Sprintf("Payouts %s %d", tag, n), fmt.Sprintf("jane.doe@payouts-%s-%d.example", tag, n)
}

// forReward keeps the fake's objects whose metadata names reward id.
func forReward(objs []map[string]any, rewardID string) []map[string]any {
	var out []map[string]any
	for _, o := range objs {
		if md, _ := o["metadata"].(map[string]any); md != nil && md["reward_id"] == rewardID {
			out = append(out, o)
		}
	}
	return out
}

func amountOf(o map[string]any, field string) int64 {
	f, _ := o[field].(float64)
	return int64(f)
}

// The example program's journey paying through Stripe: the partner's two
// cash rewards as one Connect transfer each to its account, the new
// customer's discount as one coupon with a promotion code only that
// customer can redeem; each reward paid once with the fake's object as its
// reference, on the reward, its ledger entry and the activity.
func TestExampleProgramPaysThePartnerThroughStripeAndTheDiscountAsACoupon(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := referee("journey")
	a := e.refer(email, name)
	const customer = "cus_E2eExampleJourney1"
	e.setRefereePayee(a.ReferralID, customer)
	e.waitWaiting(a.ReferralID, "qualified")
	e.qualified(a.ReferralID)
	e.waitReward(a.ReferralID, "qualified", "referrer", rewards.StatusPaid, 60*time.Second)
	e.waitWaiting(a.ReferralID, "won")
	e.won(a.ReferralID)
	e.waitStatus(a, "completed", 90*time.Second)

	fake := e.stripeFake()
	transfers, coupons, codes := fake.objects("transfers"), fake.objects("coupons"), fake.objects("promotion_codes")
	if len(transfers) != 2 || len(coupons) != 1 || len(codes) != 1 {
		t.Fatalf("the fake holds %d transfers, %d coupons, %d promotion codes; want 2, 1, 1:\n%+v", len(transfers), len(coupons), len(codes), fake.Objects)
	}
	var amounts []int64
	for _, tr := range transfers {
		amounts = append(amounts, amountOf(tr, "amount"))
		if tr["destination"] != demoStripeAccount || tr["currency"] != "usd" {
			t.Errorf("transfer %v: want usd to %s", tr, demoStripeAccount)
		}
	}
	sort.Slice(amounts, func(i, j int) bool { return amounts[i] < amounts[j] })
	if amounts[0] != 10000 || amounts[1] != 50000 {
		t.Errorf("transfer amounts %v, want 100.00 and 500.00", amounts)
	}
	coupon, code := coupons[0], codes[0]
	if amountOf(coupon, "amount_off") != 100000 || coupon["currency"] != "usd" || coupon["duration"] != "once" {
		t.Errorf("coupon %v: want 1000.00 USD off once", coupon)
	}
	if code["customer"] != customer || code["promotion"].(map[string]any)["coupon"] != coupon["id"] {
		t.Errorf("promotion code %v: want it for coupon %v restricted to %s", code, coupon["id"], customer)
	}

	entries := e.ledgerEntries(a.ReferralID)
	entryOf := map[string]rewards.Entry{}
	for _, en := range entries {
		entryOf[en.RewardID] = en
	}
	want := []struct {
		milestone, party string
		objs             []map[string]any
	}{{"qualified", "referrer", transfers}, {"won", "referrer", transfers}, {"won", "referee", codes}}
	view := e.adminView(a.ReferralID)
	for _, w := range want {
		r, _ := e.storedReward(a.ReferralID, w.milestone, w.party)
		mine := forReward(w.objs, r.ID)
		if len(mine) != 1 {
			t.Errorf("%s/%s: %d objects at the fake carry its reward id, want 1", w.milestone, w.party, len(mine))
			continue
		}
		ref, _ := mine[0]["id"].(string)
		if r.Status != rewards.StatusPaid || r.Rail != "stripe" || r.Reference != ref {
			t.Errorf("%s/%s reward = %s via %q ref %q, want paid via stripe ref %s", w.milestone, w.party, r.Status, r.Rail, r.Reference, ref)
		}
		if en := entryOf[r.ID]; en.Method != "stripe" || en.Reference != ref {
			t.Errorf("%s/%s ledger entry = %+v, want method stripe, reference %s", w.milestone, w.party, en, ref)
		}
		if !view.logged("through Stripe (" + ref + ")") {
			t.Errorf("the activity does not say %s/%s was paid through Stripe (%s): %+v", w.milestone, w.party, ref, view.Activity)
		}
	}
	if len(entries) != 3 {
		t.Errorf("%d ledger entries, want 3", len(entries))
	}
	if !strings.HasPrefix(entryOf[rewardIDOf(e, a.ReferralID, "qualified", "referrer")].Reference, "tr_") {
		t.Errorf("the cash reward's reference is not a transfer: %+v", entries)
	}
}

func rewardIDOf(e *env, referralID, milestone, party string) string {
	r, _ := e.storedReward(referralID, milestone, party)
	return r.ID
}

// A reward whose party has no payout method waits on hold, "no payout
// method", and nothing reaches the rail for it; once the payee is
// recorded, the payouts runner pays it, once.
func TestARewardWaitsForItsPayoutMethodThenThePayoutsRunnerPaysIt(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := referee("payee")
	a := e.referNoPayee(email, name)
	e.waitWaiting(a.ReferralID, "qualified")
	e.qualified(a.ReferralID)
	e.waitWaiting(a.ReferralID, "won")
	e.won(a.ReferralID)
	e.waitReward(a.ReferralID, "won", "referrer", rewards.StatusPaid, 90*time.Second)
	var waiting rewards.Reward
	e.eventually("the referee's discount to wait for its payout method", 60*time.Second, func() (bool, string) {
		waiting, _ = e.storedReward(a.ReferralID, "won", "referee")
		return waiting.Status == rewards.StatusOnHold && waiting.StatusReason == rewards.ReasonNoPayoutMethod, fmt.Sprintf("%+v", waiting)
	})
	fake := e.stripeFake()
	if n := len(fake.objects("coupons")) + len(fake.objects("promotion_codes")); n != 0 {
		t.Fatalf("the rail was called for a reward without a payee: %+v", fake.Objects)
	}
	if len(fake.objects("transfers")) != 2 {
		t.Fatalf("transfers %+v, want the partner's two", fake.objects("transfers"))
	}

	const customer = "cus_E2eWaitsForPayee1"
	e.setRefereePayee(a.ReferralID, customer)
	e.assertDueNow(waiting)
	e.runPayouts()
	paid := e.waitReward(a.ReferralID, "won", "referee", rewards.StatusPaid, 30*time.Second)
	e.runPayouts() // a second run changes nothing
	fake = e.stripeFake()
	codes := forReward(fake.objects("promotion_codes"), waiting.ID)
	if len(codes) != 1 || len(fake.objects("coupons")) != 1 || codes[0]["customer"] != customer {
		t.Fatalf("the fake holds coupons %+v, codes %+v; want one coupon and one code for %s", fake.objects("coupons"), fake.objects("promotion_codes"), customer)
	}
	if paid.Reference != codes[0]["id"] || paid.Rail != "stripe" {
		t.Errorf("paid reward = %+v, want reference %v", paid, codes[0]["id"])
	}
	if r, _ := e.storedReward(a.ReferralID, "won", "referee"); r.Status != rewards.StatusPaid {
		t.Errorf("after a second run the reward is %s", r.Status)
	}
}

// assertDueNow checks that reward rw is filed for the payouts runner at
// or before now, naming when it is filed otherwise.
func (e *env) assertDueNow(rw rewards.Reward) {
	e.t.Helper()
	now := time.Now()
	filed, err := e.st.DueRewards(context.Background(), now.Add(30*24*time.Hour), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, d := range filed {
		if d.RewardID == rw.ID && d.At.After(now) {
			e.t.Errorf("once its payee is recorded the reward is still filed for the runner at %s, not now", d.At.Format(time.RFC3339))
		}
		if d.RewardID == rw.ID {
			return
		}
	}
	e.t.Errorf("reward %s is not filed for the payouts runner", rw.ID)
}

// failedList is GET /admin/rewards/failed.
func (e *env) failedList() []rewards.Reward {
	e.t.Helper()
	code, body := e.admin(http.MethodGet, "/admin/rewards/failed", adminToken, nil)
	if code != http.StatusOK {
		e.t.Fatalf("GET /admin/rewards/failed = %d %v", code, body)
	}
	raw, _ := json.Marshal(body["rewards"])
	var out []rewards.Reward
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// A definite refusal by the rail fails the reward with the rail's reason
// for a person; nothing retries it (the runner leaves it and the rail is
// not called); the person's re-arm pays it once under a new key.
func TestARefusedPayoutFailsForAPersonWhoReArmsIt(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := referee("refused")
	a := e.refer(email, name)
	e.waitWaiting(a.ReferralID, "qualified")
	e.stripeFail(fakes.StripeFailure{Status: 400, Type: "invalid_request_error", Code: "account_invalid",
		Message: "The destination account cannot receive transfers."})
	e.qualified(a.ReferralID)
	failed := e.waitReward(a.ReferralID, "qualified", "referrer", rewards.StatusFailed, 60*time.Second)
	if !strings.Contains(failed.StatusReason, "account_invalid") || !strings.Contains(failed.StatusReason, "cannot receive transfers") {
		t.Errorf("failed reason %q, want the rail's code and message", failed.StatusReason)
	}
	listed := e.failedList()
	if len(listed) != 1 || listed[0].ID != failed.ID || listed[0].StatusReason != failed.StatusReason {
		t.Fatalf("GET /admin/rewards/failed = %+v, want the failed reward", listed)
	}
	before := e.stripeFake()
	if len(before.objects("transfers")) != 0 {
		t.Fatalf("a refused transfer exists at the fake: %+v", before.objects("transfers"))
	}
	e.runPayouts()
	if after := e.stripeFake(); after.Requests != before.Requests {
		t.Fatalf("the payouts runner called the rail for a failed reward (%d requests, then %d)", before.Requests, after.Requests)
	}
	if r, _ := e.storedReward(a.ReferralID, "qualified", "referrer"); r.Status != rewards.StatusFailed {
		t.Fatalf("after the runner the reward is %s, want failed", r.Status)
	}

	code, body := e.admin(http.MethodPost, "/admin/rewards/"+a.ReferralID+"/qualified/referrer/rearm", adminToken, nil)
	if code != http.StatusOK {
		t.Fatalf("rearm = %d %v", code, body)
	}
	paid := e.waitReward(a.ReferralID, "qualified", "referrer", rewards.StatusPaid, 30*time.Second)
	transfers := e.stripeFake().objects("transfers")
	if len(transfers) != 1 {
		t.Fatalf("transfers at the fake %+v, want exactly one", transfers)
	}
	md, _ := transfers[0]["metadata"].(map[string]any)
	if paid.Reference != transfers[0]["id"] || paid.Generation != 1 || !strings.HasSuffix(paid.IdempotencyKey, "-g1") || md["idempotency_key"] != paid.IdempotencyKey {
		t.Errorf("paid reward %+v, transfer %+v: want generation 1 (key …-g1) and the transfer as reference", paid, transfers[0])
	}
	if len(e.failedList()) != 0 {
		t.Error("the paid reward is still listed as failed")
	}
	if n := len(e.ledgerEntries(a.ReferralID)); n != 1 {
		t.Errorf("%d ledger entries, want 1", n)
	}
}

// A call whose outcome is unknown (the rail carried the transfer out, then
// hung up) is resolved by looking the payment up, never by sending again:
// one transfer at the fake, the reward paid with it.
func TestAnAmbiguousPayoutIsResolvedByLookupNotBySendingAgain(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := referee("ambiguous")
	a := e.refer(email, name)
	e.waitWaiting(a.ReferralID, "qualified")
	e.stripeFail(fakes.StripeFailure{Hangup: true, After: true})
	e.qualified(a.ReferralID)
	paid := e.waitReward(a.ReferralID, "qualified", "referrer", rewards.StatusPaid, 90*time.Second)
	e.runPayouts() // a later run pays nothing more
	fake := e.stripeFake()
	transfers := fake.objects("transfers")
	if len(transfers) != 1 || paid.Reference != transfers[0]["id"] {
		t.Fatalf("transfers %+v, reward %+v: want exactly one transfer, the reward's reference", transfers, paid)
	}
	// The transfer that hung up, then one look-up that found it: the
	// transfer was not posted again.
	if fake.Requests != 2 {
		t.Errorf("the fake served %d requests, want 2 (the transfer that hung up, the look-up)", fake.Requests)
	}
	if n := len(e.ledgerEntries(a.ReferralID)); n != 1 {
		t.Errorf("%d ledger entries, want 1", n)
	}
}
