package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/stack"
	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/infra/seed"
	"github.com/referflow/referflow/internal/billing"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/rewards"
)

// subscriptionProgram pays its partner 20% of each paid invoice of the
// referred customer (at most 100.00), held one day for refunds, to the
// ledger.
const subscriptionProgram = `
schema: 1
id: e2e-subscription
name: E2E subscription program
currency: USD
eligibility: {require_company_domain: true}
milestones:
  - name: won
    deadline: 600s
    hold: 0
    stages:
      - {provider: generic, stage: won}
    rewards:
      - {party: referrer, kind: cash, amount: 50}
payout: {method: ledger}
subscription:
  months: 12
  percent_bp: 2000
  cap_minor: 10000
  refund_window_days: 1
  link: metadata
  party: referrer
`

// stripeSign is the Stripe-Signature header of body at ts under secret:
// t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<body>">.
func stripeSign(secret string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", ts.Unix())
	mac.Write(body)
	return fmt.Sprintf("t=%d,v1=%s", ts.Unix(), hex.EncodeToString(mac.Sum(nil)))
}

// stripeEvent posts a Stripe event signed with secret to /webhooks/stripe.
func (e *env) stripeEvent(body []byte, secret string) (int, []byte) {
	e.t.Helper()
	code, b, _ := e.post("/webhooks/stripe", "application/json", body, map[string]string{
		"Stripe-Signature": stripeSign(secret, time.Now(), body)})
	return code, b
}

// invoicePaidEvent is an invoice.paid event of customer's subscription
// carrying the referral in its subscription's metadata.
func invoicePaidEvent(eventID, invoiceID, customer, referralID string, amountMinor int64, paidAt time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": eventID, "object": "event", "type": "invoice.paid", "created": paidAt.Unix(), "api_version": "2025-10-29.clover",
		"data": map[string]any{"object": map[string]any{
			"id": invoiceID, "object": "invoice", "customer": customer, "amount_paid": amountMinor, "currency": "usd",
			"status": "paid", "status_transitions": map[string]any{"paid_at": paidAt.Unix()},
			"parent": map[string]any{"type": "subscription_details", "subscription_details": map[string]any{
				"subscription": "sub_" + customer, "metadata": map[string]string{"referral_id": referralID}}},
		}},
	})
	return b
}

// chargeRefundedEvent is a charge.refunded event of an invoice's charge.
func chargeRefundedEvent(eventID, invoiceID, customer string, at time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": eventID, "object": "event", "type": "charge.refunded", "created": at.Unix(),
		"data": map[string]any{"object": map[string]any{
			"id": "ch_" + invoiceID, "object": "charge", "customer": customer, "invoice": invoiceID,
			"refunded": true, "created": at.Unix(),
		}},
	})
	return b
}

// creditNoteEvent is a credit_note.created event issued after an invoice
// was paid.
func creditNoteEvent(eventID, invoiceID, customer string, at time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": eventID, "object": "event", "type": "credit_note.created", "created": at.Unix(),
		"data": map[string]any{"object": map[string]any{
			"id": "cn_" + invoiceID, "object": "credit_note", "customer": customer, "invoice": invoiceID,
			"type": "post_payment", "created": at.Unix(),
		}},
	})
	return b
}

// A subscription program pays per paid invoice: three monthly invoice.paid
// events (one delivered twice) make three rewards, one each; the third is
// refunded before its payout; once the refund windows are over the payouts
// runner pays the first two and the third stays voided; a credit note on
// the second after its payment reverses it with a new ledger entry. A bad
// signature is 401 and writes nothing; the referral's history shows each
// invoice.
func TestSubscriptionProgramPaysThreeMonthlyInvoicesThenARefund(t *testing.T) {
	t.Parallel()
	e := start(t, map[string]string{billing.SettingSecret: stack.LocalStripeWebhookSecret})
	ctx := context.Background()
	e.publish(subscriptionProgram, seed.Overrides{})
	e.addReferrer("e2e-subscription", "SUBS", "partner@subs-referrer.example")
	name, email := referee("subscription")
	a := e.referTo("e2e-subscription", "SUBS", email, name)
	const customer = "cus_E2eSubscription1"
	now := time.Now().UTC().Truncate(time.Second)
	// Monthly invoices, the last paid two days ago: every refund window
	// (one day) is over.
	paid := []time.Time{now.AddDate(0, 0, -62), now.AddDate(0, 0, -32), now.AddDate(0, 0, -2)}
	invoices := []string{"in_e2e_1", "in_e2e_2", "in_e2e_3"}

	// A bad signature: 401, nothing written.
	forged := invoicePaidEvent("evt_forged", invoices[0], customer, a.ReferralID, 30000, paid[0])
	if code, b := e.stripeEvent(forged, "whsec_not_the_secret"); code != http.StatusUnauthorized || !strings.Contains(string(b), "invalid_signature") {
		t.Fatalf("forged delivery = %d %s, want 401 invalid_signature", code, b)
	}
	if state, _, _ := storetest.EventOutcome(ctx, e.db, e.st.Table(), billing.Provider, "evt_forged"); state != "" {
		t.Fatalf("the forged delivery left event state %q", state)
	}
	if rws, _ := e.st.Rewards(ctx, a.ReferralID); len(rws) != 0 {
		t.Fatalf("the forged delivery made rewards %+v", rws)
	}
	if _, err := e.st.StripeLink(ctx, customer); err == nil {
		t.Fatal("the forged delivery linked the customer")
	}

	// The second invoice first, then the others; the second delivered twice.
	for _, i := range []int{1, 0, 1, 2} {
		body := invoicePaidEvent(fmt.Sprintf("evt_paid_%d", i+1), invoices[i], customer, a.ReferralID, 30000, paid[i])
		if code, b := e.stripeEvent(body, stack.LocalStripeWebhookSecret); code != http.StatusOK {
			t.Fatalf("invoice.paid %s = %d %s", invoices[i], code, b)
		}
	}
	for _, inv := range invoices {
		// Its refund window is over: payable, waiting for the runner.
		r, ok := e.storedReward(a.ReferralID, rewards.InvoiceMilestone(inv), "referrer")
		if !ok || !r.Status.Payable() || r.AmountMinor != 6000 || r.InvoiceID != inv {
			t.Fatalf("reward of %s = %+v, want a payable 60.00 (20%% of 300.00)", inv, r)
		}
	}
	if code, b := e.stripeEvent(chargeRefundedEvent("evt_refund_3", invoices[2], customer, now), stack.LocalStripeWebhookSecret); code != http.StatusOK {
		t.Fatalf("charge.refunded = %d %s", code, b)
	}
	e.waitReward(a.ReferralID, rewards.InvoiceMilestone(invoices[2]), "referrer", rewards.StatusVoided, 10*time.Second)

	e.runPayouts()
	for _, inv := range invoices[:2] {
		e.waitReward(a.ReferralID, rewards.InvoiceMilestone(inv), "referrer", rewards.StatusPaid, 30*time.Second)
	}
	e.runPayouts() // a later run changes nothing
	rws, err := e.st.Rewards(ctx, a.ReferralID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rws) != 3 {
		t.Fatalf("rewards %+v, want one per invoice", rws)
	}
	if r, _ := e.storedReward(a.ReferralID, rewards.InvoiceMilestone(invoices[2]), "referrer"); r.Status != rewards.StatusVoided {
		t.Errorf("the refunded invoice's reward is %s, want voided", r.Status)
	}
	entries := e.ledgerEntries(a.ReferralID)
	if len(entries) != 2 {
		t.Fatalf("ledger %+v, want the two paid invoices' entries", entries)
	}
	for _, en := range entries {
		if en.Type != rewards.EntryPayable || en.AmountMinor != 6000 || en.Method != "ledger" {
			t.Errorf("ledger entry %+v", en)
		}
	}

	// A credit note on the second invoice after its reward was paid: the
	// paid reward stays paid and a reversal entry takes it back, once.
	for range 2 {
		if code, b := e.stripeEvent(creditNoteEvent("evt_credit_2", invoices[1], customer, time.Now()), stack.LocalStripeWebhookSecret); code != http.StatusOK {
			t.Fatalf("credit_note.created = %d %s", code, b)
		}
	}
	e.eventually("the second invoice's reward to be reversed", 10*time.Second, func() (bool, string) {
		r, _ := e.storedReward(a.ReferralID, rewards.InvoiceMilestone(invoices[1]), "referrer")
		return r.Status == rewards.StatusPaid && r.ReversedAt != nil, fmt.Sprintf("%+v", r)
	})
	var payable, reversal int
	for _, en := range e.ledgerEntries(a.ReferralID) {
		switch {
		case en.Type == rewards.EntryPayable:
			payable++
		case en.Type == rewards.EntryReversal && en.AmountMinor == -6000:
			reversal++
		}
	}
	if payable != 2 || reversal != 1 {
		t.Errorf("ledger has %d payable and %d reversal entries, want 2 and 1", payable, reversal)
	}

	// The history shows each invoice once, and the refunds.
	log, _ := e.st.Events(ctx, a.ReferralID)
	seen := map[string]int{}
	refunds := 0
	for _, ev := range log {
		switch ev.Type {
		case events.InvoicePaid:
			seen[ev.Data["invoice_id"]]++
		case events.InvoiceRefunded:
			refunds++
		}
	}
	for _, inv := range invoices {
		if seen[inv] != 1 {
			t.Errorf("the history records invoice %s paid %d times, want once", inv, seen[inv])
		}
	}
	if refunds != 2 {
		t.Errorf("the history records %d refunds, want 2 (a charge refund, a credit note)", refunds)
	}
	view := e.adminView(a.ReferralID)
	for _, inv := range invoices {
		if !view.logged("Invoice " + inv + " of the new customer paid") {
			var lines []string
			for _, l := range view.Activity {
				lines = append(lines, l.Detail)
			}
			t.Errorf("the activity does not show invoice %s paid:\n  %s", inv, strings.Join(lines, "\n  "))
		}
	}
}
