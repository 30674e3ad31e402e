package program

import (
	"errors"
	"strings"
	"testing"
)

// A subscription block loads with its defaults (14-day refund window, link
// by metadata, the referrer earns cash), and each broken rule is reported
// with the field's path.
func TestSubscriptionSettings(t *testing.T) {
	for _, c := range []struct {
		name, block, problem string
		check                func(*Subscription) bool
	}{
		{"percent with defaults", "subscription:\n  months: 12\n  percent_bp: 2000\n  cap_minor: 10000\n", "",
			func(s *Subscription) bool {
				return s.Months == 12 && s.PercentBasisPoints == 2000 && s.CapMinor == 10000 && s.RefundWindow() == 14 &&
					s.Link == LinkMetadata && s.Party == PartyReferrer && s.Kind == KindCash
			}},
		{"fixed amount, by email, to the referee, no hold", "subscription:\n  months: 3\n  amount_minor: 500\n  refund_window_days: 0\n  link: Email\n  party: referee\n", "",
			func(s *Subscription) bool {
				return s.AmountMinor == 500 && s.RefundWindow() == 0 && s.Link == LinkEmail && s.Party == PartyReferee
			}},
		{"no months", "subscription:\n  percent_bp: 2000\n", "subscription.months: must be between 1 and 120", nil},
		{"too many months", "subscription:\n  months: 121\n  percent_bp: 2000\n", "subscription.months: must be between 1 and 120", nil},
		{"both amounts", "subscription:\n  months: 1\n  percent_bp: 2000\n  amount_minor: 5\n", "subscription: give either percent_bp or amount_minor, not both", nil},
		{"no amount", "subscription:\n  months: 1\n", "subscription: give percent_bp", nil},
		{"percent above 100%", "subscription:\n  months: 1\n  percent_bp: 10001\n", "subscription.percent_bp: must be between 1 and 10000", nil},
		{"negative amount", "subscription:\n  months: 1\n  amount_minor: -5\n", "subscription.amount_minor: must be greater than 0", nil},
		{"negative cap", "subscription:\n  months: 1\n  percent_bp: 1\n  cap_minor: -1\n", "subscription.cap_minor: must not be negative", nil},
		{"long refund window", "subscription:\n  months: 1\n  percent_bp: 1\n  refund_window_days: 181\n", "subscription.refund_window_days: must be between 0 and 180", nil},
		{"crm link", "subscription:\n  months: 1\n  percent_bp: 1\n  link: crm\n", `subscription.link: unknown link "crm"`, nil},
		{"unknown party", "subscription:\n  months: 1\n  percent_bp: 1\n  party: partner\n", `subscription.party: unknown party "partner"`, nil},
		{"kind its rail cannot pay", "payout:\n  method: paypal\nsubscription:\n  months: 1\n  percent_bp: 1\n  kind: credit\n", "subscription.kind: credit rewards cannot be paid by the paypal rail", nil},
		{"unknown field", "subscription:\n  months: 1\n  percent_bp: 1\n  percent: 10%\n", "subscription.percent: unknown field", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Load([]byte(minimalYAML + c.block))
			if c.problem != "" {
				var ve *ValidationError
				if !errors.As(err, &ve) || !strings.Contains(err.Error(), c.problem) {
					t.Fatalf("error %v, want %q", err, c.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Subscription == nil || !c.check(p.Subscription) {
				t.Fatalf("loaded %+v", p.Subscription)
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("the loaded program does not validate again: %v", err)
			}
		})
	}
	p, err := Load([]byte(minimalYAML))
	if err != nil || p.Subscription != nil {
		t.Fatalf("a program without the block: %+v, %v", p.Subscription, err)
	}
}

func TestSubscriptionDescription(t *testing.T) {
	for _, c := range []struct {
		s    Subscription
		want string
	}{
		{Subscription{PercentBasisPoints: 2000}, "20% of invoice in_1"},
		{Subscription{PercentBasisPoints: 1250}, "12.5% of invoice in_1"},
		{Subscription{AmountMinor: 500}, "invoice in_1"},
	} {
		if got := c.s.Description("in_1"); got != c.want {
			t.Errorf("%+v: %q, want %q", c.s, got, c.want)
		}
	}
}
