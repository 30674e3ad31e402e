package hubspot_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/crmtest"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/settings"
)

const hookURL = "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/hubspot"

var now = time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// signed returns body signed by the provider's own signer, as HubSpot would
// with the local client secret.
func signed(t *testing.T, version, body string) crm.Request {
	t.Helper()
	r := crm.Request{Method: "POST", URL: hookURL, Headers: http.Header{}, Body: []byte(body)}
	if err := hubspot.Provider.Sign(context.Background(), &r, crmtest.Local(hubspot.Provider), crm.SignOptions{Version: version, Now: now}); err != nil {
		t.Fatal(err)
	}
	return r
}

// Each HubSpot setting reaches the adapter built by the registry and
// changes what it accepts or reads.
func TestSettingsReachTheAdapter(t *testing.T) {
	batch := func(property, value string) string {
		return `[{"eventId":7,"subscriptionType":"deal.propertyChange","objectId":555,"propertyName":"` + property + `","propertyValue":"` + value + `"}]`
	}
	workflow := `{"hs_object_id":"555","dealstage":"closedwon","email":"a@one.example","contact_email":"B@Two.example"}`
	for _, c := range []struct {
		name     string
		settings map[string]string
		req      crm.Request
		authErr  bool
		check    func(ev crm.Event) bool
	}{
		{"v2 signatures are accepted by default", nil, signed(t, "v2", batch("dealstage", "x")), false, nil},
		{hubspot.SettingRequireV3 + " refuses v2", map[string]string{hubspot.SettingRequireV3: "true"}, signed(t, "v2", batch("dealstage", "x")), true, nil},
		{hubspot.SettingRequireV3 + " refuses v1", map[string]string{hubspot.SettingRequireV3: "TRUE"}, signed(t, "v1", batch("dealstage", "x")), true, nil},
		{hubspot.SettingRequireV3 + " accepts v3", map[string]string{hubspot.SettingRequireV3: "true"}, signed(t, "", batch("dealstage", "x")), false, nil},
		{"referral_id is the default referral property", nil, signed(t, "", batch("referral_id", "ref_1")),
			false, func(ev crm.Event) bool { return ev.ReferralID == "ref_1" }},
		{"another property is ignored by default", nil, signed(t, "", batch("ref_code", "ref_1")),
			false, func(ev crm.Event) bool { return ev.Kind == crm.KindIgnored && ev.ReferralID == "" }},
		{hubspot.SettingReferralProperty + " names the property", map[string]string{hubspot.SettingReferralProperty: "ref_code"}, signed(t, "", batch("ref_code", "ref_1")),
			false, func(ev crm.Event) bool { return ev.ReferralID == "ref_1" && ev.Kind == crm.KindStageChanged }},
		{"email is the default email key", nil, signed(t, "", workflow),
			false, func(ev crm.Event) bool { return ev.Email == "a@one.example" }},
		{hubspot.SettingEmailProperty + " names the key", map[string]string{hubspot.SettingEmailProperty: "contact_email"}, signed(t, "", workflow),
			false, func(ev crm.Event) bool { return ev.Email == "b@two.example" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := hubspot.Provider.NewAdapter(context.Background(), crmtest.With(crmtest.Local(hubspot.Provider), c.settings), clock)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Authenticate(c.req); (err != nil) != c.authErr {
				t.Fatalf("Authenticate: %v, want failure %v", err, c.authErr)
			}
			if c.authErr || c.check == nil {
				return
			}
			evs, err := a.Parse(c.req)
			if err != nil || len(evs) != 1 || !c.check(evs[0]) {
				t.Fatalf("Parse = %+v, %v", evs, err)
			}
		})
	}
}

func TestAdapterSettingErrors(t *testing.T) {
	ctx := context.Background()
	_, err := hubspot.Provider.NewAdapter(ctx, crmtest.Settings{}, clock)
	if !errors.Is(err, settings.ErrMissing) || !strings.Contains(err.Error(), hubspot.SettingClientSecret) {
		t.Fatalf("no client secret: %v", err)
	}
	s := crmtest.With(crmtest.Local(hubspot.Provider), map[string]string{hubspot.SettingRequireV3: "maybe"})
	if _, err := hubspot.Provider.NewAdapter(ctx, s, clock); err == nil || !strings.Contains(err.Error(), hubspot.SettingRequireV3) {
		t.Fatalf("unreadable %s: %v", hubspot.SettingRequireV3, err)
	}
	r := crm.Request{Method: "POST", URL: hookURL, Headers: http.Header{}}
	if err := hubspot.Provider.Sign(ctx, &r, crmtest.Local(hubspot.Provider), crm.SignOptions{Version: "v4", Now: now}); err == nil {
		t.Fatal("signed with an unknown version")
	}
}
