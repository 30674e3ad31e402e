package fakes

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func call(t *testing.T, method, url, auth, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// The PayPal fake requires a token, validates, replays a used
// PayPal-Request-Id, and refuses a used sender_batch_id with a link.
func TestPayPalFakeFollowsTheDocumentedBehaviour(t *testing.T) {
	f := NewPayPal("id", "sec")
	defer f.Close()
	payout := `{"sender_batch_header":{"sender_batch_id":"k1"},"items":[{"recipient_type":"EMAIL","amount":{"value":"1.50","currency":"USD"},"receiver":"a@b.c","sender_item_id":"rw"}]}`
	if code, _ := call(t, "POST", f.URL()+"/v1/payments/payouts", "Bearer nope", payout, nil); code != 401 {
		t.Fatalf("no token = %d", code)
	}
	req, _ := http.NewRequest("POST", f.URL()+"/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.SetBasicAuth("id", "sec")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	bearer := "Bearer " + tok.AccessToken
	if code, out := call(t, "POST", f.URL()+"/v1/payments/payouts", bearer, strings.Replace(payout, `"1.50"`, `"1.505"`, 1), nil); code != 400 || out["name"] != "VALIDATION_ERROR" {
		t.Errorf("3 decimals of USD = %d %v", code, out)
	}
	code, out := call(t, "POST", f.URL()+"/v1/payments/payouts", bearer, payout, map[string]string{"PayPal-Request-Id": "k1"})
	if code != 201 {
		t.Fatalf("create = %d %v", code, out)
	}
	id := out["batch_header"].(map[string]any)["payout_batch_id"].(string)
	if code, out := call(t, "POST", f.URL()+"/v1/payments/payouts", bearer, `{}`, map[string]string{"PayPal-Request-Id": "k1"}); code != 201 ||
		out["batch_header"].(map[string]any)["payout_batch_id"] != id {
		t.Errorf("replay = %d %v", code, out)
	}
	code, out = call(t, "POST", f.URL()+"/v1/payments/payouts", bearer, payout, nil)
	links, _ := out["links"].([]any)
	if code != 400 || out["name"] != "USER_BUSINESS_ERROR" || len(links) != 1 || !strings.HasSuffix(links[0].(map[string]any)["href"].(string), "/"+id) {
		t.Errorf("duplicate = %d %v", code, out)
	}
	if code, out := call(t, "GET", f.URL()+"/v1/payments/payouts/"+id, bearer, "", nil); code != 200 || len(out["items"].([]any)) != 1 {
		t.Errorf("get = %d %v", code, out)
	}
	if f.Payouts() != 1 {
		t.Errorf("payouts = %d", f.Payouts())
	}
	if code, _ := post(t, f.Admin(), "/items", `{"sender_batch_id":"k1","status":"NOPE"}`); code != 400 {
		t.Errorf("bad item status = %d", code)
	}
	if code, _ := post(t, f.Admin(), "/failures", `{"status":200}`); code != 400 {
		t.Errorf("bad failure = %d", code)
	}
}

// The Tremendous fake answers a repeated external_id with the original
// order (201), lists by external_id, and requires the API key.
func TestTremendousFakeFollowsTheDocumentedBehaviour(t *testing.T) {
	f := NewTremendous("key")
	defer f.Close()
	order := `{"external_id":"k1","payment":{"funding_source_id":"balance"},"reward":{"products":["P"],"value":{"denomination":50.00,"currency_code":"USD"},"delivery":{"method":"EMAIL"},"recipient":{"name":"J","email":"j@e.c"}}}`
	if code, _ := call(t, "POST", f.URL()+"/orders", "Bearer no", order, nil); code != 401 {
		t.Errorf("bad key = %d", code)
	}
	code, first := call(t, "POST", f.URL()+"/orders", "Bearer key", order, nil)
	code2, again := call(t, "POST", f.URL()+"/orders", "Bearer key", order, nil)
	id := first["order"].(map[string]any)["id"]
	if code != 201 || code2 != 201 || again["order"].(map[string]any)["id"] != id || f.Orders() != 1 {
		t.Fatalf("create %d %v, repeat %d %v, orders %d", code, first, code2, again, f.Orders())
	}
	if code, out := call(t, "GET", f.URL()+"/orders?external_id=k1", "Bearer key", "", nil); code != 200 || len(out["orders"].([]any)) != 1 {
		t.Errorf("list = %d %v", code, out)
	}
	if code, out := call(t, "GET", f.URL()+"/orders?external_id=k2", "Bearer key", "", nil); code != 200 || len(out["orders"].([]any)) != 0 {
		t.Errorf("list other = %d %v", code, out)
	}
	if code, _ := call(t, "POST", f.URL()+"/orders", "Bearer key", strings.NewReplacer(`"products":["P"],`, "", `"k1"`, `"k3"`).Replace(order), nil); code != 400 {
		t.Errorf("no products = %d", code)
	}
}

func ppToken(t *testing.T, f *PayPal) string {
	t.Helper()
	req, _ := http.NewRequest("POST", f.URL()+"/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.SetBasicAuth("id", "sec")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	return "Bearer " + tok.AccessToken
}

// The PayPal fake remembers a sender_batch_id and a PayPal-Request-Id for
// 30 days: within them a repeat creates nothing, past them (its clock
// moved) the same keys create a second payout.
func TestPayPalFakeForgetsKeysPastTheWindow(t *testing.T) {
	cases := []struct {
		name    string
		advance string
		payouts int
	}{
		{"a second before 30 days: refused", `{"advance_seconds":2591999}`, 1},
		{"at 30 days: a new payout", `{"advance_seconds":2592000}`, 2},
	}
	payout := `{"sender_batch_header":{"sender_batch_id":"k1"},"items":[{"recipient_type":"EMAIL","amount":{"value":"1.50","currency":"USD"},"receiver":"a@b.c","sender_item_id":"rw"}]}`
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := NewPayPal("id", "sec")
			defer f.Close()
			bearer := ppToken(t, f)
			if code, out := call(t, "POST", f.URL()+"/v1/payments/payouts", bearer, payout, map[string]string{"PayPal-Request-Id": "k1"}); code != 201 {
				t.Fatalf("create = %d %v", code, out)
			}
			if code, body := post(t, f.Admin(), "/clock", c.advance); code != 200 {
				t.Fatalf("clock = %d %s", code, body)
			}
			for _, hdr := range []map[string]string{{"PayPal-Request-Id": "k1"}, nil} {
				_, _ = call(t, "POST", f.URL()+"/v1/payments/payouts", bearer, payout, hdr)
			}
			if f.Payouts() != c.payouts {
				t.Errorf("payouts = %d, want %d", f.Payouts(), c.payouts)
			}
		})
	}
	f := NewPayPal("id", "sec")
	defer f.Close()
	if code, _ := post(t, f.Admin(), "/clock", `{"advance_seconds":-1}`); code != 400 {
		t.Errorf("going back = %d", code)
	}
}
