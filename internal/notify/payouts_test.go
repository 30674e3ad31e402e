package notify

import (
	"html"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/events"
)

// An operator hears which reward a rail refused, in words, that nothing
// retries it, and the routes that settle it; never a person's details.
func TestPayoutEmailsSayWhichRewardAndWhatToDo(t *testing.T) {
	failed := func(party, rail string) events.Event {
		return reward(events.RewardFailed, "failed", party).With("rail", rail)
	}
	refused := func(party, rail string) events.Event {
		return reward(events.RewardRailReversal, "paid", party).With("rail", rail).With("outcome", "refused")
	}
	cases := []struct {
		name    string
		event   events.Event
		subject string
		want    []string // in the text and in the HTML
		lines   []string // in the text (the HTML shows them as a table)
		absent  []string
	}{
		{"stripe refused the partner's cash", failed("referrer", "stripe"), "Payout failed at Stripe: 500.00 USD to the partner",
			[]string{"The payment of the reward of 500.00 USD to the partner for the referral of Acme Robotics reaching Won was refused by Stripe", "nothing will retry it by itself",
				"referrer (the partner, code ANN42)", "GET /admin/rewards/failed", "PUT /admin/partners/b2b/ANN42/payee", "referflow payees set -program b2b -method METHOD [details] ANN42",
				"POST /admin/rewards/ref_01/won/referrer/rearm", `POST /admin/rewards/ref_01/won/referrer/void with {"reason": "..."}`},
			[]string{"Reward: rw_1", "Referral: ref_01", "Milestone: Won", "Party: referrer (the partner, code ANN42)", "Amount: 500.00 USD", "Rail: Stripe"},
			[]string{"/admin/referrals/ref_01/payee"}},
		{"paypal refused the new customer's reward", failed("referee", "paypal"), "Payout failed at PayPal: 500.00 USD to the new customer",
			[]string{"was refused by PayPal", "referee (the new customer)", "PUT /admin/referrals/ref_01/payee", "referflow payees set -referral ref_01",
				"POST /admin/rewards/ref_01/won/referee/rearm", "POST /admin/rewards/ref_01/won/referee/void"},
			[]string{"Party: referee (the new customer)", "Rail: PayPal"},
			[]string{"/admin/partners/", "code ANN42"}},
		{"tremendous refused a gift card", failed("referrer", "tremendous"), "Payout failed at Tremendous: 500.00 USD to the partner",
			[]string{"was refused by Tremendous", "POST /admin/rewards/ref_01/won/referrer/rearm"}, []string{"Rail: Tremendous"}, nil},
		{"an event without its rail", failed("referrer", ""), "Payout failed at its rail: 500.00 USD to the partner",
			[]string{"was refused by its rail"}, []string{"Rail: its rail"}, nil},
		{"stripe would not take a payment back", refused("referrer", "stripe"), "Reversal refused by Stripe: 500.00 USD stays with the partner",
			[]string{"was reversed in the ledger", "Stripe would not take its payment back", "nothing will retry it at Stripe by itself",
				"Recover the 500.00 USD at Stripe or from the partner directly", "reward id rw_1", "its reversal entry stands in the ledger"},
			[]string{"Reward: rw_1", "Amount: 500.00 USD", "Rail: Stripe"},
			[]string{"/rearm", "/void"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Plan(c.event, testFacts(), testLinks)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 2 {
				t.Fatalf("%d emails, want one per operator", len(out))
			}
			m := out[0].Message
			if m.Subject != c.subject {
				t.Errorf("subject %q, want %q", m.Subject, c.subject)
			}
			if !strings.Contains(m.HTML, `href="`+base+`/admin/referrals/ref_01"`) || !strings.Contains(m.HTML, "<ol") {
				t.Error("the HTML part lacks the admin link or the numbered steps")
			}
			for _, l := range c.lines {
				if !strings.Contains(m.Text, l+"\n") {
					t.Errorf("text part lacks the line %q", l)
				}
			}
			for name, part := range map[string]string{"text": m.Text, "html": html.UnescapeString(m.HTML)} {
				for _, w := range c.want {
					if !strings.Contains(part, w) {
						t.Errorf("%s part lacks %q:\n%s", name, w, part)
					}
				}
				for _, a := range append(c.absent, partnerEmail, refereeEmail, refereeName, "Ann,", "acme-robotics.example") {
					if strings.Contains(part, a) {
						t.Errorf("%s part shows %q", name, a)
					}
				}
			}
		})
	}
}

func TestRailNames(t *testing.T) {
	for rail, want := range map[string]string{
		"stripe": "Stripe", "paypal": "PayPal", "tremendous": "Tremendous", "": "its rail", "tango_raas": "Tango raas",
	} {
		if got := railName(rail); got != want {
			t.Errorf("railName(%q) = %q, want %q", rail, got, want)
		}
	}
}
