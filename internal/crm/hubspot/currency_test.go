package hubspot_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/crm/hubspot/hubspottest"
	"github.com/referflow/referflow/internal/money"
)

// amountEvent is a Webhooks-API amount change parsed by the adapter.
func amountEvent(t *testing.T, deal, value string) crm.Event {
	t.Helper()
	a, err := hubspot.New(hubspot.Config{ClientSecrets: []string{"s"}}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	body := `[{"eventId":1,"subscriptionType":"deal.propertyChange","objectId":` + deal + `,"propertyName":"amount","propertyValue":"` + value + `"}]`
	evs, err := a.Parse(crm.Request{Method: http.MethodPost, Body: []byte(body)})
	if err != nil || len(evs) != 1 || evs[0].Kind != crm.KindAmountChanged {
		t.Fatalf("parse: %+v %v", evs, err)
	}
	return evs[0]
}

// Issue 9: webhook amounts carry no currency. They are read again in the
// deal's currency, exactly: 1,000,000 JPY stays 1,000,000 JPY, and the
// third decimal of a KWD amount is kept (it was rounded away when the
// 2-decimal reading was rescaled).
func TestWebhookAmountIsReadInTheDealCurrency(t *testing.T) {
	fake := hubspottest.NewServer()
	t.Cleanup(fake.Close)
	fake.AddDeal(hubspottest.Deal{ID: "2001", Stage: "s", Amount: "1000000", Currency: "JPY"})
	fake.AddDeal(hubspottest.Deal{ID: "2002", Stage: "s", Amount: "1.234", Currency: "KWD"})
	fake.AddDeal(hubspottest.Deal{ID: "2003", Stage: "s", Amount: "1000"}) // single-currency account
	fake.SetCompanyCurrency("EUR")
	c := hubspot.NewClient(hubspot.ClientConfig{BaseURL: fake.URL}, nil)
	for _, tc := range []struct {
		deal, value string
		want        money.Money
	}{
		{"2001", "1000000", money.Money{Minor: 1000000, Currency: "JPY"}},
		{"2002", "1.234", money.Money{Minor: 1234, Currency: "KWD"}},
		{"2003", "999.99", money.Money{Minor: 99999, Currency: "EUR"}},
	} {
		ev := amountEvent(t, tc.deal, tc.value)
		// Everything but the currency is known: it is still looked up.
		ev.Pipeline, ev.Stage, ev.ReferralID, ev.Email = "p", "s", "r", "e"
		if err := hubspot.Enrich(context.Background(), c, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Amount == nil || *ev.Amount != tc.want || ev.AmountText != "" {
			t.Errorf("deal %s, %q: amount %v (text %q), want %v", tc.deal, tc.value, ev.Amount, ev.AmountText, tc.want)
		}
	}
}

// A deal without deal_currency_code is in the account's company currency.
func TestClientDealInTheCompanyCurrency(t *testing.T) {
	fake := hubspottest.NewServer()
	t.Cleanup(fake.Close)
	fake.AddDeal(hubspottest.Deal{ID: "3001", Stage: "s", Amount: "1000000"})
	fake.SetCompanyCurrency("JPY")
	c := hubspot.NewClient(hubspot.ClientConfig{BaseURL: fake.URL}, nil)
	d, err := c.Deal(context.Background(), "3001")
	if err != nil || !reflect.DeepEqual(d.Amount, &money.Money{Minor: 1000000, Currency: "JPY"}) || fake.Requests() != 2 {
		t.Fatalf("deal %+v, %v after %d requests", d, err, fake.Requests())
	}
	// Without permission to read it the amount stays without currency
	// (and is not recorded); the rest of the deal is still read.
	fake.SetCompanyCurrency("")
	d, err = c.Deal(context.Background(), "3001")
	if err != nil || d.Stage != "s" || d.Amount == nil || d.Amount.Currency != "" {
		t.Fatalf("deal %+v, %v", d, err)
	}
	// A failure worth retrying is reported as one.
	fake.SetCompanyCurrency("JPY")
	fake.FailNext(1, http.StatusServiceUnavailable)
	if _, err := c.CompanyCurrency(context.Background()); !hubspot.IsRetryable(err) {
		t.Fatalf("err = %v, want retryable", err)
	}
}

// The enricher reads the company currency once an hour, not per deal.
func TestEnricherRemembersTheCompanyCurrency(t *testing.T) {
	e, fake, at, _ := enricher(t, nil)
	fake.AddDeal(hubspottest.Deal{ID: "4001", Stage: "s", Amount: "10"})
	fake.AddDeal(hubspottest.Deal{ID: "4002", Stage: "s", Amount: "20"})
	fake.SetCompanyCurrency("GBP")
	for _, id := range []string{"4001", "4002"} {
		ev := crm.Event{Kind: crm.KindStageChanged, RecordID: id}
		if err := e.Enrich(context.Background(), &ev); err != nil || ev.Amount == nil || ev.Amount.Currency != "GBP" {
			t.Fatalf("deal %s: %+v %v", id, ev.Amount, err)
		}
	}
	if fake.Requests() != 3 {
		t.Fatalf("%d requests, want 2 deals and 1 account look-up", fake.Requests())
	}
	*at = at.Add(time.Hour)
	ev := crm.Event{Kind: crm.KindStageChanged, RecordID: "4001"}
	if err := e.Enrich(context.Background(), &ev); err != nil || fake.Requests() != 5 {
		t.Fatalf("after an hour: %d requests, %v", fake.Requests(), err)
	}
}
