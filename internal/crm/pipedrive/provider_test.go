package pipedrive_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/crmtest"
	"github.com/referflow/referflow/internal/crm/pipedrive"
	"github.com/referflow/referflow/internal/settings"
)

const deal = `{"meta":{"action":"change","entity":"deal","version":"2.0","id":"e1","entity_id":1,"timestamp":1727447128},` +
	`"data":{"id":1,"status":"won","stage_id":4,"pipeline_id":1,"custom_fields":{"referral_id":"ref_local","dcf558aac1ae4e8c4f849ba5e668430d8df9be12":"ref_key",` +
	`"e0b1f2c3d4e5f60718293a4b5c6d7e8f90a1b2c3":{"type":"varchar","value":"Ann@Example.com"}}},"previous":{"status":"open"}}`

// Each Pipedrive setting reaches the adapter built by the registry and
// changes the event it reads.
func TestSettingsReachTheAdapter(t *testing.T) {
	for _, c := range []struct {
		name     string
		settings map[string]string
		referral string
		email    string
	}{
		{"local referral field", nil, "ref_local", ""},
		{pipedrive.SettingReferralField, map[string]string{pipedrive.SettingReferralField: "dcf558aac1ae4e8c4f849ba5e668430d8df9be12"}, "ref_key", ""},
		{pipedrive.SettingReferralField + " unset", map[string]string{pipedrive.SettingReferralField: ""}, "", ""},
		{pipedrive.SettingEmailField, map[string]string{pipedrive.SettingEmailField: "e0b1f2c3d4e5f60718293a4b5c6d7e8f90a1b2c3"}, "ref_local", "ann@example.com"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := crmtest.With(crmtest.Local(pipedrive.Provider), c.settings)
			a, err := pipedrive.Provider.NewAdapter(context.Background(), s, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			r := crm.Request{Method: "POST", Headers: http.Header{}, Body: []byte(deal)}
			if err := pipedrive.Provider.Sign(context.Background(), &r, s, crm.SignOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := a.Authenticate(r); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			evs, err := a.Parse(r)
			if err != nil || len(evs) != 1 || evs[0].ReferralID != c.referral || evs[0].Email != c.email {
				t.Fatalf("Parse = %+v, %v", evs, err)
			}
		})
	}
}

// Users and passwords pair by position, so both rotate together; the
// newest pair signs.
func TestCredentialRotation(t *testing.T) {
	ctx := context.Background()
	s := crmtest.Settings{pipedrive.SettingUser: "new-user, old-user", pipedrive.SettingPassword: "new-pass, old-pass"}
	a, err := pipedrive.Provider.NewAdapter(ctx, s, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, pass string
		ok         bool
	}{{"new-user", "new-pass", true}, {"old-user", "old-pass", true}, {"new-user", "old-pass", false}, {"old-user", "new-pass", false}} {
		r := crm.Request{Headers: http.Header{"Authorization": {pipedrive.BasicAuth(c.user, c.pass)}}}
		if err := a.Authenticate(r); (err == nil) != c.ok {
			t.Errorf("%s:%s: %v", c.user, c.pass, err)
		}
	}
	r := crm.Request{Headers: http.Header{}}
	if err := pipedrive.Provider.Sign(ctx, &r, s, crm.SignOptions{}); err != nil || r.Headers.Get("Authorization") != pipedrive.BasicAuth("new-user", "new-pass") {
		t.Fatalf("signed %q, %v", r.Headers.Get("Authorization"), err)
	}
	want := []pipedrive.Credential{{User: "u", Password: "a"}, {User: "u", Password: "b"}}
	if got := pipedrive.Pairs([]string{"u"}, []string{"a", "b"}); !reflect.DeepEqual(got, want) {
		t.Fatalf("Pairs = %+v", got)
	}
	for _, name := range []string{pipedrive.SettingUser, pipedrive.SettingPassword} {
		missing := crmtest.With(s, map[string]string{name: ""})
		if _, err := pipedrive.Provider.NewAdapter(ctx, missing, time.Now); !errors.Is(err, settings.ErrMissing) || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s: %v", name, err)
		}
	}
}
