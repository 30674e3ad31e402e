package storetest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/store"
)

// The first referral a Stripe customer is linked to keeps it: a later link
// to another referral changes nothing, and an unknown customer has none.
func TestStripeLinkFirstWins(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	if _, err := st.StripeLink(ctx, "cus_none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("StripeLink(unknown) = %v, want ErrNotFound", err)
	}
	first, err := st.PutStripeLink(ctx, "cus_1", "ref_A", t0)
	if err != nil || first.ReferralID != "ref_A" || first.CustomerID != "cus_1" || !first.StartedAt.IsZero() || first.EndedAt != nil {
		t.Fatalf("PutStripeLink = %+v, %v", first, err)
	}
	again, err := st.PutStripeLink(ctx, "cus_1", "ref_B", t0.Add(time.Hour))
	if err != nil || again.ReferralID != "ref_A" {
		t.Fatalf("a second link = %+v, %v; want the first (ref_A)", again, err)
	}
	if it := item(t, st, "REFERRAL#ref_B", "STRIPE-CUSTOMER#cus_1"); it != nil {
		t.Fatalf("the losing link left a back reference: %v", it)
	}
	if it := item(t, st, "REFERRAL#ref_A", "STRIPE-CUSTOMER#cus_1"); str(it["customer_id"]) != "cus_1" {
		t.Fatalf("back reference of the link = %v", it)
	}
}

// A subscription starts at the earliest paid invoice seen, whatever the
// order invoices arrive in, and ends once: the first end stays.
func TestStripeSubscriptionStartsAtTheEarliestInvoiceAndEndsOnce(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	if _, err := st.StartStripeSubscription(ctx, "cus_none", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("starting an unlinked customer = %v, want ErrNotFound", err)
	}
	if _, err := st.PutStripeLink(ctx, "cus_1", "ref_A", t0); err != nil {
		t.Fatal(err)
	}
	feb, jan, mar := t0.AddDate(0, 2, 0), t0.AddDate(0, 1, 0), t0.AddDate(0, 3, 0)
	for _, tc := range []struct {
		paid, want time.Time
	}{{feb, feb}, {jan, jan}, {mar, jan}, {jan, jan}} {
		l, err := st.StartStripeSubscription(ctx, "cus_1", tc.paid)
		if err != nil || !l.StartedAt.Equal(tc.want) || l.ReferralID != "ref_A" {
			t.Fatalf("after an invoice paid %s: %+v, %v; want started %s", tc.paid, l, err, tc.want)
		}
	}
	if ok, err := st.EndStripeSubscription(ctx, "cus_none", mar); ok || err != nil {
		t.Fatalf("ending an unlinked customer = %v, %v; want false", ok, err)
	}
	for _, at := range []time.Time{mar, mar.AddDate(0, 1, 0)} {
		if ok, err := st.EndStripeSubscription(ctx, "cus_1", at); !ok || err != nil {
			t.Fatalf("EndStripeSubscription(%s) = %v, %v", at, ok, err)
		}
	}
	l, err := st.StripeLink(ctx, "cus_1")
	if err != nil || l.EndedAt == nil || !l.EndedAt.Equal(mar) || !l.StartedAt.Equal(jan) {
		t.Fatalf("link = %+v, %v; want started %s, ended %s", l, err, jan, mar)
	}
}

// An invoice's paid and refunded marks are each written once, with their
// entry in the referral's history; a refund that arrives before anything
// ties the invoice to a referral is kept, and the later payment adds the
// referral.
func TestInvoiceMarksAreWrittenOnceWithTheirEvent(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	create(t, st, newReferral("ref_A", "jane@billing.example", ""))
	if rec, err := st.StripeInvoice(ctx, "in_none"); err != nil || rec.InvoiceID != "in_none" || rec.ReferralID != "" || rec.PaidAt != nil || rec.RefundedAt != nil {
		t.Fatalf("unknown invoice = %+v, %v", rec, err)
	}
	paidAt, refundedAt := t0.Add(time.Hour), t0.Add(2*time.Hour)
	paidEv := events.New(events.InvoicePaid, "ref_A", "stripe", paidAt).With("invoice_id", "in_1")
	for i := range 3 {
		ok, err := st.MarkInvoicePaid(ctx, "in_1", "ref_A", paidAt.Add(time.Duration(i)*time.Minute), paidEv)
		if err != nil || ok != (i == 0) {
			t.Fatalf("MarkInvoicePaid #%d = %v, %v", i+1, ok, err)
		}
	}
	refEv := events.New(events.InvoiceRefunded, "ref_A", "stripe", refundedAt).With("invoice_id", "in_1")
	for i := range 2 {
		ok, err := st.MarkInvoiceRefunded(ctx, "in_1", "ref_A", refundedAt.Add(time.Duration(i)*time.Minute), &refEv)
		if err != nil || ok != (i == 0) {
			t.Fatalf("MarkInvoiceRefunded #%d = %v, %v", i+1, ok, err)
		}
	}
	rec, err := st.StripeInvoice(ctx, "in_1")
	if err != nil || rec.ReferralID != "ref_A" || rec.PaidAt == nil || !rec.PaidAt.Equal(paidAt) || rec.RefundedAt == nil || !rec.RefundedAt.Equal(refundedAt) {
		t.Fatalf("invoice record = %+v, %v", rec, err)
	}
	types := eventTypes(t, st, "ref_A")
	if types[events.InvoicePaid] != 1 || types[events.InvoiceRefunded] != 1 {
		t.Fatalf("history = %v, want one invoice.paid and one invoice.refunded", types)
	}

	// The refund first, before the invoice is known to belong to anyone.
	if ok, err := st.MarkInvoiceRefunded(ctx, "in_2", "", refundedAt, nil); !ok || err != nil {
		t.Fatalf("an early refund = %v, %v", ok, err)
	}
	if rec, _ := st.StripeInvoice(ctx, "in_2"); rec.ReferralID != "" || rec.RefundedAt == nil || rec.PaidAt != nil {
		t.Fatalf("early refund record = %+v", rec)
	}
	ev2 := events.New(events.InvoicePaid, "ref_A", "stripe", paidAt).With("invoice_id", "in_2")
	if ok, err := st.MarkInvoicePaid(ctx, "in_2", "ref_A", paidAt, ev2); !ok || err != nil {
		t.Fatalf("the later payment = %v, %v", ok, err)
	}
	if rec, _ := st.StripeInvoice(ctx, "in_2"); rec.ReferralID != "ref_A" || rec.RefundedAt == nil || rec.PaidAt == nil {
		t.Fatalf("record after the later payment = %+v", rec)
	}
	if n := eventTypes(t, st, "ref_A")[events.InvoicePaid]; n != 2 {
		t.Fatalf("%d invoice.paid events, want 2", n)
	}
}

// Erasing the referee removes its referral's Stripe customer links (link
// and back reference); another person's link stays.
func TestErasingTheRefereeRemovesItsStripeLink(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	create(t, st, personalReferral("ref_A", "p1"))
	create(t, st, newReferral("ref_C", "amy@globex.example", "globex.example"))
	for _, l := range []struct{ cus, ref string }{{"cus_jane", "ref_A"}, {"cus_amy", "ref_C"}} {
		if _, err := st.PutStripeLink(ctx, l.cus, l.ref, t0); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.ErasePerson(ctx, "jane@acme.example", events.ActorAdmin, t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("ErasePerson = %d, %v; want 1", n, err)
	}
	if _, err := st.StripeLink(ctx, "cus_jane"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the erased referee's link = %v, want ErrNotFound", err)
	}
	if it := item(t, st, "REFERRAL#ref_A", "STRIPE-CUSTOMER#cus_jane"); it != nil {
		t.Fatalf("the back reference is left: %v", it)
	}
	if l, err := st.StripeLink(ctx, "cus_amy"); err != nil || l.ReferralID != "ref_C" {
		t.Fatalf("another person's link = %+v, %v", l, err)
	}
	// Linked again after the erasure, the customer starts afresh.
	if l, err := st.PutStripeLink(ctx, "cus_jane", "ref_A", t0.Add(2*time.Hour)); err != nil || l.ReferralID != "ref_A" {
		t.Fatalf("relink = %+v, %v", l, err)
	}
}
