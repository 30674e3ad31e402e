package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/generic"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/crm/pipedrive"
	"github.com/referflow/referflow/internal/crm/providers"
	"github.com/referflow/referflow/internal/crm/salesforce"
	"github.com/referflow/referflow/internal/stdwebhooks"
)

const (
	hsSecret = "hs-client-secret"
	whSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	sfToken  = "sf-token-123"
	sfOrg    = "00D5w000004qGTOEA2"
)

var fixedNow = time.Unix(1_700_000_000, 0)

// receiver answers like the webhook function would: 401 when the adapter's
// Authenticate fails, 400 when Parse fails, else 200 (with the SOAP Ack for
// Salesforce).
func receiver(t *testing.T) *httptest.Server {
	t.Helper()
	clock := func() time.Time { return fixedNow }
	hs, _ := hubspot.New(hubspot.Config{ClientSecrets: []string{hsSecret}}, clock)
	ge, _ := generic.New(generic.Config{Secrets: []string{whSecret}}, clock)
	pd, _ := pipedrive.New(pipedrive.Config{Credentials: []pipedrive.Credential{{User: "referflow", Password: "pd-pass"}}}, clock)
	sf, _ := salesforce.New(salesforce.Config{Tokens: []string{sfToken}, OrgIDs: []string{sfOrg}}, clock)
	adapters := map[string]crm.Adapter{"hubspot": hs, "generic": ge, "pipedrive": pd, "salesforce": sf}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := adapters[strings.TrimPrefix(r.URL.Path, "/webhooks/")]
		body, _ := io.ReadAll(r.Body)
		req := crm.Request{Method: r.Method, URL: "http://" + r.Host + r.URL.RequestURI(), Headers: r.Header, Body: body}
		if err := a.Authenticate(req); err != nil {
			status := http.StatusUnauthorized
			if errors.Is(err, crm.ErrMalformed) {
				status = http.StatusBadRequest
			}
			http.Error(w, err.Error(), status)
			return
		}
		events, err := a.Parse(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if ack, ok := a.(crm.Acknowledger); ok {
			ct, b := ack.Ack()
			w.Header().Set("Content-Type", ct)
			w.Write(b)
			return
		}
		w.Write([]byte(`{"events":` + string(rune('0'+len(events))) + `}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSendsVerifiableDeliveries(t *testing.T) {
	srv := receiver(t)
	sfBody, err := os.ReadFile("../../../internal/crm/salesforce/testdata/outbound_opportunity.xml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		body     string
		wantCode int
		wantOut  string
	}{
		{"hubspot v3 from env", []string{"-provider", "hubspot", "-url", srv.URL + "/webhooks/hubspot"}, map[string]string{hubspot.SettingClientSecret: hsSecret},
			`[{"eventId":1,"subscriptionType":"deal.propertyChange","objectId":5,"propertyName":"dealstage","propertyValue":"closedwon","occurredAt":1}]`, 0, "HTTP 200"},
		{"hubspot v3 with encoded query", []string{"-provider", "hubspot", "-url", srv.URL + "/webhooks/hubspot?src=a%3Ab%2Fc", "-secret", hsSecret}, nil,
			`{"objectId":5,"properties":{"dealstage":{"value":"x"}}}`, 0, "HTTP 200"},
		{"hubspot v2", []string{"-provider", "hubspot", "-version", "v2", "-url", srv.URL + "/webhooks/hubspot", "-secret", hsSecret}, nil, `[]`, 0, "HTTP 200"},
		{"hubspot v1", []string{"-provider", "hubspot", "-version", "v1", "-url", srv.URL + "/webhooks/hubspot", "-secret", hsSecret}, nil, `[]`, 0, "HTTP 200"},
		{"hubspot wrong secret", []string{"-provider", "hubspot", "-url", srv.URL + "/webhooks/hubspot", "-secret", "nope"}, nil, `[]`, 1, "HTTP 401"},
		{"generic", []string{"-provider", "generic", "-url", srv.URL + "/webhooks/generic"}, map[string]string{generic.SettingSecret: whSecret},
			`{"type":"deal.stage_changed","data":{"referral_id":"r1","stage":"won"}}`, 0, "HTTP 200"},
		{"generic malformed body answered 400", []string{"-provider", "generic", "-url", srv.URL + "/webhooks/generic", "-secret", whSecret, "-id", "msg_1"}, nil,
			`{"type":"deal.stage_changed","data":{"referral_id":"r1"}}`, 1, "data.stage"},
		{"pipedrive", []string{"-provider", "pipedrive", "-url", srv.URL + "/webhooks/pipedrive"}, map[string]string{pipedrive.SettingUser: "referflow", pipedrive.SettingPassword: "pd-pass"},
			`{"meta":{"action":"change","entity":"deal","version":"2.0","id":"e1"},"data":{"id":1,"status":"won","stage_id":4,"pipeline_id":1}}`, 0, "HTTP 200"},
		{"pipedrive wrong password", []string{"-provider", "pipedrive", "-url", srv.URL + "/webhooks/pipedrive", "-user", "referflow", "-password", "x"}, nil, `{}`, 1, "HTTP 401"},
		{"salesforce gets the SOAP Ack", []string{"-provider", "salesforce", "-url", srv.URL + "/webhooks/salesforce"}, map[string]string{salesforce.SettingToken: sfToken},
			string(sfBody), 0, "<Ack>true</Ack>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, env(tt.env), strings.NewReader(tt.body), &out, &errOut, srv.Client(), func() time.Time { return fixedNow })
			if code != tt.wantCode || !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("code %d, stdout %q, stderr %q", code, out.String(), errOut.String())
			}
		})
	}
}

func TestPrintAndUsage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "it's.json")
	if err := os.WriteFile(file, []byte(`{"type":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-provider", "salesforce", "-url", "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/salesforce", "-secret", "t0k", "-file", file, "-print"},
		env(nil), nil, &out, &errOut, nil, func() time.Time { return fixedNow })
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut.String())
	}
	for _, want := range []string{"curl -sS -X POST 'https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/salesforce?token=t0k'", "-H 'Content-Type: text/xml; charset=utf-8'", `'\''s.json'`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-print output lacks %q:\n%s", want, out.String())
		}
	}
	bad := [][]string{
		{},
		{"-provider", "hubspot"},
		{"-provider", "zoho", "-url", "https://x"},
		{"-provider", "hubspot", "-url", "https://x"}, // no secret
		{"-provider", "hubspot", "-url", "https://x", "-secret", "s", "-version", "v9"},
		{"-provider", "generic", "-url", "https://x", "-secret", "whsec_***"},
		{"-provider", "pipedrive", "-url", "https://x"},
		{"-provider", "salesforce", "-url", "https://x"},
		{"-provider", "hubspot", "-url", "not a url", "-secret", "s"},
		{"-provider", "hubspot", "-url", "https://x", "-secret", "s", "-file", filepath.Join(dir, "missing")},
		{"-nope"},
	}
	for _, args := range bad {
		if code := run(context.Background(), args, env(nil), strings.NewReader("{}"), io.Discard, io.Discard, nil, time.Now); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
}

// Every provider of the registry is served: signed with the secrets its
// settings name, taken from the environment, and a missing secret is named
// with the flag and variable that give it.
func TestEveryProviderIsSigned(t *testing.T) {
	for _, p := range providers.All() {
		t.Run(p.Name, func(t *testing.T) {
			vars := map[string]string{}
			for _, s := range p.Settings {
				if s.Local != "" {
					vars[s.Name] = s.Local
				}
			}
			args := []string{"-provider", p.Name, "-url", "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/" + p.Name, "-print"}
			var out, errOut bytes.Buffer
			if code := run(context.Background(), args, env(vars), strings.NewReader("{}"), &out, &errOut, nil, func() time.Time { return fixedNow }); code != 0 {
				t.Fatalf("code %d: %s", code, errOut.String())
			}
			if !strings.Contains(out.String(), "curl -sS -X POST") {
				t.Fatalf("no curl command: %s", out.String())
			}
			errOut.Reset()
			if code := run(context.Background(), args, env(nil), strings.NewReader("{}"), io.Discard, &errOut, nil, time.Now); code != 2 {
				t.Fatalf("without secrets: code %d", code)
			}
			if !strings.Contains(errOut.String(), p.Name+" needs ") || !strings.Contains(errOut.String(), "$REFERFLOW_") {
				t.Fatalf("missing secret not named: %s", errOut.String())
			}
		})
	}
	var errOut bytes.Buffer
	run(context.Background(), []string{"-provider", "hubspot", "-url", "https://x"}, env(nil), strings.NewReader("{}"), io.Discard, &errOut, nil, time.Now)
	if want := "hubspot needs -secret or $" + hubspot.SettingClientSecret; !strings.Contains(errOut.String(), want) {
		t.Fatalf("stderr %q lacks %q", errOut.String(), want)
	}
}

// A generic delivery the CLI sends verifies with the Standard Webhooks
// verifier itself (internal/stdwebhooks), the one every receiver of
// Referflow's outbound webhooks uses too: one scheme, one implementation.
func TestGenericDeliveryVerifiesWithStdwebhooks(t *testing.T) {
	v, err := stdwebhooks.NewVerifier([]string{whSecret}, 0, func() time.Time { return fixedNow })
	if err != nil {
		t.Fatal(err)
	}
	var verr error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if verr = v.Verify(r.Header, body); verr != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	for _, c := range []struct {
		secret string
		code   int
	}{{whSecret, 0}, {"whsec_d3Jvbmctc2VjcmV0LWtleS0zMi1ieXRlcy4uLi4=", 1}} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"-provider", "generic", "-url", srv.URL, "-secret", c.secret, "-id", "msg_cli"}, env(nil),
			strings.NewReader(`{"type":"deal.stage_changed","data":{"referral_id":"r1","stage":"won"}}`), &out, &errOut, srv.Client(), func() time.Time { return fixedNow })
		if code != c.code {
			t.Fatalf("secret %s: code %d (verify: %v), stdout %q, stderr %q", c.secret, code, verr, out.String(), errOut.String())
		}
	}
}
