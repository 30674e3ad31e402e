package program

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/money"
)

// This file holds what a program says about the deals the CRM reports
// rather than about rewards: rates for deals in other currencies, and how
// long events about deals not yet linked to a referral are kept.
//
// In a program file:
//
//	currency_rates:          # 1 unit of each currency = this many program units
//	  EUR: "1.08"
//	  JPY: "0.0067"
//	unlinked_events_ttl: 30d # default 30d, from 1h to 365d
//
// A deal amount in the program's currency is recorded as it is. One in a
// currency the program gives a rate for is converted exactly (decimal
// arithmetic, rounded half away from zero once, to the program currency's
// minor unit). One in any other currency is recorded in its own currency,
// never relabelled, and sent to review: no percent reward is computed on it.

// Bounds and default of UnlinkedEventsTTLSeconds.
const (
	DefaultUnlinkedEventsTTL = 30 * 24 * time.Hour
	MinUnlinkedEventsTTL     = time.Hour
	MaxUnlinkedEventsTTL     = 365 * 24 * time.Hour
)

// UnlinkedEventsTTL is how long events about deals not yet linked to a
// referral are kept for this program: its unlinked_events_ttl, else
// DefaultUnlinkedEventsTTL. A nil program has the default.
func (p *Program) UnlinkedEventsTTL() time.Duration {
	switch {
	case p == nil || p.UnlinkedEventsTTLSeconds <= 0:
		return DefaultUnlinkedEventsTTL
	case p.UnlinkedEventsTTLSeconds > int64(MaxUnlinkedEventsTTL/time.Second):
		return MaxUnlinkedEventsTTL // Validate refuses it; never overflow
	}
	return time.Duration(p.UnlinkedEventsTTLSeconds) * time.Second
}

// Rate returns the rate the program gives for converting currency (upper
// case) into its own currency, and whether it gives one.
func (p *Program) Rate(currency string) (money.Rate, bool) {
	text, ok := p.CurrencyRates[currency]
	if !ok {
		return money.Rate{}, false
	}
	r, err := money.ParseRate(text)
	if err != nil {
		return money.Rate{}, false // Validate reports it
	}
	return r, true
}

// deals reads currency_rates and unlinked_events_ttl: codes trimmed and
// upper-cased, rates kept as exact decimal text.
func (cv *converter) deals(f *fileProgram, p *Program) {
	cv.duration(f.UnlinkedEventsTTL, "unlinked_events_ttl", &p.UnlinkedEventsTTLSeconds)
	if len(f.CurrencyRates) == 0 {
		return
	}
	p.CurrencyRates = map[string]string{}
	codes := make([]string, 0, len(f.CurrencyRates))
	for code := range f.CurrencyRates {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		path := "currency_rates." + code
		v := f.CurrencyRates[code]
		r, err := money.ParseRate(v.Text)
		if !v.Set || err != nil {
			cv.fail(path, fmt.Errorf("%q must be a plain positive decimal such as 1.08 (1 %s = 1.08 %s)", v.Text, code, p.Currency))
			continue
		}
		c := strings.ToUpper(strings.TrimSpace(code))
		if _, dup := p.CurrencyRates[c]; dup {
			cv.fail(path, fmt.Errorf("%s is given twice", c))
			continue
		}
		p.CurrencyRates[c] = r.String()
	}
}

// validateDeals checks the currency rates (known currencies other than the
// program's, valid rates) and the unlinked-events TTL (0, or within its
// bounds).
func (p *Program) validateDeals(ps *problems) {
	codes := make([]string, 0, len(p.CurrencyRates))
	for code := range p.CurrencyRates {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		path := "currency_rates." + code
		switch _, known := money.Exponent(code); {
		case !known:
			ps.add(path, "unknown ISO 4217 currency code %q", code)
		case code == p.Currency:
			ps.add(path, "%s is the program currency: it needs no rate", code)
		}
		if _, err := money.ParseRate(p.CurrencyRates[code]); err != nil {
			ps.add(path, "%q must be a plain positive decimal such as 1.08", p.CurrencyRates[code])
		}
	}
	ttl := p.UnlinkedEventsTTLSeconds // seconds: no Duration overflow
	if ttl != 0 && (ttl < int64(MinUnlinkedEventsTTL/time.Second) || ttl > int64(MaxUnlinkedEventsTTL/time.Second)) {
		ps.add("unlinked_events_ttl", "must be between 1h and 365d (default 30d)")
	}
}
