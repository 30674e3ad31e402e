package portal

import (
	"sort"

	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards"
)

// balanceView is what the partner earned, per currency.
type balanceView struct {
	Rows []balanceRow
}

// balanceRow is one currency of the balance: cleared and not yet paid
// (approved), on hold (pending, in the holding period, or being looked
// at), paid, and clawed back after a payment (reversed).
type balanceRow struct {
	Currency                       string
	Earned, OnHold, Paid, Reversed string
	HasReversed                    bool
}

type sums struct{ earned, onHold, paid, reversed int64 }

// balance adds up the partner's referrer rewards (RewardsByPartner) per
// currency and status; a paid reward that was reversed counts as paid
// and, for its whole amount, as reversed. Voided rewards count nowhere.
func balance(rws []rewards.Reward) balanceView {
	totals := map[string]*sums{}
	for _, rw := range rws {
		if rw.Party != program.PartyReferrer {
			continue
		}
		t := totals[rw.Currency]
		if t == nil {
			t = &sums{}
			totals[rw.Currency] = t
		}
		switch rw.Status {
		case rewards.StatusApproved:
			t.earned += rw.AmountMinor
		case rewards.StatusPending, rewards.StatusOnHold, rewards.StatusFailed:
			t.onHold += rw.AmountMinor
		case rewards.StatusPaid:
			t.paid += rw.AmountMinor
			if rw.ReversedAt != nil {
				t.reversed += rw.AmountMinor
			}
		}
	}
	currencies := make([]string, 0, len(totals))
	for c := range totals {
		currencies = append(currencies, c)
	}
	sort.Strings(currencies)
	var v balanceView
	for _, c := range currencies {
		t := totals[c]
		v.Rows = append(v.Rows, balanceRow{Currency: c, Earned: formatMoney(t.earned, c), OnHold: formatMoney(t.onHold, c),
			Paid: formatMoney(t.paid, c), Reversed: formatMoney(t.reversed, c), HasReversed: t.reversed != 0})
	}
	return v
}

// formatMoney writes an amount for people: "500.00 USD".
func formatMoney(minor int64, currency string) string { return money.Format(minor, currency) }
