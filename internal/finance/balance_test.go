package finance

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/rewards"
)

func rw(id, party, currency string, status rewards.Status, minor int64, reversed bool) rewards.Reward {
	r := rewards.Reward{ID: id, Party: party, Currency: currency, Status: status, AmountMinor: minor}
	if reversed {
		at := t0
		r.ReversedAt = &at
	}
	return r
}

// A partner's balance adds each currency on its own, by status, with the
// currency's decimals; voided rewards and other parties count nowhere.
func TestPartnerBalancesAcrossCurrencies(t *testing.T) {
	rws := []rewards.Reward{
		rw("a", "referrer", "USD", rewards.StatusApproved, 2550, false),
		rw("b", "referrer", "USD", rewards.StatusSending, 1000, false),
		rw("c", "referrer", "USD", rewards.StatusPaid, 30000, true),
		rw("d", "referrer", "USD", rewards.StatusOnHold, 10000, false),
		rw("e", "referrer", "USD", rewards.StatusFailed, 500, false),
		rw("f", "referrer", "USD", rewards.StatusVoided, 99999, false),
		rw("g", "referee", "USD", rewards.StatusPaid, 77777, false),
		rw("h", "referrer", "JPY", rewards.StatusPaid, 5000, false),
		rw("i", "referrer", "JPY", rewards.StatusPending, 300, false),
		rw("j", "referrer", "BHD", rewards.StatusApproved, 1250, false),
	}
	got := PartnerBalances(rws)
	want := []Balance{
		{Currency: "BHD", EarnedMinor: 1250, ToPayMinor: 1250, Earned: "1.250", ToPay: "1.250", OnHold: "0.000", Paid: "0.000", Reversed: "0.000"},
		{Currency: "JPY", EarnedMinor: 5000, OnHoldMinor: 300, PaidMinor: 5000, Earned: "5000", ToPay: "0", OnHold: "300", Paid: "5000", Reversed: "0"},
		{Currency: "USD", EarnedMinor: 33550, ToPayMinor: 3550, OnHoldMinor: 10500, PaidMinor: 30000, ReversedMinor: 30000,
			Earned: "335.50", ToPay: "35.50", OnHold: "105.00", Paid: "300.00", Reversed: "300.00"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("balances:\n got %+v\nwant %+v", got, want)
	}
	if got := PartnerBalances(nil); len(got) != 0 {
		t.Fatalf("no rewards: %+v", got)
	}
}

func TestPartnerBalanceUnknownPartner(t *testing.T) {
	s := newService(newMem())
	if _, err := s.PartnerBalance(context.Background(), "p1", "NOPE"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown partner: %v", err)
	}
}

// A program's balance: paid and reversed from the ledger months asked for
// (its own program's entries only), to pay and on hold from its
// partners' rewards now.
func TestProgramBalance(t *testing.T) {
	m := newMem()
	m.add(entry("rw_1", "p1", "USD", "manual", "cash", 10000, "2026-10"))
	m.add(entry("rw_2", "p1", "EUR", "stripe", "cash", 5000, "2026-11"))
	m.add(entry("rw_3", "p2", "USD", "manual", "cash", 7000, "2026-11")) // another program
	rev := entry("rw_1", "p1", "USD", "manual", "cash", -10000, "2026-11")
	rev.ID, rev.Type = "rw_1:reversal", rewards.EntryReversal
	m.add(rev)
	m.add(entry("rw_4", "p1", "USD", "manual", "cash", 999, "2025-01")) // outside the months
	m.partners["p1/ANN42"] = []rewards.Reward{rw("x", "referrer", "USD", rewards.StatusApproved, 2500, false),
		rw("y", "referrer", "USD", rewards.StatusPaid, 10000, true), rw("z", "referrer", "EUR", rewards.StatusOnHold, 100, false)}
	m.partners["p1/BOB7"] = []rewards.Reward{rw("w", "referrer", "USD", rewards.StatusPending, 300, false)}
	m.partners["p2/CAT1"] = []rewards.Reward{rw("v", "referrer", "USD", rewards.StatusApproved, 123, false)}
	got, err := newService(m).ProgramBalance(context.Background(), "p1", "2026-06", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.From != "2026-06" || got.To != "2026-11" || got.Partners != 2 || len(m.reads) != 6 {
		t.Fatalf("window %s..%s, %d partners, months read %v", got.From, got.To, got.Partners, m.reads)
	}
	want := []Balance{
		{Currency: "EUR", EarnedMinor: 5000, OnHoldMinor: 100, PaidMinor: 5000, Earned: "50.00", ToPay: "0.00", OnHold: "1.00", Paid: "50.00", Reversed: "0.00"},
		{Currency: "USD", EarnedMinor: 12500, ToPayMinor: 2500, OnHoldMinor: 300, PaidMinor: 10000, ReversedMinor: 10000,
			Earned: "125.00", ToPay: "25.00", OnHold: "3.00", Paid: "100.00", Reversed: "100.00"},
	}
	if !reflect.DeepEqual(got.Balances, want) {
		t.Fatalf("balances:\n got %+v\nwant %+v", got.Balances, want)
	}
}

func TestProgramBalanceMonths(t *testing.T) {
	tests := []struct {
		name, from, to string
		first, last    string
		n              int
		field          string
	}{
		{"defaults: the last 12 months", "", "", "2025-12", "2026-11", 12, ""},
		{"one month", "2026-03", "2026-03", "2026-03", "2026-03", 1, ""},
		{"across a year", "2025-11", "2026-02", "2025-11", "2026-02", 4, ""},
		{"the most months", "2023-12", "2026-11", "2023-12", "2026-11", MaxMonths, ""},
		{"too many months", "2023-11", "2026-11", "", "", 0, "from"},
		{"from after to", "2026-05", "2026-04", "", "", 0, "from"},
		{"bad to", "", "2026-13", "", "", 0, "to"},
		{"bad from", "26-01", "", "", "", 0, "from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{Now: func() time.Time { return t0 }}
			got, err := s.months(tt.from, tt.to)
			if tt.field != "" {
				var inv *Invalid
				if !errors.As(err, &inv) || inv.Fields[tt.field] == "" {
					t.Fatalf("want field %s invalid, got %v", tt.field, err)
				}
				return
			}
			if err != nil || len(got) != tt.n || got[0] != tt.first || got[len(got)-1] != tt.last {
				t.Fatalf("months %v, %v", got, err)
			}
		})
	}
}
