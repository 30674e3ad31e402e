package stripe_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/fakes"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/stripe"
)

var partyOf = map[string]string{"cash": "referrer", "credit": "referee", "discount": "referee"}

// paid sends a reward of kind and returns it as paid, with its reference.
func paid(t *testing.T, rail *stripe.Rail, kind string) rewards.Reward {
	t.Helper()
	r := reward(kind, partyOf[kind])
	tr, err := rail.Send(context.Background(), r)
	if err != nil {
		t.Fatalf("send %s: %v", kind, err)
	}
	r.Status, r.Rail, r.Reference = rewards.StatusPaid, stripe.Method, tr.Reference
	return r
}

// reversals returns what the reversal of r left at the fake: transfer
// reversals, balance debits, or the promotion code when inactive.
func reversals(f *fakes.Stripe, r rewards.Reward) []map[string]any {
	switch r.Kind {
	case "cash":
		return f.Objects("reversals:" + r.Reference)
	case "credit":
		var out []map[string]any
		for _, t := range f.Objects("cbtxn:cus_new1") {
			if t["amount"].(float64) > 0 && t["type"] == "adjustment" {
				out = append(out, t)
			}
		}
		return out
	}
	var out []map[string]any
	for _, p := range f.Objects("promotion_codes") {
		if p["id"] == r.Reference && p["active"] == false {
			out = append(out, p)
		}
	}
	return out
}

func TestReverseEachKindOnce(t *testing.T) {
	cases := []struct{ kind, prefix string }{{"cash", "trr_"}, {"credit", "cbtxn_"}, {"discount", "promo_"}}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			f, rail := start(t)
			r := paid(t, rail, c.kind)
			ctx := context.Background()
			ref, err := rail.Reverse(ctx, r)
			if err != nil || !strings.HasPrefix(ref, c.prefix) || (c.kind == "discount") != (ref == r.Reference) {
				t.Fatalf("reverse: %q %v", ref, err)
			}
			again, err := rail.Reverse(ctx, r)
			if err != nil || again != ref {
				t.Fatalf("repeat: %q %v, want %q", again, err, ref)
			}
			control(t, f, "/clock", fakes.StripeClock{AdvanceSeconds: 25 * 3600})
			if late, err := rail.Reverse(ctx, r); err != nil || late != ref {
				t.Fatalf("repeat past the idempotency window: %q %v, want %q", late, err, ref)
			}
			got := reversals(f, r)
			if len(got) != 1 {
				t.Fatalf("%d reversals, want 1: %v", len(got), got)
			}
			meta := got[0]["metadata"].(map[string]any)
			if meta["reward_id"] != r.ID || meta["reversal_key"] != rewards.ReversalKey(r) {
				t.Fatalf("metadata %v", meta)
			}
			if c.kind != "discount" && got[0]["amount"] != float64(r.AmountMinor) {
				t.Fatalf("reversed %v, want the whole %d", got[0]["amount"], r.AmountMinor)
			}
		})
	}
}

func TestFindAfterReverse(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"cash", "credit", "discount"} {
		_, rail := start(t)
		r := paid(t, rail, kind)
		if _, err := rail.Reverse(ctx, r); err != nil {
			t.Fatalf("%s: reverse: %v", kind, err)
		}
		got, ok, err := rail.Find(ctx, r)
		if !ok || got.Reference != r.Reference {
			t.Fatalf("%s: find after the reversal: %+v %v %v, want the payment", kind, got, ok, err)
		}
		if (kind == "cash") != errors.Is(err, rewards.ErrReversed) {
			t.Fatalf("%s: find: %v", kind, err)
		}
	}
}

func TestReverseUnknownOutcomeThenRetry(t *testing.T) {
	pass := fakes.StripeFailure{DelayMS: 1} // the look-up goes through
	cases := []struct {
		name    string
		fails   []fakes.StripeFailure
		replays bool // Stripe keeps the 500 for the key: a retry in the window gets it again
	}{
		{"500 before reversing", []fakes.StripeFailure{pass, {Status: 500}}, true},
		{"500 after reversing", []fakes.StripeFailure{pass, {Status: 500, After: true}}, false},
		{"hang-up before reversing", []fakes.StripeFailure{pass, {Hangup: true}}, false},
		{"hang-up after reversing", []fakes.StripeFailure{pass, {Hangup: true, After: true}}, false},
		{"429", []fakes.StripeFailure{pass, {Status: 429, Code: "rate_limit"}}, false},
		{"the look-up fails", []fakes.StripeFailure{{Status: 503}}, false},
	}
	for _, kind := range []string{"cash", "credit", "discount"} {
		for _, c := range cases {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				f, _ := start(t)
				rail := freshConnections(t, f)
				r := paid(t, rail, kind)
				for _, fl := range c.fails {
					control(t, f, "/failures", fl)
				}
				ctx := context.Background()
				if _, err := rail.Reverse(ctx, r); !errors.Is(err, rewards.ErrUnknownOutcome) || errors.Is(err, rewards.ErrRefused) {
					t.Fatalf("reverse: %v, want ErrUnknownOutcome", err)
				}
				ref, err := rail.Reverse(ctx, r)
				if c.replays {
					if !errors.Is(err, rewards.ErrUnknownOutcome) {
						t.Fatalf("retry in the window: %q %v, want the 500 replayed", ref, err)
					}
					control(t, f, "/clock", fakes.StripeClock{AdvanceSeconds: 25 * 3600})
					ref, err = rail.Reverse(ctx, r)
				}
				if got := reversals(f, r); err != nil || len(got) != 1 || (kind != "discount" && got[0]["id"] != ref) {
					t.Fatalf("retry: %q %v; reversals %v, want exactly one", ref, err, got)
				}
			})
		}
	}
}

// freshConnections is a rail that opens a connection per request: net/http
// replays a request carrying an Idempotency-Key once by itself when a
// kept-alive connection hangs up (TestReverseHangupOnAKeptAliveConnection),
// which would hide the hang-up from the rail.
func freshConnections(t *testing.T, f *fakes.Stripe) *stripe.Rail {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	rail, err := stripe.New(stripe.Config{APIURL: f.URL(), APIKey: testKey, HTTPClient: hc}, testPayees)
	if err != nil {
		t.Fatal(err)
	}
	return rail
}

// TestReverseHangupOnAKeptAliveConnection: net/http's own replay of the
// reversal (same Idempotency-Key) can only get Stripe's first result.
func TestReverseHangupOnAKeptAliveConnection(t *testing.T) {
	for _, after := range []bool{false, true} {
		f, rail := start(t)
		r := paid(t, rail, "cash")
		control(t, f, "/failures", fakes.StripeFailure{DelayMS: 1})
		control(t, f, "/failures", fakes.StripeFailure{Hangup: true, After: after})
		ref, err := rail.Reverse(context.Background(), r)
		if got := reversals(f, r); err != nil || len(got) != 1 || got[0]["id"] != ref {
			t.Fatalf("after=%v: %q %v; reversals %v, want exactly one", after, ref, err, got)
		}
	}
}

func TestReverseRefusals(t *testing.T) {
	cases := []struct {
		name   string
		kind   string
		setup  func(t *testing.T, f *fakes.Stripe, r rewards.Reward)
		reason string
	}{
		{"a redeemed promotion code", "discount", func(t *testing.T, f *fakes.Stripe, r rewards.Reward) {
			control(t, f, "/promotion_codes/"+r.Reference+"/redeem", struct{}{})
		}, "redeemed"},
		{"credit used in full", "credit", func(t *testing.T, f *fakes.Stripe, r rewards.Reward) {
			control(t, f, "/customers/cus_new1/apply", fakes.StripeApply{Amount: r.AmountMinor})
		}, "credit was used"},
		{"the connected account's balance is short", "cash", func(t *testing.T, f *fakes.Stripe, _ rewards.Reward) {
			control(t, f, "/failures", fakes.StripeFailure{DelayMS: 1})
			control(t, f, "/failures", fakes.StripeFailure{Status: 400, Code: "balance_insufficient", Message: "Insufficient funds."})
		}, "balance_insufficient"},
		{"a transfer Stripe does not know", "cash", func(t *testing.T, f *fakes.Stripe, r rewards.Reward) {}, "resource_missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, rail := start(t)
			r := paid(t, rail, c.kind)
			if c.reason == "resource_missing" {
				r.Reference = "tr_unknown"
			}
			c.setup(t, f, r)
			_, err := rail.Reverse(context.Background(), r)
			if !errors.Is(err, rewards.ErrRefused) || errors.Is(err, rewards.ErrUnknownOutcome) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("reverse: %v, want ErrRefused with %q", err, c.reason)
			}
			if got := reversals(f, r); len(got) != 0 && c.kind != "discount" {
				t.Fatalf("reversals after a refusal: %v", got)
			}
		})
	}
}

func TestReverseCreditTakesBackOnlyTheUnused(t *testing.T) {
	f, rail := start(t)
	r := paid(t, rail, "credit")
	control(t, f, "/customers/cus_new1/apply", fakes.StripeApply{Amount: 2000})
	if _, err := rail.Reverse(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	got := reversals(f, r)
	if len(got) != 1 || got[0]["amount"] != float64(3000) || got[0]["ending_balance"] != float64(0) {
		t.Fatalf("debits %v, want one of 3000 ending at 0", got)
	}
}

func TestReverseAlreadyReversedTransfer(t *testing.T) {
	f, rail := start(t)
	r := paid(t, rail, "cash")
	control(t, f, "/transfers/"+r.Reference+"/reverse", struct{}{})
	before := f.Objects("reversals:" + r.Reference)
	ref, err := rail.Reverse(context.Background(), r)
	if err != nil || len(before) != 1 || ref != before[0]["id"] || len(f.Objects("reversals:"+r.Reference)) != 1 {
		t.Fatalf("reverse: %q %v; reversals %v", ref, err, f.Objects("reversals:"+r.Reference))
	}
}

func TestReverseWithoutACall(t *testing.T) {
	cases := []struct {
		name string
		kind string
		ref  string
		want error // nil: any error
	}{
		{"a gift card", "gift_card", "tr_1", rewards.ErrRefused},
		{"no reference", "cash", "", nil},
	}
	for _, c := range cases {
		f, rail := start(t)
		r := reward(c.kind, "referrer")
		r.Reference = c.ref
		_, err := rail.Reverse(context.Background(), r)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) || f.Requests() != 0 {
			t.Fatalf("%s: %v, %d requests", c.name, err, f.Requests())
		}
	}
	f, _ := start(t)
	rail, _ := stripe.New(stripe.Config{APIURL: f.URL(), APIKey: testKey}, payees{})
	r := reward("credit", "referee")
	r.Reference = "cbtxn_1"
	if _, err := rail.Reverse(context.Background(), r); !errors.Is(err, stripe.ErrNoDestination) || f.Requests() != 0 {
		t.Fatalf("credit without a customer: %v", err)
	}
}

// TestReverseRequestShapesAgainstStripeMock reverses every kind against
// stripe-mock, which validates each request against Stripe's OpenAPI spec
// (its fixtures are not the reward's: a refusal for that is fine, an
// answer of 400 to a request's shape is not).
func TestReverseRequestShapesAgainstStripeMock(t *testing.T) {
	base, err := url.Parse(startStripeMock(t))
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	mock := httputil.NewSingleHostReverseProxy(base)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		calls = append(calls, req.Method+" "+req.URL.Path)
		mock.ServeHTTP(w, req)
	}))
	t.Cleanup(proxy.Close)
	rail, err := stripe.New(stripe.Config{APIURL: proxy.URL, APIKey: "sk_test_123", HTTPClient: &http.Client{Timeout: 10 * time.Second}}, testPayees)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]string{"cash": "tr_123", "credit": "cbtxn_123", "discount": "promo_123"}
	for kind, ref := range refs {
		r := reward(kind, partyOf[kind])
		r.Reference = ref
		ref, err := rail.Reverse(context.Background(), r)
		t.Logf("%s: %q %v", kind, ref, err)
		if err != nil && (strings.Contains(err.Error(), "answered 400") || errors.Is(err, rewards.ErrUnknownOutcome)) {
			t.Errorf("%s: %v", kind, err)
		}
	}
	// The promotion code update is not reached: stripe-mock's code is no
	// reward's (its shape is the fake's to check).
	for _, want := range []string{"POST /v1/transfers/tr_123/reversals", "POST /v1/customers/cus_new1/balance_transactions"} {
		if !strings.Contains(strings.Join(calls, ","), want) {
			t.Errorf("calls %v: %s was not checked", calls, want)
		}
	}
}
