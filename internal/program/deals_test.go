package program

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCurrencyRatesAndUnlinkedTTLLoad(t *testing.T) {
	p, err := Load([]byte(minimalYAML + `
currency_rates:
  eur: 1.0800
  JPY: "0.0067"
unlinked_events_ttl: 14d
`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.CurrencyRates, map[string]string{"EUR": "1.08", "JPY": "0.0067"}) {
		t.Fatalf("rates %v", p.CurrencyRates)
	}
	if r, ok := p.Rate("EUR"); !ok || r.String() != "1.08" {
		t.Fatalf("Rate(EUR) = %v, %v", r, ok)
	}
	if _, ok := p.Rate("GBP"); ok {
		t.Fatal("a rate for GBP")
	}
	if p.UnlinkedEventsTTL() != 14*24*time.Hour {
		t.Fatalf("ttl %v", p.UnlinkedEventsTTL())
	}
	// JSON reads the same, numbers kept exact.
	pj, err := Load([]byte(`{"schema": 1, "id": "demo", "currency_rates": {"EUR": 1.08, "JPY": "0.0067"}, "unlinked_events_ttl": "14d",
	  "milestones": [{"name": "won", "deadline": "30d", "stages": [{"provider": "hubspot", "stage": "closedwon"}],
	    "rewards": [{"party": "referrer", "kind": "cash", "amount": 500}]}]}`))
	if err != nil || !reflect.DeepEqual(pj, p) || pj.Fingerprint() != p.Fingerprint() {
		t.Fatalf("JSON differs: %+v %v", pj, err)
	}
}

// A program without the fields (every program written before them) keeps
// its fingerprint and gets the default TTL.
func TestDealFieldsDefault(t *testing.T) {
	p, err := Load([]byte(minimalYAML))
	if err != nil {
		t.Fatal(err)
	}
	if p.CurrencyRates != nil || p.UnlinkedEventsTTLSeconds != 0 || p.UnlinkedEventsTTL() != DefaultUnlinkedEventsTTL {
		t.Fatalf("rates %v ttl %d", p.CurrencyRates, p.UnlinkedEventsTTLSeconds)
	}
	if (*Program)(nil).UnlinkedEventsTTL() != 30*24*time.Hour {
		t.Fatal("nil program: not the 30-day default")
	}
	b, _ := json.Marshal(p.canonical())
	if js := string(b); strings.Contains(js, "currency_rates") || strings.Contains(js, "unlinked") {
		t.Fatalf("empty fields written: %s", js)
	}
}

func TestDealFieldProblems(t *testing.T) {
	for _, c := range []struct {
		name, extra string
		want        []string
	}{
		{"program currency", "currency_rates: {USD: 1}\n", []string{"currency_rates.USD: USD is the program currency"}},
		{"unknown currency", "currency_rates: {XYZ: 2}\n", []string{"currency_rates.XYZ: unknown ISO 4217 currency code"}},
		{"negative rate", "currency_rates: {EUR: -1.08}\n", []string{"currency_rates.EUR: \"-1.08\" must be a plain positive decimal"}},
		{"zero rate", "currency_rates: {EUR: 0}\n", []string{"currency_rates.EUR: \"0\" must be"}},
		{"exponent", "currency_rates: {EUR: 1e3}\n", []string{"currency_rates.EUR: \"1e3\" must be"}},
		{"null rate", "currency_rates: {EUR: null}\n", []string{"currency_rates.EUR: \"\" must be"}},
		{"twice", "currency_rates: {EUR: 1.1, eur: 1.2}\n", []string{"currency_rates.eur: EUR is given twice"}},
		{"ttl too short", "unlinked_events_ttl: 30m\n", []string{"unlinked_events_ttl: must be between 1h and 365d"}},
		{"ttl too long", "unlinked_events_ttl: 400d\n", []string{"unlinked_events_ttl: must be between 1h and 365d"}},
		{"ttl negative", "unlinked_events_ttl: -1d\n", []string{"unlinked_events_ttl: must be between"}},
		{"ttl unreadable", "unlinked_events_ttl: soon\n", []string{"unlinked_events_ttl: \"soon\" is not a duration"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := problemsOf(t, minimalYAML+c.extra)
			for _, w := range c.want {
				found := false
				for _, g := range got {
					found = found || strings.HasPrefix(g, w)
				}
				if !found {
					t.Errorf("problems %q lack %q", got, w)
				}
			}
		})
	}
	// Programs built in code are checked too.
	p, _ := Load([]byte(minimalYAML))
	p.CurrencyRates = map[string]string{"EUR": "abc"}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "currency_rates.EUR") {
		t.Fatalf("Validate = %v", err)
	}
}
