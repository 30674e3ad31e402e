package fakes

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func stripeCall(t *testing.T, f *Stripe, method, path, key string, form url.Values) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, f.URL()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer sk_test_fake")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body, res.Header
}

func stripeControl(t *testing.T, f *Stripe, path string, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	w := httptest.NewRecorder()
	f.Admin().ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(b)))
	if w.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", path, w.Code, w.Body)
	}
}

func transferForm(amount string) url.Values {
	return url.Values{"amount": {amount}, "currency": {"usd"}, "destination": {"acct_1"}, "transfer_group": {"rw_1"}, "metadata[reward_id]": {"rw_1"}}
}

func TestStripeFakeIdempotency(t *testing.T) {
	cases := []struct {
		name       string
		setup      func(t *testing.T, f *Stripe)
		second     url.Values
		wantStatus int
		wantCode   string
		replayed   bool
		transfers  int
	}{
		{"same key, same params: replayed", nil, transferForm("100"), 200, "", true, 1},
		{"same key, other params: idempotency_error", nil, transferForm("200"), 400, "", false, 1},
		{"past 24 h: a new request", func(t *testing.T, f *Stripe) {
			stripeControl(t, f, "/clock", StripeClock{AdvanceSeconds: 24 * 3600})
		}, transferForm("100"), 200, "", false, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := NewStripe("sk_test_fake", func() time.Time { return time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) })
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if st, _, _ := stripeCall(t, f, "POST", "/v1/transfers", "k1", transferForm("100")); st != 200 {
				t.Fatalf("first: %d", st)
			}
			if c.setup != nil {
				c.setup(t, f)
			}
			st, body, h := stripeCall(t, f, "POST", "/v1/transfers", "k1", c.second)
			if st != c.wantStatus || (h.Get("Idempotent-Replayed") == "true") != c.replayed || len(f.Objects("transfers")) != c.transfers {
				t.Fatalf("second: %d %v replayed=%q transfers=%d", st, body, h.Get("Idempotent-Replayed"), len(f.Objects("transfers")))
			}
		})
	}
}

func TestStripeFakeFailures(t *testing.T) {
	f, _ := NewStripe("sk_test_fake", nil)
	defer f.Close()
	if st, _, _ := stripeCall(t, f, "GET", "/v1/transfers", "", nil); st != 200 {
		t.Fatalf("list: %d", st)
	}
	req, _ := http.NewRequest("GET", f.URL()+"/v1/transfers", nil)
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 401 {
		t.Fatalf("no key: %d", res.StatusCode)
	}
	stripeControl(t, f, "/failures", StripeFailure{Status: 500})
	st, _, _ := stripeCall(t, f, "POST", "/v1/transfers", "k500", transferForm("100"))
	st2, _, h := stripeCall(t, f, "POST", "/v1/transfers", "k500", transferForm("100"))
	if st != 500 || st2 != 500 || h.Get("Idempotent-Replayed") != "true" || len(f.Objects("transfers")) != 0 {
		t.Fatalf("500 then replay: %d %d %v", st, st2, h)
	}
	stripeControl(t, f, "/failures", StripeFailure{Status: 429})
	st, _, _ = stripeCall(t, f, "POST", "/v1/transfers", "k429", transferForm("100"))
	st2, _, _ = stripeCall(t, f, "POST", "/v1/transfers", "k429", transferForm("100"))
	if st != 429 || st2 != 200 {
		t.Fatalf("429 is not kept: %d then %d", st, st2)
	}
	stripeControl(t, f, "/failures", StripeFailure{DelayMS: 300})
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 {
		wg.Go(func() {
			if i == 1 {
				time.Sleep(100 * time.Millisecond)
			}
			codes[i], _, _ = stripeCall(t, f, "POST", "/v1/transfers", "kbusy", transferForm("100"))
		})
	}
	wg.Wait()
	if codes[0] != 200 || codes[1] != 409 {
		t.Fatalf("concurrent: %v, want 200 and 409", codes)
	}
}

func TestStripeFakePagination(t *testing.T) {
	f, _ := NewStripe("sk_test_fake", nil)
	defer f.Close()
	for i := range 5 {
		form := transferForm("100")
		if i == 4 {
			form.Set("transfer_group", "rw_2")
		}
		stripeCall(t, f, "POST", "/v1/transfers", "", form)
	}
	_, page, _ := stripeCall(t, f, "GET", "/v1/transfers?transfer_group=rw_1&limit=3", "", nil)
	data := page["data"].([]any)
	if len(data) != 3 || page["has_more"] != true {
		t.Fatalf("page 1: %v", page)
	}
	last := data[2].(map[string]any)["id"].(string)
	_, page2, _ := stripeCall(t, f, "GET", "/v1/transfers?transfer_group=rw_1&limit=3&starting_after="+last, "", nil)
	if d := page2["data"].([]any); len(d) != 1 || page2["has_more"] != false {
		t.Fatalf("page 2: %v", page2)
	}
}

func TestStripeFakeObjects(t *testing.T) {
	f, _ := NewStripe("sk_test_fake", nil)
	defer f.Close()
	coupon := url.Values{"id": {"referflow-rw_1"}, "amount_off": {"500"}, "currency": {"usd"}, "duration": {"once"}}
	promo := url.Values{"promotion[type]": {"coupon"}, "promotion[coupon]": {"referflow-rw_1"}, "code": {"RF-1"}, "customer": {"cus_1"}}
	cases := []struct {
		name, method, path string
		form               url.Values
		status             int
		code               string
	}{
		{"a promotion code needs its coupon", "POST", "/v1/promotion_codes", promo, 400, "resource_missing"},
		{"a coupon with a chosen id", "POST", "/v1/coupons", coupon, 200, ""},
		{"the id is taken", "POST", "/v1/coupons", coupon, 400, "resource_already_exists"},
		{"a coupon needs amount_off or percent_off", "POST", "/v1/coupons", url.Values{"duration": {"once"}}, 400, "parameter_missing"},
		{"retrieve the coupon", "GET", "/v1/coupons/referflow-rw_1", nil, 200, ""},
		{"a missing coupon", "GET", "/v1/coupons/nope", nil, 404, "resource_missing"},
		{"the promotion code", "POST", "/v1/promotion_codes", promo, 200, ""},
		{"the code is taken", "POST", "/v1/promotion_codes", promo, 400, "resource_already_exists"},
		{"a credit", "POST", "/v1/customers/cus_1/balance_transactions", url.Values{"amount": {"-700"}, "currency": {"usd"}}, 200, ""},
		{"a credit needs an amount", "POST", "/v1/customers/cus_1/balance_transactions", url.Values{"currency": {"usd"}}, 400, "parameter_invalid_integer"},
		{"a transfer needs a connected account", "POST", "/v1/transfers", url.Values{"amount": {"1"}, "currency": {"usd"}, "destination": {"cus_1"}}, 400, "resource_missing"},
		{"a transfer needs a positive amount", "POST", "/v1/transfers", url.Values{"amount": {"-1"}, "currency": {"usd"}, "destination": {"acct_1"}}, 400, "parameter_invalid_integer"},
		{"limit is 1 to 100", "GET", "/v1/transfers?limit=101", nil, 400, "parameter_invalid_integer"},
	}
	for _, c := range cases {
		st, body, _ := stripeCall(t, f, c.method, c.path, "", c.form)
		code := ""
		if e, ok := body["error"].(map[string]any); ok {
			code, _ = e["code"].(string)
		}
		if st != c.status || code != c.code {
			t.Errorf("%s: %d %q, want %d %q (%v)", c.name, st, code, c.status, c.code, body)
		}
	}
	if b := f.Objects("cbtxn:cus_1"); len(b) != 1 || b[0]["ending_balance"] != float64(-700) {
		t.Errorf("balance transactions %v", b)
	}
	_, list, _ := stripeCall(t, f, "GET", "/v1/promotion_codes?coupon=referflow-rw_1", "", nil)
	if d := list["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"].(string)[:6] != "promo_" {
		t.Errorf("promotion codes by coupon %v", list)
	}
}

func TestStripeFakeHangupAfterKeepsTheSuccess(t *testing.T) {
	f, _ := NewStripe("sk_test_fake", nil)
	defer f.Close()
	stripeControl(t, f, "/failures", StripeFailure{Hangup: true, After: true})
	req, _ := http.NewRequest("POST", f.URL()+"/v1/transfers", strings.NewReader(transferForm("100").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer sk_test_fake")
	req.Header.Set("Idempotency-Key", "khang")
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("hang-up answered %d", res.StatusCode)
	}
	st, body, h := stripeCall(t, f, "POST", "/v1/transfers", "khang", transferForm("100"))
	tr := f.Objects("transfers")
	if st != 200 || h.Get("Idempotent-Replayed") != "true" || len(tr) != 1 || body["id"] != tr[0]["id"] {
		t.Fatalf("replay after hang-up: %d %v %v", st, body, tr)
	}
	w := httptest.NewRecorder()
	f.Admin().ServeHTTP(w, httptest.NewRequest("POST", "/transfers/"+tr[0]["id"].(string)+"/reverse", nil))
	if w.Code != 200 || f.Objects("transfers")[0]["reversed"] != true {
		t.Fatalf("reverse: %d %s", w.Code, w.Body)
	}
}
