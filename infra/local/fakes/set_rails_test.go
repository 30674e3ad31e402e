package fakes

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/paypal"
	"github.com/referflow/referflow/internal/rewards/stripe"
	"github.com/referflow/referflow/internal/rewards/tremendous"
)

type stripePayee struct{}

func (stripePayee) Payee(context.Context, string, string, string) (stripe.Details, error) {
	return stripe.Details{Account: "acct_local1"}, nil
}

type paypalPayee struct{}

func (paypalPayee) Payee(context.Context, string, string, string) (paypal.Payee, error) {
	return paypal.Payee{Email: "partner@example.com"}, nil
}

type tremendousPayee struct{}

func (tremendousPayee) Payee(context.Context, string, string, string) (tremendous.Recipient, error) {
	return tremendous.Recipient{Name: "Pat Partner", Email: "partner@example.com"}, nil
}

// railsFromSettings builds each rail the way a function will: from the
// URL setting the Set gives it and the credentials in settings.
func railsFromSettings(t *testing.T, urls, settings map[string]string) map[string]rewards.Rail {
	t.Helper()
	s, err := stripe.New(stripe.Config{APIURL: urls[stripe.SettingAPIURL], APIKey: settings[stripe.SettingAPIKey]}, stripePayee{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := paypal.New(paypal.Config{BaseURL: urls[paypal.SettingAPIURL], ClientID: settings[paypal.SettingClientID],
		ClientSecret: settings[paypal.SettingClientSecret]}, paypalPayee{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tremendous.New(tremendous.Config{BaseURL: urls[tremendous.SettingAPIURL], APIKey: settings[tremendous.SettingAPIKey],
		Products: []string{"OKMHM2X2OHYV"}}, tremendousPayee{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]rewards.Rail{stripe.Method: s, paypal.Method: p, tremendous.Method: tr}
}

// localCredentials are the rails' credentials as the local stack gives
// them to the functions.
func localCredentials() map[string]string {
	out := map[string]string{}
	for _, r := range Rails {
		for _, c := range r.Credentials {
			out[c.Name] = c.Local
		}
	}
	return out
}

// A started Set serves the three rails: each rail's URL setting points at
// its fake, a rail built from that URL and the local credentials pays
// through it (seen on the control API under /_local/<rail>/), and other
// credentials are refused.
func TestSetServesThePayoutRails(t *testing.T) {
	creds := localCredentials()
	if len(creds) != 5 {
		t.Fatalf("rail credentials = %v", creds)
	}
	set, err := StartAll(creds)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	urls := set.Settings()
	for _, r := range Rails {
		f, ok := set.Fake(r.Name)
		if !ok {
			t.Fatalf("no %s fake in the set", r.Name)
		}
		if u := urls[r.URLSetting]; u == "" || u != f.URL() || !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Errorf("%s = %q, fake at %q", r.URLSetting, u, f.URL())
		}
	}
	ctx := context.Background()
	id := rewards.RewardID("ref_local", "won", "referrer")
	rw := rewards.Reward{ID: id, ReferralID: "ref_local", ProgramID: "prog_local", Milestone: "won", Party: "referrer",
		Kind: program.KindCash, AmountMinor: 2500, Currency: "USD", IdempotencyKey: rewards.IdempotencyKey(id)}
	for name, rail := range railsFromSettings(t, urls, creds) {
		tr, err := rail.Send(ctx, rw)
		if err != nil || tr.Reference == "" {
			t.Errorf("%s: send = %+v, %v", name, tr, err)
			continue
		}
		code, body := post(t, set.Handler(), Prefix+name+"/", "")
		if code != http.StatusOK || !json.Valid([]byte(body)) || !strings.Contains(body, tr.Reference) {
			t.Errorf("GET %s%s/ = %d %s, want the payment %s", Prefix, name, code, body, tr.Reference)
		}
	}
	wrong := map[string]string{stripe.SettingAPIKey: "sk_test_wrong", paypal.SettingClientID: "other",
		paypal.SettingClientSecret: "other", tremendous.SettingAPIKey: "TEST_wrong"}
	for name, rail := range railsFromSettings(t, urls, wrong) {
		if _, _, err := rail.Find(ctx, rw); err == nil {
			t.Errorf("%s: other credentials were accepted", name)
		}
	}
}

// A setting left empty does not open a fake to every caller: it accepts
// the rail's local credential.
func TestRailFakesNeverAcceptAnEmptyCredential(t *testing.T) {
	set, err := StartAll(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	other := map[string]string{stripe.SettingAPIKey: "x", paypal.SettingClientID: "x", paypal.SettingClientSecret: "x", tremendous.SettingAPIKey: "x"}
	ctx := context.Background()
	rw := rewards.Reward{ID: "rw_1", IdempotencyKey: "rw_1-k", Kind: program.KindCash}
	for name, rail := range railsFromSettings(t, set.Settings(), localCredentials()) {
		if _, found, err := rail.Find(ctx, rw); err != nil || found {
			t.Errorf("%s with the local credentials: found %v, %v", name, found, err)
		}
	}
	for name, rail := range railsFromSettings(t, set.Settings(), other) {
		if _, _, err := rail.Find(ctx, rw); err == nil {
			t.Errorf("%s: a credential other than the local one was accepted", name)
		}
	}
}
