package crm

import (
	"context"
	"math"
	"testing"

	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/referral"
)

// dealCurrencies is a CRM that knows each deal's currency: it reads a
// webhook amount again in it, as the HubSpot enricher does.
type dealCurrencies struct {
	currency map[string]string // record -> currency
	amount   map[string]string // record -> current amount
	calls    int
}

func (d *dealCurrencies) Enrich(_ context.Context, ev *Event) error {
	d.calls++
	if ev.Amount == nil && d.amount[ev.RecordID] != "" {
		ev.AmountText = d.amount[ev.RecordID]
		ev.Amount, _ = money.Parse(ev.AmountText, "")
	}
	if cur := d.currency[ev.RecordID]; cur != "" && ev.Amount != nil && ev.Amount.Currency == "" {
		m, err := money.Parse(ev.AmountText, cur)
		if err != nil {
			return err
		}
		ev.Amount = m
	}
	return nil
}

// amountChange is a HubSpot Webhooks-API amount change as the adapter
// parses it: read with 2 decimals, currency unknown, the text kept.
func amountChange(id, record, text string) Event {
	m, err := money.Parse(text, "")
	if err != nil {
		panic(err)
	}
	return Event{Provider: "hubspot", ID: id, Kind: KindAmountChanged, RecordID: record, Amount: m, AmountText: text}
}

// Issue 9: an amount change on a linked deal was stored as if it had 2
// decimals and the program's currency: 1,000,000 JPY became 100,000,000.
func TestLinkedAmountChangeIsReadInTheDealCurrency(t *testing.T) {
	e := newEnv(t, false)
	e.p.Currency = "JPY"
	id := refID(1)
	e.add(id, nil)
	e.st.links["hubspot#D1"] = id
	crm := &dealCurrencies{currency: map[string]string{"D1": "JPY"}}
	e.in.Enrichers = map[string]Enricher{"hubspot": crm}

	wantOutcomes(t, e.ingest(t, amountChange("E1", "D1", "1000000")), 1, map[string]int{OutcomeAmount: 1})
	if r := e.st.get(id); r.DealAmountMinor != 1000000 || r.DealCurrency != "JPY" || crm.calls != 1 {
		t.Fatalf("deal %d %s after %d look-ups, want 1000000 JPY", r.DealAmountMinor, r.DealCurrency, crm.calls)
	}
}

// Without a way to learn the currency the amount is not recorded: it is
// never given the program's currency.
func TestAmountWithoutCurrencyIsNotRelabelled(t *testing.T) {
	e := newEnv(t, false)
	id := refID(1)
	e.add(id, nil)
	e.st.links["hubspot#D1"] = id
	wantOutcomes(t, e.ingest(t, amountChange("E1", "D1", "1000000")), 1, map[string]int{OutcomeNoChange: 1})
	if r := e.st.get(id); r.DealAmountMinor != 0 || r.DealCurrency != "" {
		t.Fatalf("deal %d %s, want none", r.DealAmountMinor, r.DealCurrency)
	}
	a := e.st.activities[id]
	if len(a) != 1 || a[0].Data["amount"] != "1000000" || a[0].Data["amount_review"] != reviewNoCurrency {
		t.Fatalf("activity %+v", a)
	}
}

// Issue 9: a EUR deal in a USD program was recorded as USD. It is
// converted at the program's rate, or kept in EUR for review.
func TestDealInAnotherCurrency(t *testing.T) {
	for _, c := range []struct {
		name     string
		rates    map[string]string
		minor    int64
		currency string
		data     map[string]string
		reviewed bool
	}{
		{"no rate: kept in EUR, sent to review", nil, 100000, "EUR",
			map[string]string{"amount": "1000.00 EUR", "amount_review": reviewNoRate}, true},
		{"rate given: converted exactly", map[string]string{"EUR": "1.08"}, 108000, "USD",
			map[string]string{"amount": "1000.00 EUR", "rate": "1.08", "recorded_amount": "1080.00 USD"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, false)
			e.p.Currency, e.p.CurrencyRates = "USD", c.rates
			id := refID(1)
			e.add(id, nil)
			e.st.links["hubspot#D1"] = id
			e.in.Enrichers = map[string]Enricher{"hubspot": &dealCurrencies{currency: map[string]string{"D1": "EUR"}}}
			e.ingest(t, amountChange("E1", "D1", "1000"))
			if r := e.st.get(id); r.DealAmountMinor != c.minor || r.DealCurrency != c.currency {
				t.Fatalf("deal %d %s, want %d %s", r.DealAmountMinor, r.DealCurrency, c.minor, c.currency)
			}
			got := e.st.activities[id][0].Data
			for k, v := range c.data {
				if got[k] != v {
					t.Errorf("activity %s = %q, want %q", k, got[k], v)
				}
			}
			if _, ok := got["amount_review"]; ok != c.reviewed {
				t.Errorf("amount_review %q", got["amount_review"])
			}
		})
	}
}

func TestDealAmount(t *testing.T) {
	p := loadProgram(t, false) // EUR
	p.CurrencyRates = map[string]string{"JPY": "0.0062", "USD": "2"}
	for _, c := range []struct {
		name string
		m    *money.Money
		text string // Event.AmountText: the provider could look the currency up
		want amountFacts
	}{
		{"none", nil, "", amountFacts{}},
		{"zero", &money.Money{Currency: "EUR"}, "", amountFacts{}},
		{"negative", &money.Money{Minor: -5, Currency: "EUR"}, "", amountFacts{}},
		{"program currency", &money.Money{Minor: 5, Currency: "eur"}, "", amountFacts{minor: 5, currency: "EUR", sent: "0.05 EUR"}},
		{"JPY at its rate", &money.Money{Minor: 1000000, Currency: "JPY"}, "", amountFacts{minor: 620000, currency: "EUR", sent: "1000000 JPY", rate: "0.0062"}},
		{"no rate", &money.Money{Minor: 7, Currency: "GBP"}, "", amountFacts{minor: 7, currency: "GBP", sent: "0.07 GBP", review: reviewNoRate}},
		{"no currency, to be looked up", &money.Money{Minor: 7}, "0.07", amountFacts{sent: "0.07", review: reviewNoCurrency}},
		{"a provider that never says one: the program's, in its decimals", &money.Money{Minor: 1250050}, "", amountFacts{minor: 1250050, currency: "EUR", sent: "12500.50", assumed: true}},
		{"overflow", &money.Money{Minor: math.MaxInt64, Currency: "USD"}, "", amountFacts{sent: money.Format(math.MaxInt64, "USD"), review: reviewOverflow}},
	} {
		if got := dealAmount(p, &Event{Amount: c.m, AmountText: c.text}); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// A change of the deal's currency carries no amount: the amount is read
// again, in the new currency, rather than left labelled with the old one.
func TestCurrencyChangeRereadsTheAmount(t *testing.T) {
	e := newEnv(t, false)
	id := refID(1)
	e.add(id, func(r *referral.Referral) { r.DealAmountMinor, r.DealCurrency = 100000, "EUR" })
	e.st.links["hubspot#D1"] = id
	e.in.Enrichers = map[string]Enricher{"hubspot": &dealCurrencies{currency: map[string]string{"D1": "JPY"}, amount: map[string]string{"D1": "1000"}}}
	e.p.CurrencyRates = map[string]string{"JPY": "0.0062"}
	e.ingest(t, Event{Provider: "hubspot", ID: "E1", Kind: KindAmountChanged, RecordID: "D1"})
	if r := e.st.get(id); r.DealAmountMinor != 620 || r.DealCurrency != "EUR" {
		t.Fatalf("deal %d %s, want 1000 JPY at 0.0062 = 6.20 EUR", r.DealAmountMinor, r.DealCurrency)
	}
}

// A provider whose amounts carry no currency (a Salesforce org without
// multi-currency, a generic event without "currency") sends them in the
// program's currency: 1,000,000 read in a JPY program is 1,000,000 JPY, not
// 100,000,000 (read with two decimals and relabelled, as before).
func TestAmountOfAProviderWithoutCurrenciesIsReadInTheProgramsDecimals(t *testing.T) {
	e := newEnv(t, false)
	e.p.Currency = "JPY"
	id := refID(1)
	e.add(id, nil)
	e.st.links["salesforce#OPP1"] = id
	m, err := money.Parse("1000000", "")
	if err != nil {
		t.Fatal(err)
	}
	e.ingest(t, Event{Provider: "salesforce", ID: "N1", Kind: KindAmountChanged, RecordID: "OPP1", Amount: m})
	if r := e.st.get(id); r.DealAmountMinor != 1000000 || r.DealCurrency != "JPY" {
		t.Fatalf("deal %d %s, want 1000000 JPY", r.DealAmountMinor, r.DealCurrency)
	}
	if a := e.st.activities[id]; len(a) != 1 || a[0].Data["currency_assumed"] != "JPY" {
		t.Fatalf("activity %+v", a)
	}
}
