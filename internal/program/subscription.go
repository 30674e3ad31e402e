package program

import (
	"fmt"
	"strings"
)

// This file holds what a program says about subscription rewards: a reward
// per paid invoice of the referred customer's Stripe subscription, for its
// first months (internal/rewards, subscription.go; POST /webhooks/stripe):
//
//	subscription:
//	  months: 12               # invoices paid in the first 12 months after the first one earn (required)
//	  percent_bp: 2000         # 20% of each invoice's amount_paid ...
//	  amount_minor: 500        # ... or a fixed amount per invoice (minor units, program currency)
//	  cap_minor: 10000         # at most this per invoice (minor units of the invoice's currency; 0 = none)
//	  refund_window_days: 14   # each reward waits this long on hold, for refunds (default 14)
//	  link: metadata           # how a Stripe customer is tied to a referral: metadata | email (default metadata)
//	  party: referrer          # who earns: referrer (default) | referee
//	  kind: cash               # the reward's kind (default cash); payout.rails picks its rail
//
// A program without the block pays nothing per invoice.

// Subscription link methods: how a Stripe customer is tied to a referral.
const (
	// LinkMetadata: the invoice, its subscription or its parent's
	// subscription details carry metadata referral_id (always honoured).
	LinkMetadata = "metadata"
	// LinkEmail: the invoice's customer_email is the referee's email.
	LinkEmail = "email"
)

// Defaults and bounds of Subscription.
const (
	DefaultRefundWindowDays = 14
	// MaxSubscriptionMonths bounds months (ten years).
	MaxSubscriptionMonths = 120
	// MaxRefundWindowDays bounds the hold (Stripe allows refunds for 180 days).
	MaxRefundWindowDays = 180
)

// Subscription configures rewards per paid invoice. Its JSON names are the
// program file's.
type Subscription struct {
	// Months: only invoices paid before the first paid invoice + Months
	// earn a reward.
	Months int `json:"months" yaml:"months"`
	// PercentBasisPoints pays a share of the invoice's amount_paid (2000 =
	// 20%), in the invoice's currency; AmountMinor pays a fixed amount in
	// the program's currency. Exactly one is set.
	PercentBasisPoints int64 `json:"percent_bp,omitempty" yaml:"percent_bp"`
	AmountMinor        int64 `json:"amount_minor,omitempty" yaml:"amount_minor"`
	// CapMinor caps each invoice's reward (0 = none).
	CapMinor int64 `json:"cap_minor,omitempty" yaml:"cap_minor"`
	// RefundWindowDays is how long each reward stays on hold; nil in a
	// file means DefaultRefundWindowDays (see RefundWindow).
	RefundWindowDays *int `json:"refund_window_days,omitempty" yaml:"refund_window_days"`
	// Link is LinkMetadata or LinkEmail ("" reads as LinkMetadata).
	Link string `json:"link,omitempty" yaml:"link"`
	// Party is who earns ("" reads as the referrer); Kind the reward's
	// kind ("" reads as cash).
	Party string `json:"party,omitempty" yaml:"party"`
	Kind  string `json:"kind,omitempty" yaml:"kind"`
}

// RefundWindow is the hold of each invoice's reward, in days.
func (s *Subscription) RefundWindow() int {
	if s.RefundWindowDays == nil {
		return DefaultRefundWindowDays
	}
	return *s.RefundWindowDays
}

// normalized is s as loaded: trimmed and lower-cased words, defaults for
// link, party and kind; nil stays nil.
func (s *Subscription) normalized() *Subscription {
	if s == nil {
		return nil
	}
	c := *s
	norm := func(v, def string) string {
		if v = strings.ToLower(strings.TrimSpace(v)); v == "" {
			return def
		}
		return v
	}
	c.Link, c.Party, c.Kind = norm(c.Link, LinkMetadata), norm(c.Party, PartyReferrer), norm(c.Kind, KindCash)
	if c.RefundWindowDays == nil {
		d := DefaultRefundWindowDays
		c.RefundWindowDays = &d
	}
	return &c
}

var subscriptionLinks = []string{LinkMetadata, LinkEmail}

// validateSubscription checks the subscription block, when there is one.
func (p *Program) validateSubscription(ps *problems) {
	s := p.Subscription
	if s == nil {
		return
	}
	if s.Months < 1 || s.Months > MaxSubscriptionMonths {
		ps.add("subscription.months", "must be between 1 and %d (got %d)", MaxSubscriptionMonths, s.Months)
	}
	switch {
	case s.PercentBasisPoints != 0 && s.AmountMinor != 0:
		ps.add("subscription", "give either percent_bp or amount_minor, not both")
	case s.PercentBasisPoints == 0 && s.AmountMinor == 0:
		ps.add("subscription", "give percent_bp (a share of each invoice) or amount_minor (a fixed amount per invoice)")
	case s.PercentBasisPoints < 0 || s.PercentBasisPoints > 10000:
		ps.add("subscription.percent_bp", "must be between 1 and 10000 (100%%), got %d", s.PercentBasisPoints)
	case s.AmountMinor < 0:
		ps.add("subscription.amount_minor", "must be greater than 0")
	}
	if s.CapMinor < 0 {
		ps.add("subscription.cap_minor", "must not be negative")
	}
	if d := s.RefundWindow(); d < 0 || d > MaxRefundWindowDays {
		ps.add("subscription.refund_window_days", "must be between 0 and %d (got %d)", MaxRefundWindowDays, d)
	}
	if !oneOf(s.Link, subscriptionLinks) {
		ps.add("subscription.link", "unknown link %q (want %s; a CRM property is not supported yet: use a CRM milestone instead)", s.Link, want(subscriptionLinks))
	}
	if !oneOf(s.Party, parties) {
		ps.add("subscription.party", "unknown party %q (want %s)", s.Party, want(parties))
	}
	if !oneOf(s.Kind, kinds) {
		ps.add("subscription.kind", "unknown kind %q (want %s)", s.Kind, want(kinds))
	} else if rail := p.RailFor(s.Kind); oneOf(p.Payout.Method, payouts) && !oneOf(s.Kind, railKinds[rail]) {
		ps.add("subscription.kind", "%s rewards cannot be paid by the %s rail (set payout.rails.%s)", s.Kind, rail, s.Kind)
	}
}

// Description describes the reward of one invoice, for people
// (never personal data).
func (s *Subscription) Description(invoiceID string) string {
	if s.PercentBasisPoints > 0 {
		return fmt.Sprintf("%s%% of invoice %s", formatSubscriptionBP(s.PercentBasisPoints), invoiceID)
	}
	return "invoice " + invoiceID
}

func formatSubscriptionBP(bp int64) string {
	whole, frac := bp/100, bp%100
	if frac == 0 {
		return fmt.Sprint(whole)
	}
	return strings.TrimRight(fmt.Sprintf("%d.%02d", whole, frac), "0")
}
