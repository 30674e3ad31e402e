package generic_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/crmtest"
	"github.com/referflow/referflow/internal/crm/generic"
	"github.com/referflow/referflow/internal/settings"
)

// REFERFLOW_WEBHOOK_TOLERANCE reaches the adapter: a delivery signed 10
// minutes ago is refused by default (5 minutes) and accepted with 15m.
func TestToleranceSetting(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	body := `{"type":"deal.stage_changed","data":{"referral_id":"r1","stage":"won"}}`
	r := crm.Request{Method: "POST", Headers: http.Header{}, Body: []byte(body)}
	if err := generic.Provider.Sign(ctx, &r, crmtest.Local(generic.Provider), crm.SignOptions{ID: "msg_1", Now: now.Add(-10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tolerance string
		ok        bool
	}{{"", false}, {"15m", true}, {"9m59s", false}} {
		s := crmtest.With(crmtest.Local(generic.Provider), map[string]string{generic.SettingTolerance: c.tolerance})
		a, err := generic.Provider.NewAdapter(ctx, s, func() time.Time { return now })
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Authenticate(r); (err == nil) != c.ok {
			t.Errorf("tolerance %q: %v", c.tolerance, err)
		}
	}
	for _, bad := range []string{"5", "-1m", "soon"} {
		s := crmtest.With(crmtest.Local(generic.Provider), map[string]string{generic.SettingTolerance: bad})
		if _, err := generic.Provider.NewAdapter(ctx, s, time.Now); err == nil || !strings.Contains(err.Error(), generic.SettingTolerance) {
			t.Errorf("tolerance %q: %v", bad, err)
		}
	}
}

func TestSecretSetting(t *testing.T) {
	ctx := context.Background()
	if _, err := generic.Provider.NewAdapter(ctx, crmtest.Settings{}, time.Now); !errors.Is(err, settings.ErrMissing) || !strings.Contains(err.Error(), generic.SettingSecret) {
		t.Fatalf("no secret: %v", err)
	}
	s := crmtest.Settings{generic.SettingSecret: "not base64!"}
	if _, err := generic.Provider.NewAdapter(ctx, s, time.Now); err == nil {
		t.Fatal("malformed secret accepted")
	}
	r := crm.Request{Headers: http.Header{}}
	if err := generic.Provider.Sign(ctx, &r, s, crm.SignOptions{Now: time.Now()}); err == nil {
		t.Fatal("signed with a malformed secret")
	}
	r = crm.Request{Headers: http.Header{}}
	if err := generic.Provider.Sign(ctx, &r, crmtest.Local(generic.Provider), crm.SignOptions{Now: time.Now()}); err != nil || !strings.HasPrefix(r.Headers.Get(generic.HeaderID), "msg_") {
		t.Fatalf("webhook-id %q, %v", r.Headers.Get(generic.HeaderID), err)
	}
}
