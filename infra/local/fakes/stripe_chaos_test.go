package fakes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// stripeTry is one API call that may get no answer (0).
func stripeTry(t *testing.T, f *Stripe, method, path, key string, form url.Values) int {
	t.Helper()
	req, _ := http.NewRequest(method, f.URL()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer sk_test_fake")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

func TestStripeChaosFailsAShareOfRequests(t *testing.T) {
	ambiguous := []StripeFailure{{Hangup: true, After: true}, {Status: 500, After: true}, {Status: 409}, {Status: 429}}
	cases := []struct {
		name      string
		chaos     StripeChaos
		posts     int
		minFailed int
		maxFailed int
		getsFail  bool
	}{
		{"off", StripeChaos{}, 40, 0, 0, false},
		{"every POST, never a GET", StripeChaos{Probability: 1, Methods: []string{"POST"}, Failures: ambiguous}, 40, 40, 40, false},
		{"a share", StripeChaos{Probability: 0.3, Seed: 7, Failures: ambiguous}, 200, 30, 90, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := NewStripe("sk_test_fake", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			stripeControl(t, f, "/chaos", c.chaos)
			failed := 0
			for i := range c.posts {
				key := fmt.Sprintf("k%d", i)
				form := transferForm("100")
				form.Set("transfer_group", key)
				switch st := stripeTry(t, f, "POST", "/v1/transfers", key, form); st {
				case http.StatusOK:
				case 0, http.StatusInternalServerError, http.StatusConflict, http.StatusTooManyRequests:
					failed++
				default:
					t.Fatalf("POST %d: unexpected %d", i, st)
				}
				stripeTry(t, f, "POST", "/v1/transfers", key, form) // the caller retries with the same key
			}
			if failed < c.minFailed || failed > c.maxFailed {
				t.Errorf("%d of %d POSTs failed, want %d..%d", failed, c.posts, c.minFailed, c.maxFailed)
			}
			if c.chaos.Methods != nil {
				if st := stripeTry(t, f, "GET", "/v1/transfers", "", nil); st != http.StatusOK {
					t.Errorf("GET under POST-only chaos = %d", st)
				}
			}
			total := 0
			for name, n := range f.Injected() {
				if !strings.Contains("hangup after|500 after|409|429", name) {
					t.Errorf("injected %q, not one of the plan's failures", name)
				}
				total += n
			}
			if total < failed {
				t.Errorf("injected %d, yet %d calls failed", total, failed)
			}
			// Whatever failed, a key never made two transfers.
			groups := map[any]int{}
			for _, tr := range f.Objects("transfers") {
				if groups[tr["transfer_group"]]++; groups[tr["transfer_group"]] > 1 {
					t.Errorf("two transfers for %v", tr["transfer_group"])
				}
			}
		})
	}
}

func TestStripeChaosControl(t *testing.T) {
	cases := []struct {
		name string
		body string
		want int
	}{
		{"on", `{"probability":0.2,"failures":[{"status":429}]}`, 200},
		{"off", `{"probability":0}`, 200},
		{"probability over 1", `{"probability":1.5,"failures":[{"status":429}]}`, 400},
		{"negative probability", `{"probability":-0.1,"failures":[{"status":429}]}`, 400},
		{"no failures", `{"probability":0.2}`, 400},
		{"a failure that fails nothing", `{"probability":0.2,"failures":[{"after":true}]}`, 400},
		{"not JSON", `{`, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := NewStripe("sk_test_fake", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			w := httptest.NewRecorder()
			f.Admin().ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/chaos", bytes.NewReader([]byte(c.body))))
			if w.Code != c.want {
				t.Fatalf("POST /chaos %s = %d %s, want %d", c.body, w.Code, w.Body, c.want)
			}
			w = httptest.NewRecorder()
			f.Admin().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
			var st struct {
				Chaos    *StripeChaos   `json:"chaos"`
				Injected map[string]int `json:"injected"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
				t.Fatal(err)
			}
			if on := c.want == 200 && c.name == "on"; (st.Chaos != nil) != on || st.Injected == nil {
				t.Errorf("state after %s: chaos %v, injected %v", c.name, st.Chaos, st.Injected)
			}
		})
	}
}
