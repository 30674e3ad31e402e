package program

import (
	"strings"
	"testing"
)

// TestPayoutRailsAndSchedule: a program picks a rail per reward kind, the
// rail must be able to pay the kind, and a minimum needs a schedule.
func TestPayoutRailsAndSchedule(t *testing.T) {
	cases := []struct {
		name   string
		payout string
		kinds  []string // of the won milestone's rewards
		want   []string // problems ("" none)
		rails  map[string]string
	}{
		{name: "default: the ledger pays everything", payout: "", kinds: []string{"cash", "discount"},
			rails: map[string]string{"cash": "ledger", "discount": "ledger", "gift_card": "ledger"}},
		{name: "stripe cash and discount, tremendous gift cards",
			payout: "payout: {rails: {cash: stripe, discount: stripe, gift_card: tremendous}}", kinds: []string{"cash", "discount"},
			rails: map[string]string{"cash": "stripe", "discount": "stripe", "gift_card": "tremendous", "credit": "ledger"}},
		{name: "method for every kind, one kind elsewhere", payout: "payout: {method: manual, rails: {cash: paypal}}",
			kinds: []string{"cash", "credit"}, rails: map[string]string{"cash": "paypal", "credit": "manual"}},
		{name: "paypal cannot pay a discount", payout: "payout: {method: paypal}", kinds: []string{"discount"},
			want: []string{"milestones[0].rewards[0].kind: the paypal rail cannot pay a discount reward (set payout.rails.discount to one of ledger, manual, stripe)"}},
		{name: "tremendous cannot pay credit", payout: "payout: {rails: {credit: tremendous}}", kinds: []string{"credit"},
			want: []string{"the tremendous rail cannot pay a credit reward"}},
		{name: "unknown rail and kind", payout: "payout: {rails: {cash: wise, voucher: stripe}}", kinds: []string{"cash"},
			want: []string{`payout.rails.cash: unknown rail "wise"`, `payout.rails.voucher: unknown reward kind "voucher"`}},
		{name: "weekly with a minimum", payout: "payout: {schedule: weekly, minimum_minor: 5000}", kinds: []string{"cash"}},
		{name: "a minimum needs a schedule", payout: "payout: {minimum_minor: 5000}", kinds: []string{"cash"},
			want: []string{"payout.minimum_minor: a minimum needs a weekly or monthly schedule"}},
		{name: "negative minimum, unknown schedule", payout: "payout: {schedule: daily, minimum_minor: -1}", kinds: []string{"cash"},
			want: []string{`payout.schedule: unknown schedule "daily"`, "payout.minimum_minor: must not be negative"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rewards strings.Builder
			for i, k := range c.kinds {
				party := "referrer"
				if i == 1 {
					party = "referee"
				}
				rewards.WriteString("      - {party: " + party + ", kind: " + k + ", amount: 10}\n")
			}
			src := "schema: 1\nid: pay\nname: Pay\nmilestones:\n  - name: won\n    deadline: 30d\n    stages: [{provider: generic, stage: won}]\n    rewards:\n" +
				rewards.String() + c.payout + "\n"
			p, err := Load([]byte(src))
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("problems: %v", err)
				}
				for kind, rail := range c.rails {
					if got := p.RailFor(kind); got != rail {
						t.Errorf("RailFor(%s) = %s, want %s", kind, got, rail)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("no problem, want %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems lack %q:\n%v", w, err)
				}
			}
		})
	}
}
