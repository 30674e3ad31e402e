package stripe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/fakes"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/stripe"
)

const testKey = "sk_test_referflow"

type payees map[string]stripe.Details

func (p payees) Payee(_ context.Context, _, party, _ string) (stripe.Details, error) {
	return p[party], nil
}

var testPayees = payees{
	"referrer": {Account: "acct_partner1"},
	"referee":  {Customer: "cus_new1"},
}

func reward(kind, party string) rewards.Reward {
	id := rewards.RewardID("ref_1", "won", party+kind)
	return rewards.Reward{ID: id, ReferralID: "ref_1", ProgramID: "prog_1", Milestone: "won", Party: party,
		Kind: kind, AmountMinor: 5000, Currency: "USD", IdempotencyKey: rewards.IdempotencyKey(id)}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func start(t *testing.T) (*fakes.Stripe, *stripe.Rail) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	f, err := fakes.NewStripe(testKey, c.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	r, err := stripe.New(stripe.Config{APIURL: f.URL(), APIKey: testKey}, testPayees)
	if err != nil {
		t.Fatal(err)
	}
	return f, r
}

func control(t *testing.T, f *fakes.Stripe, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	w := httptest.NewRecorder()
	f.Admin().ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(b)))
	if w.Code != http.StatusOK {
		t.Fatalf("control %s: %d %s", path, w.Code, w.Body)
	}
}

func TestSendPaysOnceAndRepeatReplays(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"cash", "credit", "discount"} {
		t.Run(kind, func(t *testing.T) {
			f, rail := start(t)
			party := map[string]string{"cash": "referrer", "credit": "referee", "discount": "referee"}[kind]
			r := reward(kind, party)
			first, err := rail.Send(ctx, r)
			if err != nil || first.Method != "stripe" || first.Reference == "" {
				t.Fatalf("send: %+v %v", first, err)
			}
			again, err := rail.Send(ctx, r)
			if err != nil || again != first {
				t.Fatalf("repeat: %+v %v, want %+v", again, err, first)
			}
			found, ok, err := rail.Find(ctx, r)
			if err != nil || !ok || found != first {
				t.Fatalf("find: %+v %v %v", found, ok, err)
			}
			lists := map[string]string{"cash": "transfers", "credit": "cbtxn:cus_new1", "discount": "promotion_codes"}
			if n := len(f.Objects(lists[kind])); n != 1 {
				t.Fatalf("%d objects in %s, want 1", n, lists[kind])
			}
		})
	}
}

func TestTransferShape(t *testing.T) {
	f, rail := start(t)
	r := reward("cash", "referrer")
	if _, err := rail.Send(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	tr := f.Objects("transfers")[0]
	meta := tr["metadata"].(map[string]any)
	if tr["amount"] != float64(5000) || tr["currency"] != "usd" || tr["destination"] != "acct_partner1" ||
		tr["transfer_group"] != r.ID || meta["reward_id"] != r.ID || meta["idempotency_key"] != r.IdempotencyKey {
		t.Fatalf("transfer %v", tr)
	}
}

func TestUnknownOutcomeThenFind(t *testing.T) {
	cases := []struct {
		name string
		fail fakes.StripeFailure
	}{
		{"500 after paying", fakes.StripeFailure{Status: 500, After: true}},
		{"hang-up after paying", fakes.StripeFailure{Hangup: true, After: true}},
		{"409", fakes.StripeFailure{Status: 409, Code: "idempotency_key_in_use", After: true}},
		{"429", fakes.StripeFailure{Status: 429, Code: "rate_limit", After: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, rail := start(t)
			r := reward("cash", "referrer")
			control(t, f, "/failures", c.fail)
			_, err := rail.Send(context.Background(), r)
			if !errors.Is(err, rewards.ErrUnknownOutcome) || errors.Is(err, rewards.ErrRefused) {
				t.Fatalf("send: %v, want ErrUnknownOutcome", err)
			}
			got, ok, err := rail.Find(context.Background(), r)
			tr := f.Objects("transfers")
			if err != nil || !ok || len(tr) != 1 || got.Reference != tr[0]["id"] {
				t.Fatalf("find: %+v %v %v; transfers %v", got, ok, err, tr)
			}
		})
	}
}

func TestFindPastTheIdempotencyWindow(t *testing.T) {
	f, rail := start(t)
	r := reward("cash", "referrer")
	sent, err := rail.Send(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	control(t, f, "/clock", fakes.StripeClock{AdvanceSeconds: int64((25 * time.Hour).Seconds())})
	got, ok, err := rail.Find(context.Background(), r)
	if err != nil || !ok || got != sent {
		t.Fatalf("find past the window: %+v %v %v", got, ok, err)
	}
	other := reward("cash", "referrer")
	other.ID, other.IdempotencyKey = "rw_other", "referflow-rw_other"
	if _, ok, err := rail.Find(context.Background(), other); ok || err != nil {
		t.Fatalf("find of an unpaid reward: %v %v", ok, err)
	}
}

func TestDefiniteRefusal(t *testing.T) {
	f, rail := start(t)
	r := reward("cash", "referrer")
	control(t, f, "/failures", fakes.StripeFailure{Status: 400, Code: "insufficient_funds", Message: "Insufficient funds in Stripe account."})
	_, err := rail.Send(context.Background(), r)
	if !errors.Is(err, rewards.ErrRefused) || !strings.Contains(err.Error(), "insufficient_funds") {
		t.Fatalf("send: %v, want ErrRefused with the reason", err)
	}
	if n := len(f.Objects("transfers")); n != 0 {
		t.Fatalf("%d transfers after a refusal", n)
	}
	noAccount := payees{}
	rail2, _ := stripe.New(stripe.Config{APIURL: f.URL(), APIKey: testKey}, noAccount)
	if _, err := rail2.Send(context.Background(), r); !errors.Is(err, stripe.ErrNoDestination) {
		t.Fatalf("send without an account: %v", err)
	}
}

func TestReversedTransferIsReported(t *testing.T) {
	f, rail := start(t)
	r := reward("cash", "referrer")
	sent, err := rail.Send(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	control(t, f, "/transfers/"+sent.Reference+"/reverse", struct{}{})
	got, ok, err := rail.Find(context.Background(), r)
	if !ok || got.Reference != sent.Reference || !errors.Is(err, rewards.ErrReversed) {
		t.Fatalf("find: %+v %v %v, want found with ErrReversed", got, ok, err)
	}
}

func TestDiscountCompletesAfterCouponOnly(t *testing.T) {
	f, rail := start(t)
	r := reward("discount", "referee")
	// The coupon call goes through (a 1 ms delay), the promotion code call fails.
	control(t, f, "/failures", fakes.StripeFailure{DelayMS: 1})
	control(t, f, "/failures", fakes.StripeFailure{Status: 500})
	if _, err := rail.Send(context.Background(), r); !errors.Is(err, rewards.ErrUnknownOutcome) {
		t.Fatalf("send: %v", err)
	}
	if _, ok, err := rail.Find(context.Background(), r); ok || err != nil {
		t.Fatalf("find with the coupon only: %v %v", ok, err)
	}
	control(t, f, "/clock", fakes.StripeClock{AdvanceSeconds: 25 * 3600})
	sent, err := rail.Send(context.Background(), r)
	if err != nil || sent.Reference == "" || len(f.Objects("coupons")) != 1 || len(f.Objects("promotion_codes")) != 1 {
		t.Fatalf("completing send: %+v %v", sent, err)
	}
	if c := f.Objects("promotion_codes")[0]["code"]; c != stripe.PromotionCode(r) {
		t.Fatalf("code %v", c)
	}
}

func TestErrorClassification(t *testing.T) {
	cases := []struct {
		fail fakes.StripeFailure
		want error
	}{
		{fakes.StripeFailure{Status: 400, Code: "invalid_request"}, rewards.ErrRefused},
		{fakes.StripeFailure{Status: 402, Type: "card_error", Code: "insufficient_funds"}, rewards.ErrRefused},
		{fakes.StripeFailure{Status: 403, Code: "account_invalid"}, rewards.ErrRefused},
		{fakes.StripeFailure{Status: 404, Code: "resource_missing"}, rewards.ErrRefused},
		{fakes.StripeFailure{Status: 400, Type: "idempotency_error"}, rewards.ErrUnknownOutcome},
		{fakes.StripeFailure{Status: 409, Code: "lock_timeout"}, rewards.ErrUnknownOutcome},
		{fakes.StripeFailure{Status: 429, Code: "rate_limit"}, rewards.ErrUnknownOutcome},
		{fakes.StripeFailure{Status: 500}, rewards.ErrUnknownOutcome},
		{fakes.StripeFailure{Status: 503}, rewards.ErrUnknownOutcome},
		{fakes.StripeFailure{Hangup: true}, rewards.ErrUnknownOutcome},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%d %s %s hangup=%v", c.fail.Status, c.fail.Type, c.fail.Code, c.fail.Hangup)
		t.Run(name, func(t *testing.T) {
			f, rail := start(t)
			control(t, f, "/failures", c.fail)
			_, err := rail.Send(context.Background(), reward("cash", "referrer"))
			other := rewards.ErrRefused
			if c.want == rewards.ErrRefused {
				other = rewards.ErrUnknownOutcome
			}
			if !errors.Is(err, c.want) || errors.Is(err, other) {
				t.Fatalf("send: %v, want %v", err, c.want)
			}
			if c.fail.Code != "" && !strings.Contains(err.Error(), c.fail.Code) {
				t.Fatalf("the reason %q is not in %v", c.fail.Code, err)
			}
		})
	}
}

func TestNewChecksItsConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  stripe.Config
		ok   bool
	}{
		{"default URL", stripe.Config{APIKey: "sk_test_1"}, true},
		{"sandbox-like URL", stripe.Config{APIKey: "sk_test_1", APIURL: "http://127.0.0.1:12111"}, true},
		{"no key", stripe.Config{}, false},
		{"not a URL", stripe.Config{APIKey: "sk_test_1", APIURL: "api.stripe.com"}, false},
		{"ftp", stripe.Config{APIKey: "sk_test_1", APIURL: "ftp://x"}, false},
	}
	for _, c := range cases {
		if _, err := stripe.New(c.cfg, testPayees); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if _, err := stripe.New(stripe.Config{APIKey: "sk_test_1"}, nil); err == nil {
		t.Error("nil payees accepted")
	}
}

func TestOtherKindsAreRefusedWithoutACall(t *testing.T) {
	f, rail := start(t)
	_, err := rail.Send(context.Background(), reward("gift_card", "referrer"))
	if !errors.Is(err, rewards.ErrRefused) || f.Requests() != 0 {
		t.Fatalf("gift card: %v, %d requests", err, f.Requests())
	}
}

func TestTwoSendersAtOncePayOnce(t *testing.T) {
	f, rail := start(t)
	r := reward("cash", "referrer")
	control(t, f, "/failures", fakes.StripeFailure{DelayMS: 300})
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 100 * time.Millisecond)
			_, errs[i] = rail.Send(context.Background(), r)
		})
	}
	wg.Wait()
	if errs[0] != nil || !errors.Is(errs[1], rewards.ErrUnknownOutcome) {
		t.Fatalf("sends: %v, want success and an unknown outcome (409)", errs)
	}
	if got, ok, err := rail.Find(context.Background(), r); !ok || err != nil || len(f.Objects("transfers")) != 1 || got.Reference != f.Objects("transfers")[0]["id"] {
		t.Fatalf("find: %+v %v %v", got, ok, err)
	}
}
