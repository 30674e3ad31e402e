package billing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// sign is the Stripe-Signature header of payload signed with secret at t,
// computed here from the documented scheme (not by the library).
func sign(payload []byte, secret string, t time.Time) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.%s", t.Unix(), payload)
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(mac.Sum(nil)))
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"evt_1","object":"event","type":"invoice.paid"}`)
	const secret, old = "whsec_new", "whsec_old"
	for _, c := range []struct {
		name    string
		header  string
		secrets []string
		ok      bool
	}{
		{"signed now", sign(body, secret, t0), []string{secret}, true},
		{"signed by the previous secret during a rotation", sign(body, old, t0), []string{secret, old}, true},
		{"a second v1 entry that matches", sign(body, "whsec_other", t0) + "," + sign(body, secret, t0)[len(fmt.Sprintf("t=%d,", t0.Unix())):], []string{secret}, true},
		{"4 minutes old", sign(body, secret, t0.Add(-4*time.Minute)), []string{secret}, true},
		{"6 minutes old", sign(body, secret, t0.Add(-6*time.Minute)), []string{secret}, false},
		{"6 minutes ahead", sign(body, secret, t0.Add(6*time.Minute)), []string{secret}, false},
		{"another secret", sign(body, "whsec_other", t0), []string{secret}, false},
		{"another body", sign([]byte(`{"id":"evt_2"}`), secret, t0), []string{secret}, false},
		{"missing", "", []string{secret}, false},
		{"garbled", "garbage", []string{secret}, false},
		{"no v1", fmt.Sprintf("t=%d,v0=abc", t0.Unix()), []string{secret}, false},
		{"timestamp not a number", "t=soon,v1=abc", []string{secret}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Verify(body, c.header, c.secrets, t0)
			if c.ok != (err == nil) || (!c.ok && !errors.Is(err, ErrUnauthorized)) {
				t.Fatalf("Verify: %v, want ok=%v (or ErrUnauthorized)", err, c.ok)
			}
		})
	}
	if err := Verify(body, sign(body, secret, t0), nil, t0); err == nil || errors.Is(err, ErrUnauthorized) {
		t.Fatalf("no secret configured: %v, want a configuration error (503), not 401", err)
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name, body string
		check      func(Event) bool
		bad        bool
	}{
		{"invoice.paid, new API: parent subscription details", `{"id":"evt_1","object":"event","type":"invoice.paid","created":1782892800,
			"data":{"object":{"id":"in_1","customer":"cus_1","customer_email":"ann@example.com","amount_paid":4900,"currency":"usd",
			"status_transitions":{"paid_at":1782892700},"metadata":{},"parent":{"subscription_details":{"metadata":{"referral_id":"ref_1"}}}}}}`,
			func(e Event) bool {
				i := e.Invoice
				return i != nil && i.ID == "in_1" && i.CustomerID == "cus_1" && i.AmountPaid == 4900 && i.Currency == "USD" &&
					i.ReferralID == "ref_1" && i.PaidAt.Equal(time.Unix(1782892700, 0)) && i.CustomerEmail == "ann@example.com"
			}, false},
		{"invoice.paid, older API: subscription_details, expanded customer", `{"id":"evt_1","object":"event","type":"invoice.paid","created":1782892800,
			"data":{"object":{"id":"in_1","customer":{"id":"cus_1"},"amount_paid":100,"currency":"eur","subscription_details":{"metadata":{"referral_id":" ref_2 "}}}}}`,
			func(e Event) bool {
				return e.Invoice.CustomerID == "cus_1" && e.Invoice.ReferralID == "ref_2" && e.Invoice.PaidAt.Equal(time.Unix(1782892800, 0))
			}, false},
		{"the invoice's own metadata first", `{"id":"e","object":"event","type":"invoice.paid","data":{"object":{"id":"in_1","customer":"cus_1","currency":"usd",
			"metadata":{"referral_id":"ref_a"},"subscription_details":{"metadata":{"referral_id":"ref_b"}}}}}`,
			func(e Event) bool { return e.Invoice.ReferralID == "ref_a" }, false},
		{"charge.refunded", `{"id":"e","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","customer":"cus_1","invoice":"in_1","created":5}}}`,
			func(e Event) bool {
				return e.Refund != nil && e.Refund.InvoiceID == "in_1" && e.Refund.CustomerID == "cus_1"
			}, false},
		{"charge.refunded of no invoice", `{"id":"e","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","invoice":null}}}`,
			func(e Event) bool { return e.Refund != nil && e.Refund.InvoiceID == "" }, false},
		{"credit note after payment", `{"id":"e","object":"event","type":"credit_note.created","data":{"object":{"id":"cn_1","invoice":"in_1","type":"post_payment"}}}`,
			func(e Event) bool { return e.Refund != nil && e.Refund.InvoiceID == "in_1" }, false},
		{"charge.refunded: the amount refunded so far", `{"id":"e","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge","invoice":"in_1",
			"amount":9900,"amount_refunded":4000,"currency":"eur"}}}`,
			func(e Event) bool { return e.Refund.AmountMinor == 4000 && e.Refund.Currency == "EUR" }, false},
		{"credit note after payment: its amount", `{"id":"e","object":"event","type":"credit_note.created","data":{"object":{"id":"cn_1","object":"credit_note",
			"invoice":"in_1","type":"post_payment","amount":2500,"currency":"usd"}}}`,
			func(e Event) bool { return e.Refund.AmountMinor == 2500 && e.Refund.Currency == "USD" }, false},
		{"mixed credit note: the part credited after payment", `{"id":"e","object":"event","type":"credit_note.created","data":{"object":{"id":"cn_1","object":"credit_note",
			"invoice":"in_1","type":"mixed","amount":2500,"pre_payment_amount":1000,"post_payment_amount":1500,"currency":"usd"}}}`,
			func(e Event) bool { return e.Refund.AmountMinor == 1500 }, false},
		{"credit note before payment is ignored", `{"id":"e","object":"event","type":"credit_note.created","data":{"object":{"id":"cn_1","invoice":"in_1","type":"pre_payment"}}}`,
			func(e Event) bool { return e.Refund == nil }, false},
		{"subscription deleted", `{"id":"e","object":"event","type":"customer.subscription.deleted","created":9,"data":{"object":{"id":"sub_1","customer":"cus_1","ended_at":7}}}`,
			func(e Event) bool {
				return e.Ended != nil && e.Ended.CustomerID == "cus_1" && e.Ended.At.Equal(time.Unix(7, 0))
			}, false},
		{"another type", `{"id":"e","object":"event","type":"customer.created","data":{"object":{}}}`,
			func(e Event) bool {
				return e.Invoice == nil && e.Refund == nil && e.Ended == nil && e.Type == "customer.created"
			}, false},
		{"not JSON", `nope`, nil, true},
		{"not an event", `{"id":"in_1","object":"invoice"}`, nil, true},
		{"invoice without customer", `{"id":"e","object":"event","type":"invoice.paid","data":{"object":{"id":"in_1","currency":"usd"}}}`, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := Parse([]byte(c.body))
			if c.bad {
				if !errors.Is(err, ErrPayload) {
					t.Fatalf("Parse: %+v, %v; want ErrPayload", ev, err)
				}
				return
			}
			if err != nil || !c.check(ev) {
				t.Fatalf("Parse: %+v, %v", ev, err)
			}
		})
	}
}
