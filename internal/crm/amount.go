package crm

import (
	"strings"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
)

// amountFacts is what an event's deal amount records under a program, and
// why. A deal amount is recorded in the program's currency (as sent, or
// converted at a rate the program gives) or in its own currency for a
// person to review. An amount whose currency the provider could have told
// but did not (HubSpot: the enricher looks it up; Event.AmountText is set)
// is not recorded. A provider that never says a currency (a Salesforce
// org without multi-currency, a generic event without "currency") sends
// amounts in the program's currency: they are read in its decimals, and
// the event says the currency was assumed (docs/crm/*.md).
type amountFacts struct {
	minor    int64  // what the referral records, 0 = nothing
	currency string // the currency of minor
	sent     string // the amount as the CRM sent it ("1000.00 EUR"), "" when none
	rate     string // the program's rate applied, "" when none
	review   string // why a person must look at it, "" when nothing to review
	assumed  bool   // no currency was sent: the program's was assumed
}

// Reasons an amount goes to review (activity data "amount_review").
const (
	reviewNoCurrency = "the CRM did not say the deal's currency: the amount is not recorded"
	reviewNoRate     = "the deal is not in the program currency and the program gives no rate for it: no percent reward is computed on it"
	reviewOverflow   = "the converted amount is too large: the amount is not recorded"
)

// dealAmount decides what amount m records under program p. Zero and
// negative amounts record nothing.
func dealAmount(p *program.Program, ev *Event) amountFacts {
	m := ev.Amount
	if m == nil || m.Minor <= 0 {
		return amountFacts{}
	}
	cur := strings.ToUpper(strings.TrimSpace(m.Currency))
	f := amountFacts{sent: money.Format(m.Minor, cur)}
	switch rate, ok := p.Rate(cur); {
	case cur == "" && ev.AmountText == "":
		// Read without a currency (two decimals): rescaled to the
		// program currency's own, so 1000000 JPY stays 1000000 JPY.
		f.minor, f.currency, f.assumed = money.Rescale(m.Minor, 2, money.Digits(p.Currency)), p.Currency, true
	case cur == "":
		f.review = reviewNoCurrency
	case cur == p.Currency:
		f.minor, f.currency = m.Minor, cur
	case ok:
		v, err := rate.Convert(m.Minor, cur, p.Currency)
		if err != nil {
			f.review = reviewOverflow
			break
		}
		f.minor, f.currency, f.rate = v, p.Currency, rate.String()
	default:
		f.minor, f.currency, f.review = m.Minor, cur, reviewNoRate
	}
	return f
}

// withAmount adds to a deal event what its amount recorded: the amount as
// sent, the rate and the recorded amount when converted, and why it needs
// review.
func withAmount(record events.Event, p *program.Program, ev *Event) events.Event {
	f := dealAmount(p, ev)
	if f.sent == "" {
		return record
	}
	if f.assumed {
		record = record.With("currency_assumed", f.currency)
	}
	if f.review == reviewNoCurrency && ev.AmountText != "" {
		f.sent = ev.AmountText // not scaled to a currency nobody said
	}
	record = record.With("amount", f.sent)
	if f.rate != "" {
		record = record.With("rate", f.rate).With("recorded_amount", money.Format(f.minor, f.currency))
	}
	return record.With("amount_review", f.review)
}

// needsEnrich reports whether an event about a linked record still lacks
// what the provider's enricher fills in: a stage for a stage change or a
// creation, the currency of its amount, or the amount of an amount change
// that carries none (HubSpot's deal_currency_code changes).
func needsEnrich(ev *Event) bool {
	switch {
	case ev.Stage == "" && ev.Status == "" && (ev.Kind == KindStageChanged || ev.Kind == KindCreated):
		return true
	case ev.Amount == nil:
		return ev.Kind == KindAmountChanged
	}
	return ev.Amount.Minor != 0 && ev.Amount.Currency == ""
}
