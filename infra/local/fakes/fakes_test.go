package fakes

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/crm/providers"
)

// The fakes follow the provider registry: each names a registered provider
// and one of its settings, and every provider whose functions call its API
// (it has an Enricher) has a fake, so the local stack stays hermetic when a
// CRM is added.
func TestEveryProviderThatCallsAnAPIHasAFake(t *testing.T) {
	for name, spec := range Specs {
		p, ok := providers.Find(name)
		if !ok {
			t.Errorf("fake %q: no such provider in internal/crm/providers", name)
			continue
		}
		if !slices.ContainsFunc(p.Settings, func(s crm.Setting) bool { return s.Name == spec.URLSetting }) {
			t.Errorf("fake %s: URL setting %s is not one of the provider's settings", name, spec.URLSetting)
		}
	}
	for _, p := range providers.All() {
		if _, ok := Specs[p.Name]; p.NewEnricher != nil && !ok {
			t.Errorf("provider %s calls its API (NewEnricher) but has no fake in infra/local/fakes", p.Name)
		}
	}
}

func post(t *testing.T, h http.Handler, path, body string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	method := http.MethodPost
	if body == "" {
		method = http.MethodGet
	}
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

// A deal put through the control API is what the HubSpot client reads, with
// the access token the functions are given.
func TestHubSpotControlAPI(t *testing.T) {
	set, err := StartAll(map[string]string{hubspot.SettingAccessToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	h := set.Handler()
	if code, b := post(t, h, "/_local/hubspot/deals", `{"id":"1101","pipeline":"default","stage":"closedwon","amount":"1200.50","currency":"EUR",
		"properties":{"referral_id":"r-1"},"contacts":[{"id":"301","email":"Jane@Example.com"}]}`); code != http.StatusCreated {
		t.Fatalf("add deal = %d %s", code, b)
	}
	for _, bad := range []string{`{"id":"abc"}`, `{"id":"1","contacts":[{"id":"x"}]}`, `{"id":"1","nope":1}`, `not json`} {
		if code, b := post(t, h, "/_local/hubspot/deals", bad); code != http.StatusBadRequest {
			t.Errorf("deal %s = %d %s, want 400", bad, code, b)
		}
	}
	if code, _ := post(t, h, "/_local/nosuch/deals", `{}`); code != http.StatusNotFound {
		t.Errorf("unknown fake = %d", code)
	}
	c := hubspot.NewClient(hubspot.ClientConfig{BaseURL: set.Settings()[hubspot.SettingAPIURL], AccessToken: "tok"}, nil)
	d, err := c.Deal(context.Background(), "1101")
	if err != nil {
		t.Fatal(err)
	}
	if d.Stage != "closedwon" || d.ReferralID != "r-1" || d.Email != "jane@example.com" || d.Amount == nil || d.Amount.Currency != "EUR" || d.Amount.Minor != 120050 {
		t.Errorf("deal = %+v (amount %+v)", d, d.Amount)
	}
	if _, err := hubspot.NewClient(hubspot.ClientConfig{BaseURL: set.URLs()["hubspot"], AccessToken: "wrong"}, nil).Deal(context.Background(), "1101"); err == nil {
		t.Error("a wrong access token was accepted")
	}
	if code, b := post(t, h, "/_local/hubspot/failures", `{"status":503}`); code != http.StatusOK {
		t.Fatalf("failures = %d %s", code, b)
	}
	if _, err := c.Deal(context.Background(), "1101"); !hubspot.IsRetryable(err) {
		t.Errorf("failing API: err = %v", err)
	}
	post(t, h, "/_local/hubspot/failures", `{"status":0}`)
	if _, err := c.Deal(context.Background(), "1101"); err != nil {
		t.Errorf("after failures ended: %v", err)
	}
	code, b := post(t, h, "/_local/", "")
	var list struct {
		Fakes map[string]struct {
			URL      string `json:"url"`
			Requests int    `json:"requests"`
		} `json:"fakes"`
	}
	if err := json.Unmarshal([]byte(b), &list); code != 200 || err != nil || list.Fakes["hubspot"].Requests < 4 || list.Fakes["hubspot"].URL == "" {
		t.Errorf("GET /_local/ = %d %s", code, b)
	}
}
