package fakes

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

func newStripeFake(t *testing.T) *Stripe {
	t.Helper()
	f, err := NewStripe("sk_test_fake", func() time.Time { return time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func newTransfer(t *testing.T, f *Stripe, amount string) string {
	t.Helper()
	st, body, _ := stripeCall(t, f, "POST", "/v1/transfers", "", transferForm(amount))
	if st != 200 {
		t.Fatalf("transfer: %d %v", st, body)
	}
	return body["id"].(string)
}

func adminCall(f *Stripe, path string, v any) *httptest.ResponseRecorder {
	b, _ := json.Marshal(v)
	w := httptest.NewRecorder()
	f.Admin().ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(b)))
	return w
}

func TestStripeFakeTransferReversals(t *testing.T) {
	type step struct {
		amount string // "" reverses what is left
		status int
	}
	cases := []struct {
		name     string
		steps    []step
		reversed bool
		left     float64
		count    int
	}{
		{"whole", []step{{"", 200}}, true, 0, 1},
		{"part then the rest", []step{{"300", 200}, {"", 200}}, true, 0, 2},
		{"part only", []step{{"300", 200}}, false, 700, 1},
		{"again once reversed in full", []step{{"", 200}, {"", 400}}, true, 0, 1},
		{"more than is left", []step{{"600", 200}, {"500", 400}}, false, 400, 1},
		{"not a positive amount", []step{{"-5", 400}}, false, 1000, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newStripeFake(t)
			id := newTransfer(t, f, "1000")
			for i, s := range c.steps {
				form := url.Values{"metadata[reward_id]": {"rw_1"}}
				if s.amount != "" {
					form.Set("amount", s.amount)
				}
				st, body, _ := stripeCall(t, f, "POST", "/v1/transfers/"+id+"/reversals", "", form)
				if st != s.status {
					t.Fatalf("step %d: %d %v, want %d", i, st, body, s.status)
				}
				if st == 200 && (body["object"] != "transfer_reversal" || body["transfer"] != id || body["currency"] != "usd") {
					t.Fatalf("step %d: reversal %v", i, body)
				}
			}
			_, tr, _ := stripeCall(t, f, "GET", "/v1/transfers/"+id, "", nil)
			if tr["reversed"] != c.reversed || tr["amount"].(float64)-tr["amount_reversed"].(float64) != c.left {
				t.Fatalf("transfer %v, want reversed=%v left=%v", tr, c.reversed, c.left)
			}
			_, list, _ := stripeCall(t, f, "GET", "/v1/transfers/"+id+"/reversals", "", nil)
			if n := len(list["data"].([]any)); n != c.count || len(f.Objects("reversals:"+id)) != c.count {
				t.Fatalf("%d reversals listed, want %d", n, c.count)
			}
		})
	}
}

func TestStripeFakeReversalIdempotencyAndMissing(t *testing.T) {
	f := newStripeFake(t)
	id := newTransfer(t, f, "1000")
	st1, first, _ := stripeCall(t, f, "POST", "/v1/transfers/"+id+"/reversals", "rk", url.Values{"metadata[reward_id]": {"rw_1"}})
	st2, again, h := stripeCall(t, f, "POST", "/v1/transfers/"+id+"/reversals", "rk", url.Values{"metadata[reward_id]": {"rw_1"}})
	if st1 != 200 || st2 != 200 || again["id"] != first["id"] || h.Get("Idempotent-Replayed") != "true" || len(f.Objects("reversals:"+id)) != 1 {
		t.Fatalf("repeat: %d %v / %d %v replayed=%q", st1, first, st2, again, h.Get("Idempotent-Replayed"))
	}
	if first["metadata"].(map[string]any)["reward_id"] != "rw_1" {
		t.Fatalf("metadata %v", first["metadata"])
	}
	for _, m := range []string{"POST", "GET"} {
		if st, body, _ := stripeCall(t, f, m, "/v1/transfers/tr_missing/reversals", "", nil); st != 404 {
			t.Fatalf("%s of a missing transfer's reversals: %d %v", m, st, body)
		}
	}
	// The control API's reverse leaves a reversal without metadata, once.
	other := newTransfer(t, f, "700")
	for range 2 {
		if w := adminCall(f, "/transfers/"+other+"/reverse", nil); w.Code != 200 {
			t.Fatalf("admin reverse: %d %s", w.Code, w.Body)
		}
	}
	if rs := f.Objects("reversals:" + other); len(rs) != 1 || rs[0]["amount"] != float64(700) {
		t.Fatalf("admin reversals %v", rs)
	}
}

func TestStripeFakePromotionCodeUpdateAndRedeem(t *testing.T) {
	f := newStripeFake(t)
	stripeCall(t, f, "POST", "/v1/coupons", "", url.Values{"id": {"c1"}, "amount_off": {"500"}, "currency": {"usd"}, "max_redemptions": {"1"}})
	_, pc, _ := stripeCall(t, f, "POST", "/v1/promotion_codes", "", url.Values{"promotion[type]": {"coupon"}, "promotion[coupon]": {"c1"},
		"code": {"RF-1"}, "customer": {"cus_1"}, "max_redemptions": {"1"}, "metadata[reward_id]": {"rw_1"}})
	id := pc["id"].(string)
	if w := adminCall(f, "/promotion_codes/"+id+"/redeem", nil); w.Code != 200 {
		t.Fatalf("redeem: %d %s", w.Code, w.Body)
	}
	if w := adminCall(f, "/promotion_codes/"+id+"/redeem", nil); w.Code != 409 {
		t.Fatalf("redeem past max_redemptions: %d %s", w.Code, w.Body)
	}
	st, up, _ := stripeCall(t, f, "POST", "/v1/promotion_codes/"+id, "uk", url.Values{"active": {"false"}, "metadata[reversal_key]": {"k-reversal"}})
	meta, _ := up["metadata"].(map[string]any)
	if st != 200 || up["active"] != false || meta["reward_id"] != "rw_1" || meta["reversal_key"] != "k-reversal" {
		t.Fatalf("update: %d %v", st, up)
	}
	_, got, _ := stripeCall(t, f, "GET", "/v1/promotion_codes/"+id, "", nil)
	if got["active"] != false || got["times_redeemed"] != float64(1) {
		t.Fatalf("retrieve: %v", got)
	}
	if _, c, _ := stripeCall(t, f, "GET", "/v1/coupons/c1", "", nil); c["times_redeemed"] != float64(1) {
		t.Fatalf("coupon: %v", c)
	}
	cases := []struct {
		name   string
		path   string
		form   url.Values
		status int
	}{
		{"reactivate a used-up code", "/v1/promotion_codes/" + id, url.Values{"active": {"true"}}, 400},
		{"not a boolean", "/v1/promotion_codes/" + id, url.Values{"active": {"maybe"}}, 400},
		{"missing code", "/v1/promotion_codes/promo_missing", url.Values{"active": {"false"}}, 404},
		{"unset a metadata key", "/v1/promotion_codes/" + id, url.Values{"metadata[reversal_key]": {""}}, 200},
	}
	for _, c := range cases {
		if st, body, _ := stripeCall(t, f, "POST", c.path, "", c.form); st != c.status {
			t.Errorf("%s: %d %v, want %d", c.name, st, body, c.status)
		}
	}
	if _, got, _ := stripeCall(t, f, "GET", "/v1/promotion_codes/"+id, "", nil); got["metadata"].(map[string]any)["reversal_key"] != nil {
		t.Fatalf("metadata after unset: %v", got["metadata"])
	}
	if w := adminCall(f, "/promotion_codes/"+id+"/redeem", nil); w.Code != 409 {
		t.Fatalf("redeem an inactive code: %d", w.Code)
	}
}

func TestStripeFakeCreditAppliedAndDebited(t *testing.T) {
	f := newStripeFake(t)
	path := "/v1/customers/cus_1/balance_transactions"
	if st, b, _ := stripeCall(t, f, "POST", path, "", url.Values{"amount": {"-5000"}, "currency": {"usd"}}); st != 200 || b["ending_balance"] != float64(-5000) {
		t.Fatalf("credit: %d %v", st, b)
	}
	steps := []struct {
		amount int64
		status int
		ending float64
	}{{2000, 200, -3000}, {4000, 409, -3000}, {0, 409, -3000}, {3000, 200, 0}}
	for _, s := range steps {
		w := adminCall(f, "/customers/cus_1/apply", StripeApply{Amount: s.amount})
		var b map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &b)
		if w.Code != s.status || (s.status == 200 && (b["ending_balance"] != s.ending || b["type"] != "applied_to_invoice")) {
			t.Fatalf("apply %d: %d %v", s.amount, w.Code, b)
		}
	}
	if st, b, _ := stripeCall(t, f, "POST", path, "", url.Values{"amount": {"1500"}, "currency": {"usd"}}); st != 200 || b["ending_balance"] != float64(1500) {
		t.Fatalf("debit: %d %v", st, b)
	}
	if n := len(f.Objects("cbtxn:cus_1")); n != 4 {
		t.Fatalf("%d balance transactions, want 4", n)
	}
}
