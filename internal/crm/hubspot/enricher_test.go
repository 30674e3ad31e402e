package hubspot_test

import (
	"bytes"
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/crmtest"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/crm/hubspot/hubspottest"
	"github.com/referflow/referflow/internal/money"
)

// enricher returns the registry's HubSpot enricher over a fake API, with
// settings, a movable clock and a log buffer.
func enricher(t *testing.T, set map[string]string) (crm.Enricher, *hubspottest.Server, *time.Time, *bytes.Buffer) {
	t.Helper()
	fake := hubspottest.NewServer()
	t.Cleanup(fake.Close)
	fake.RequireToken("pat-test")
	fake.AddDeal(hubspottest.Deal{ID: "1001", Pipeline: "default", Stage: "closedwon", Amount: "12500.50", Currency: "EUR",
		Properties: map[string]string{"referral_id": "ref_1", "ref_code": "ref_9"}, ContactIDs: []string{"501"}})
	fake.AddContact("501", "Ann@Example.com")
	base := map[string]string{hubspot.SettingAccessToken: "pat-test", hubspot.SettingAPIURL: fake.URL}
	for k, v := range set {
		base[k] = v
	}
	at := now
	var logs bytes.Buffer
	e := hubspot.Provider.NewEnricher(crmtest.Settings(base), func() time.Time { return at }, slog.New(slog.NewTextHandler(&logs, nil)))
	return e, fake, &at, &logs
}

func TestEnricherFillsFromTheDeal(t *testing.T) {
	e, fake, _, _ := enricher(t, nil)
	ev := crm.Event{Kind: crm.KindStageChanged, RecordID: "1001", Stage: "appointmentscheduled"}
	if err := e.Enrich(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
	want := crm.Event{Kind: crm.KindStageChanged, RecordID: "1001", Pipeline: "default", Stage: "appointmentscheduled",
		Amount: &money.Money{Minor: 1250050, Currency: "EUR"}, ReferralID: "ref_1", Email: "ann@example.com"}
	if !reflect.DeepEqual(ev, want) || fake.Requests() != 2 {
		t.Fatalf("got %+v after %d requests", ev, fake.Requests())
	}
}

// REFERFLOW_HUBSPOT_REFERRAL_PROPERTY reaches the API look-up too.
func TestEnricherReadsTheReferralPropertySetting(t *testing.T) {
	e, _, _, _ := enricher(t, map[string]string{hubspot.SettingReferralProperty: "ref_code"})
	ev := crm.Event{Kind: crm.KindStageChanged, RecordID: "1001"}
	if err := e.Enrich(context.Background(), &ev); err != nil || ev.ReferralID != "ref_9" {
		t.Fatalf("referral %q, %v", ev.ReferralID, err)
	}
}

// A deal is looked up at most once a minute.
func TestEnricherCachesDeals(t *testing.T) {
	e, fake, at, _ := enricher(t, nil)
	for range 3 {
		ev := crm.Event{Kind: crm.KindStageChanged, RecordID: "1001"}
		if err := e.Enrich(context.Background(), &ev); err != nil || ev.Stage != "closedwon" {
			t.Fatalf("%+v %v", ev, err)
		}
	}
	if fake.Requests() != 2 {
		t.Fatalf("%d requests, want one look-up (2 requests)", fake.Requests())
	}
	*at = at.Add(time.Minute)
	ev := crm.Event{Kind: crm.KindStageChanged, RecordID: "1001"}
	if err := e.Enrich(context.Background(), &ev); err != nil || fake.Requests() != 4 {
		t.Fatalf("after a minute: %d requests, %v", fake.Requests(), err)
	}
}

func TestEnricherFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("no access token: left as it is, with a warning", func(t *testing.T) {
		e, fake, _, logs := enricher(t, map[string]string{hubspot.SettingAccessToken: ""})
		ev := crm.Event{Kind: crm.KindStageChanged, RecordID: "1001"}
		if err := e.Enrich(ctx, &ev); err != nil || ev.Stage != "" || fake.Requests() != 0 {
			t.Fatalf("%+v %v (%d requests)", ev, err, fake.Requests())
		}
		if !strings.Contains(logs.String(), hubspot.SettingAccessToken) {
			t.Fatalf("no warning: %s", logs.String())
		}
	})
	t.Run("HubSpot unavailable: retry", func(t *testing.T) {
		e, fake, _, _ := enricher(t, nil)
		fake.FailNext(1, 503)
		if err := e.Enrich(ctx, &crm.Event{Kind: crm.KindStageChanged, RecordID: "1001"}); !hubspot.IsRetryable(err) {
			t.Fatalf("err = %v, want retryable", err)
		}
	})
	t.Run("unknown deal: untracked, with a warning", func(t *testing.T) {
		e, _, _, logs := enricher(t, nil)
		ev := crm.Event{Kind: crm.KindStageChanged, RecordID: "404404"}
		if err := e.Enrich(ctx, &ev); err != nil || ev.Stage != "" || !strings.Contains(logs.String(), "untracked") {
			t.Fatalf("%+v %v %s", ev, err, logs.String())
		}
	})
	t.Run("nothing to fill: no request", func(t *testing.T) {
		e, fake, _, _ := enricher(t, nil)
		full := crm.Event{Kind: crm.KindStageChanged, RecordID: "1", Pipeline: "p", Stage: "s", Amount: &money.Money{}, ReferralID: "r", Email: "e"}
		for _, ev := range []crm.Event{full, {Kind: crm.KindDeleted, RecordID: "1001"}, {Kind: crm.KindIgnored, RecordID: "1001"}} {
			if err := e.Enrich(ctx, &ev); err != nil || fake.Requests() != 0 {
				t.Fatalf("%+v: %v (%d requests)", ev, err, fake.Requests())
			}
		}
	})
}
