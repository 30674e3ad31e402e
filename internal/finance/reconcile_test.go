package finance

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/referflow/referflow/internal/rewards"
)

// fakeRail answers Find from what it paid, by reward id; it fails the test
// when Send is called.
type fakeRail struct {
	t       *testing.T
	name    string
	paid    map[string]Payment
	reverse map[string]bool
	fail    error
	finds   int
}

func (f *fakeRail) Send(context.Context, rewards.Reward) (rewards.Transfer, error) {
	f.t.Errorf("the reconciliation called Send on %s", f.name)
	return rewards.Transfer{}, errors.New("no")
}

func (f *fakeRail) Find(_ context.Context, r rewards.Reward) (rewards.Transfer, bool, error) {
	f.finds++
	if f.fail != nil {
		return rewards.Transfer{}, false, f.fail
	}
	p, ok := f.paid[r.IdempotencyKey]
	if ok && f.reverse[r.IdempotencyKey] {
		return p.Transfer, true, fmt.Errorf("transfer %s: %w", p.Reference, rewards.ErrReversed)
	}
	return p.Transfer, ok, nil
}

// pricedRail also reports amounts (Payments).
type pricedRail struct{ *fakeRail }

func (p pricedRail) FindPayment(ctx context.Context, r rewards.Reward) (Payment, bool, error) {
	_, found, err := p.Find(ctx, r)
	return p.paid[r.IdempotencyKey], found, err
}

func paidAt(rail, ref string, minor int64, currency string) Payment {
	return Payment{Transfer: rewards.Transfer{Method: rail, Reference: ref}, AmountMinor: minor, Currency: currency}
}

// reconcileCase sets up one ledger entry paid through stripe (or an
// unsettled reward) and what the rail says.
func TestReconcileListsEveryDifference(t *testing.T) {
	key := rewards.IdempotencyKey("rw_1")
	tests := []struct {
		name       string
		method     string // ledger entry's rail ("" = no entry)
		ref        string // ledger entry's reference
		reversedLd bool   // the ledger has the reversal
		unsettled  rewards.Status
		atRail     *Payment
		reversed   bool
		priced     bool
		noRail     bool
		railErr    error
		noReward   bool
		want       []string
	}{
		{name: "agrees", method: "stripe", ref: "tr_1", atRail: &Payment{Transfer: rewards.Transfer{Reference: "tr_1"}}, want: nil},
		{name: "agrees with amounts", method: "stripe", ref: "tr_1", atRail: ptr(paidAt("stripe", "tr_1", 5000, "USD")), priced: true, want: nil},
		{name: "paid in the ledger, missing at the rail", method: "stripe", ref: "tr_1", want: []string{MissingAtRail}},
		{name: "reversed at the rail only", method: "paypal", ref: "tr_1", atRail: ptr(paidAt("paypal", "tr_1", 0, "")), reversed: true, want: []string{ReversedNotRecorded}},
		{name: "reversed at both", method: "paypal", ref: "tr_1", atRail: ptr(paidAt("paypal", "tr_1", 0, "")), reversed: true, reversedLd: true, want: nil},
		{name: "another reference", method: "tremendous", ref: "ord_1", atRail: ptr(paidAt("tremendous", "ord_2", 0, "")), want: []string{ReferenceDiffers}},
		{name: "another amount", method: "stripe", ref: "tr_1", atRail: ptr(paidAt("stripe", "tr_1", 4999, "USD")), priced: true, want: []string{AmountDiffers}},
		{name: "another currency", method: "stripe", ref: "tr_1", atRail: ptr(paidAt("stripe", "tr_1", 5000, "EUR")), priced: true, want: []string{CurrencyDiffers}},
		{name: "reference and amount", method: "stripe", ref: "tr_1", atRail: ptr(paidAt("stripe", "tr_9", 1, "USD")), priced: true, want: []string{ReferenceDiffers, AmountDiffers}},
		{name: "sending, paid at the rail", unsettled: rewards.StatusSending, atRail: ptr(paidAt("stripe", "tr_1", 0, "")), want: []string{PaidNotRecorded}},
		{name: "failed, paid at the rail", unsettled: rewards.StatusFailed, atRail: ptr(paidAt("stripe", "tr_1", 0, "")), want: []string{PaidNotRecorded}},
		{name: "sending, nothing at the rail", unsettled: rewards.StatusSending, want: nil},
		{name: "failed, reversed at the rail", unsettled: rewards.StatusFailed, atRail: ptr(paidAt("stripe", "tr_1", 0, "")), reversed: true, want: nil},
		{name: "no rail configured", method: "stripe", ref: "tr_1", noRail: true, want: []string{NotChecked}},
		{name: "rail lookup fails", method: "stripe", ref: "tr_1", railErr: fmt.Errorf("lookup: %w", rewards.ErrUnknownOutcome), want: []string{NotChecked}},
		{name: "reward missing", method: "stripe", ref: "tr_1", noReward: true, want: []string{NotChecked}},
		{name: "manual entries are not a rail's", method: "manual", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem()
			railName := tt.method
			if !providerRail(railName) {
				railName = "stripe"
			}
			reward := rewards.Reward{ID: "rw_1", ReferralID: "ref_rw_1", Milestone: "won", Party: "referrer", AmountMinor: 5000,
				Currency: "USD", Status: rewards.StatusPaid, IdempotencyKey: key, Rail: railName}
			if tt.method != "" {
				e := entry("rw_1", "p1", "USD", tt.method, "cash", 5000, "2026-11")
				e.Reference = tt.ref
				m.add(e)
				m.add(entry("rw_other", "p1", "USD", "manual", "cash", 1, "2026-10")) // another month
			}
			if tt.reversedLd {
				rev := entry("rw_1", "p1", "USD", tt.method, "cash", -5000, "2026-11")
				rev.ID, rev.Type = "rw_1:reversal", rewards.EntryReversal
				m.add(rev)
			}
			if tt.unsettled != "" {
				reward.Status = tt.unsettled
				m.unsettled = []rewards.Reward{reward, {ID: "rw_manual", Status: rewards.StatusFailed, Rail: "manual"}}
			}
			if !tt.noReward {
				m.rewards["ref_rw_1/won/referrer"] = reward
			}
			rail := &fakeRail{t: t, name: railName, paid: map[string]Payment{}, reverse: map[string]bool{key: tt.reversed}, fail: tt.railErr}
			if tt.atRail != nil {
				rail.paid[key] = *tt.atRail
			}
			s := newService(m)
			s.Rails = map[string]rewards.Rail{railName: rail}
			if tt.priced {
				s.Rails[railName] = pricedRail{rail}
			}
			if tt.noRail {
				s.Rails = nil
			}
			rep, err := s.Reconcile(context.Background(), "2026-11")
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, d := range rep.Differences {
				kinds = append(kinds, d.Kind)
				if d.RewardID != "rw_1" || d.Rail != railName || d.Detail == "" {
					t.Errorf("difference %+v", d)
				}
			}
			if fmt.Sprint(kinds) != fmt.Sprint(tt.want) {
				t.Fatalf("differences %v, want %v (%+v)", kinds, tt.want, rep.Differences)
			}
			wantChecked := 0
			if providerRail(tt.method) || tt.unsettled != "" {
				wantChecked = 1
			}
			if rep.Checked != wantChecked || rep.Period != "2026-11" {
				t.Fatalf("checked %d, want %d", rep.Checked, wantChecked)
			}
		})
	}
}

func TestReconcileBadPeriod(t *testing.T) {
	m := newMem()
	for _, p := range []string{"", "2026-1", "2026-13", "november"} {
		var inv *Invalid
		if _, err := newService(m).Reconcile(context.Background(), p); !errors.As(err, &inv) || inv.Fields["period"] == "" {
			t.Errorf("period %q: %v", p, err)
		}
	}
	if len(m.reads) != 0 {
		t.Fatalf("read %v", m.reads)
	}
}

func ptr[T any](v T) *T { return &v }
