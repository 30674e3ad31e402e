package exports

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/finance"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// The header rows.
var (
	// ReferralHeader: one referral a line; milestones as "name at; ...".
	ReferralHeader = []string{"referral_id", "received_at", "program", "program_version", "status", "referrer_code", "company",
		"milestones", "deal_amount", "deal_currency", "updated_at"}
	// RewardHeader: one reward a line.
	RewardHeader = []string{"reward_id", "created_at", "referral_id", "program", "milestone", "party", "referrer_code", "kind",
		"amount", "currency", "status", "paid_at", "updated_at"}
	// LedgerHeader: one ledger entry a line (`referflow ledger export`).
	LedgerHeader = []string{"entry_id", "type", "created_at", "program", "referral_id", "milestone", "party", "referrer_code", "kind", "amount", "currency"}
)

// safe quotes the text cells a spreadsheet would read as a formula.
func safe(cells ...string) []string {
	for i := range cells {
		cells[i] = finance.SafeCell(cells[i])
	}
	return cells
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// amount is an amount in major units with its currency's decimals ("" for
// none).
func amount(minor int64, currency string) string {
	if currency == "" {
		return ""
	}
	return money.FormatMinor(minor, currency)
}

// ReferralRow is a referral's line: no personal data but its company.
func ReferralRow(r *referral.Referral) []string {
	names := make([]string, 0, len(r.Milestones))
	for n := range r.Milestones {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return r.Milestones[names[i]].Before(r.Milestones[names[j]]) })
	for i, n := range names {
		names[i] = n + " " + stamp(r.Milestones[n])
	}
	row := safe(r.ID, stamp(r.CreatedAt), r.ProgramID, strconv.Itoa(r.ProgramVersion), string(r.Status), r.ReferrerCode, r.RefereeCompany,
		strings.Join(names, "; "))
	return append(row, amount(r.DealAmountMinor, r.DealCurrency), r.DealCurrency, stamp(r.UpdatedAt))
}

// RewardRow is a reward's line.
func RewardRow(rw *rewards.Reward) []string {
	paid := ""
	if rw.PaidAt != nil {
		paid = stamp(*rw.PaidAt)
	}
	row := safe(rw.ID, stamp(rw.CreatedAt), rw.ReferralID, rw.ProgramID, rw.Milestone, rw.Party, rw.ReferrerCode, rw.Kind)
	return append(row, amount(rw.AmountMinor, rw.Currency), rw.Currency, string(rw.Status), paid, stamp(rw.UpdatedAt))
}

// LedgerRow is a ledger entry's line, its amount in major units with as
// many decimals as its currency has (100000 UGX is "100000", 123456 CLF
// minor units "12.3456"; a reversal is negative).
func LedgerRow(e rewards.Entry) []string {
	row := safe(e.ID, string(e.Type), stamp(e.CreatedAt), e.ProgramID, e.ReferralID, e.Milestone, e.Party, e.ReferrerCode, e.Kind)
	return append(row, money.FormatMinor(e.AmountMinor, e.Currency), e.Currency)
}
