package rewards_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// subscriptionProgram pays the referrer 20% of each invoice, at most 100.00
// USD, for 12 months, held 14 days.
func subscriptionProgram() *program.Program {
	p := testProgram()
	days := 14
	p.Subscription = &program.Subscription{Months: 12, PercentBasisPoints: 2000, CapMinor: 10000,
		RefundWindowDays: &days, Link: program.LinkMetadata, Party: program.PartyReferrer, Kind: program.KindCash}
	return p
}

func invoice(id string, amount int64, paidAt time.Time) rewards.Invoice {
	return rewards.Invoice{ID: id, AmountPaidMinor: amount, Currency: "USD", PaidAt: paidAt}
}

func TestInvoiceLine(t *testing.T) {
	fixed := subscriptionProgram()
	fixed.Subscription.PercentBasisPoints, fixed.Subscription.AmountMinor, fixed.Subscription.CapMinor = 0, 500, 0
	capped := subscriptionProgram()
	for _, c := range []struct {
		name     string
		p        *program.Program
		inv      rewards.Invoice
		amount   int64
		currency string
		approval bool
	}{
		{"20% of 49.99 rounds half up", subscriptionProgram(), invoice("in_1", 4999, t0), 1000, "USD", false},
		{"20% of 0.02 rounds down", subscriptionProgram(), invoice("in_1", 2, t0), 0, "USD", false},
		{"capped at 100.00", capped, invoice("in_1", 90000, t0), 10000, "USD", false},
		{"percent in the invoice's currency (lower-case from Stripe)", subscriptionProgram(), rewards.Invoice{ID: "in_1", AmountPaidMinor: 1000, Currency: "eur", PaidAt: t0}, 200, "EUR", true},
		{"fixed amount in the program's currency", fixed, invoice("in_1", 1, t0), 500, "USD", false},
		{"negative amounts pay nothing", subscriptionProgram(), invoice("in_1", -500, t0), 0, "USD", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := rewards.InvoiceLine(c.p, c.inv)
			if l.AmountMinor != c.amount || l.Currency != c.currency || l.NeedsApproval != c.approval ||
				l.Milestone != "invoice:in_1" || l.Party != program.PartyReferrer || l.Kind != program.KindCash {
				t.Fatalf("line %+v, want %d %s approval=%v", l, c.amount, c.currency, c.approval)
			}
		})
	}
}

// Invoices paid in the first 12 months after the first one earn; the
// 13th monthly invoice and any invoice after the subscription ended do not.
func TestTermCovers(t *testing.T) {
	s := subscriptionProgram().Subscription
	ended := t0.AddDate(0, 2, 0)
	for _, c := range []struct {
		name string
		term rewards.Term
		at   time.Time
		want bool
	}{
		{"the first invoice", rewards.Term{Start: t0}, t0, true},
		{"unknown start: the invoice is the first", rewards.Term{}, t0, true},
		{"the 12th monthly invoice", rewards.Term{Start: t0}, t0.AddDate(0, 11, 0), true},
		{"the 13th monthly invoice", rewards.Term{Start: t0}, t0.AddDate(0, 12, 0), false},
		{"before the first", rewards.Term{Start: t0}, t0.Add(-time.Second), false},
		{"at the cancellation", rewards.Term{Start: t0, Ended: &ended}, ended, true},
		{"after the cancellation", rewards.Term{Start: t0, Ended: &ended}, ended.Add(time.Second), false},
	} {
		if got := c.term.Covers(s, c.at); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// An invoice's reward waits on hold for the refund window from when the
// invoice was paid; one delivered after the window is payable at once.
func TestInvoicePaidHoldsForTheRefundWindow(t *testing.T) {
	e := newEnv()
	e.clock.t = t0.Add(time.Hour)
	rw, err := e.svc.InvoicePaid(context.Background(), testReferral(), subscriptionProgram(), invoice("in_1", 5000, t0), rewards.Term{Start: t0}, "webhook:stripe")
	if err != nil {
		t.Fatal(err)
	}
	if rw.Status != rewards.StatusOnHold || !rw.HoldUntil.Equal(t0.AddDate(0, 0, 14)) || rw.AmountMinor != 1000 ||
		rw.InvoiceID != "in_1" || rw.Milestone != "invoice:in_1" || rw.ID != rewards.RewardID(refID, "invoice:in_1", "referrer") ||
		rw.IdempotencyKey != rewards.IdempotencyKey(rw.ID) {
		t.Fatalf("reward %+v", rw)
	}
	e.clock.t = t0.AddDate(0, 0, 20)
	late, err := e.svc.InvoicePaid(context.Background(), testReferral(), subscriptionProgram(), invoice("in_2", 5000, t0.AddDate(0, 0, 1)), rewards.Term{Start: t0}, "webhook:stripe")
	if err != nil || late.Status != rewards.StatusPending || !late.HoldUntil.Equal(e.clock.t) {
		t.Fatalf("late reward %+v, %v", late, err)
	}
	evs := e.repo.AllEvents()
	if len(evs) != 2 || evs[0].Type != events.RewardCreated || evs[0].Get("invoice_id") != "in_1" || evs[0].Get("amount_minor") != "1000" {
		t.Fatalf("events %+v", evs)
	}
}

func TestInvoicePaidWritesNothingWhenNothingIsEarned(t *testing.T) {
	lost := testReferral()
	lost.LostAt, lost.Status = &t0, referral.StatusLost
	rejected := testReferral()
	rejected.Status = referral.StatusRejected
	for _, c := range []struct {
		name string
		r    *referral.Referral
		p    *program.Program
		inv  rewards.Invoice
		want error
	}{
		{"no subscription block", testReferral(), testProgram(), invoice("in_1", 5000, t0), rewards.ErrNoSubscriptionRewards},
		{"deal lost", lost, subscriptionProgram(), invoice("in_1", 5000, t0), rewards.ErrReferralClosed},
		{"referral rejected", rejected, subscriptionProgram(), invoice("in_1", 5000, t0), rewards.ErrReferralClosed},
		{"past the months", testReferral(), subscriptionProgram(), invoice("in_1", 5000, t0.AddDate(1, 0, 0)), rewards.ErrOutsideSubscription},
		{"nothing to pay", testReferral(), subscriptionProgram(), invoice("in_1", 0, t0), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv()
			rw, err := e.svc.InvoicePaid(context.Background(), c.r, c.p, c.inv, rewards.Term{Start: t0}, "webhook:stripe")
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) || rw.ID != "" || len(e.repo.All()) != 0 || len(e.repo.AllEvents()) != 0 {
				t.Fatalf("%+v, %v; want %v and nothing written (%d rewards)", rw, err, c.want, len(e.repo.All()))
			}
		})
	}
}

// Three invoices, delivered three times and out of order, then the third
// refunded (and its invoice.paid delivered once more): three rewards, one
// per invoice, the third voided with its budget given back.
func TestInvoicesDeliveredThreeTimesOutOfOrderWithRefund(t *testing.T) {
	e := newEnv()
	p := subscriptionProgram()
	p.Caps = program.Caps{Period: program.PeriodAll, BudgetMinor: 1000000}
	r := testReferral()
	ctx := context.Background()
	invs := []rewards.Invoice{invoice("in_1", 5000, t0), invoice("in_2", 5000, t0.AddDate(0, 1, 0)), invoice("in_3", 7000, t0.AddDate(0, 2, 0))}
	for _, i := range []int{2, 0, 2, 1, 0, 2, 1} {
		if _, err := e.svc.InvoicePaid(ctx, r, p, invs[i], rewards.Term{Start: t0}, "webhook:stripe"); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := e.svc.InvoiceRefunded(ctx, r, "in_3", "webhook:stripe"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.InvoicePaid(ctx, r, p, invs[2], rewards.Term{Start: t0}, "webhook:stripe"); err != nil {
		t.Fatal(err)
	}
	all := e.repo.All()
	if len(all) != 3 || e.repo.Created() != 3 {
		t.Fatalf("%d rewards (%d created), want 3", len(all), e.repo.Created())
	}
	status := map[string]rewards.Status{}
	for _, rw := range all {
		status[rw.InvoiceID] = rw.Status
	}
	if status["in_1"] != rewards.StatusOnHold || status["in_2"] != rewards.StatusOnHold || status["in_3"] != rewards.StatusVoided {
		t.Fatalf("statuses %v", status)
	}
	if got := e.repo.Spent(p.ID, rewards.BudgetCounter("all")); got != 2000 {
		t.Errorf("budget spent %d, want 2000 (the voided reward's 1400 given back)", got)
	}
	if u := e.repo.Unbalanced(p.ID); len(u) > 0 {
		t.Error(u)
	}
}

// A refund after the reward was paid reverses it with one new ledger entry;
// the paid reward keeps its status. While it is being paid the refund waits.
func TestInvoiceRefundedAfterPaymentReverses(t *testing.T) {
	e := newEnv()
	ctx := context.Background()
	rw, err := e.svc.InvoicePaid(ctx, testReferral(), subscriptionProgram(), invoice("in_1", 5000, t0), rewards.Term{Start: t0}, "webhook:stripe")
	if err != nil {
		t.Fatal(err)
	}
	sending := rw
	sending.Status = rewards.StatusSending
	e.repo.Put(sending)
	if _, err := e.svc.InvoiceRefunded(ctx, testReferral(), "in_1", "webhook:stripe"); !errors.Is(err, rewards.ErrPaymentInFlight) {
		t.Fatalf("refund while sending: %v", err)
	}
	paid := rw
	paid.Status = rewards.StatusPaid
	e.repo.Put(paid)
	for range 2 {
		if _, err := e.svc.InvoiceRefunded(ctx, testReferral(), "in_1", "webhook:stripe"); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := e.repo.Get(refID, "invoice:in_1", "referrer")
	rev, ok := e.repo.Entry(rw.ID, rewards.EntryReversal)
	if got.Status != rewards.StatusPaid || got.ReversedAt == nil || !ok || rev.AmountMinor != -1000 {
		t.Fatalf("reward %+v, reversal %+v %v", got, rev, ok)
	}
	evs := e.repo.AllEvents()
	if last := evs[len(evs)-1]; last.Type != events.RewardReversed || last.Get("reason") != rewards.ReasonInvoiceRefunded {
		t.Fatalf("last event %+v", last)
	}
}
