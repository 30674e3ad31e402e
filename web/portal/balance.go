package portal

import (
	"github.com/referflow/referflow/internal/finance"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/rewards"
)

// balanceView is what the partner earned, per currency.
type balanceView struct {
	Rows []balanceRow
}

// balanceRow is one currency of the balance: cleared and not yet paid
// (approved), on hold (pending, in the holding period, or being looked
// at, or failed), paid, and clawed back after a payment (reversed).
type balanceRow struct {
	Currency                       string
	Earned, OnHold, Paid, Reversed string
	HasReversed                    bool
}

// balance shows the partner's balance per currency as finance counts it
// (finance.PartnerBalances, the one implementation the admin API shares):
// "Earned, to be paid" is what is cleared and not paid yet (to pay), a
// paid reward that was reversed counts as paid and, for its whole amount,
// as reversed. Voided rewards count nowhere.
func balance(rws []rewards.Reward) balanceView {
	var v balanceView
	for _, b := range finance.PartnerBalances(rws) {
		c := b.Currency
		v.Rows = append(v.Rows, balanceRow{Currency: c, Earned: formatMoney(b.ToPayMinor, c), OnHold: formatMoney(b.OnHoldMinor, c),
			Paid: formatMoney(b.PaidMinor, c), Reversed: formatMoney(b.ReversedMinor, c), HasReversed: b.ReversedMinor != 0})
	}
	return v
}

// formatMoney writes an amount for people: "500.00 USD".
func formatMoney(minor int64, currency string) string { return money.Format(minor, currency) }
