package billing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Event types Referflow acts on; every other type is acknowledged and
// ignored.
const (
	TypeInvoicePaid         = "invoice.paid"
	TypeChargeRefunded      = "charge.refunded"
	TypeCreditNoteCreated   = "credit_note.created"
	TypeSubscriptionDeleted = "customer.subscription.deleted"
)

// ErrPayload: the body is not a Stripe event, or an event Referflow acts on
// lacks a field it needs.
var ErrPayload = errors.New("billing: malformed Stripe event")

// Event is one Stripe event, reduced to what Referflow acts on. Exactly one
// of Invoice, Refund and Ended is set for the types above; none for others.
type Event struct {
	ID      string
	Type    string
	Created time.Time
	Invoice *Invoice // invoice.paid
	Refund  *Refund  // charge.refunded, credit_note.created (post-payment)
	Ended   *Ended   // customer.subscription.deleted
}

// Invoice is a paid invoice. CustomerEmail is personal data: it is used
// only to look a referral up and is never stored or logged.
type Invoice struct {
	ID, CustomerID string
	AmountPaid     int64
	Currency       string // upper case
	PaidAt         time.Time
	// ReferralID is metadata referral_id of the invoice, its subscription
	// details or its parent's subscription details (first found).
	ReferralID    string
	CustomerEmail string
}

// Refund says an invoice was refunded (a charge) or credited after payment
// (a credit note). InvoiceID is "" for a charge of no invoice.
type Refund struct {
	InvoiceID, CustomerID string
	At                    time.Time
	// AmountMinor is what was given back (0 when Stripe did not say), in
	// Currency (upper case).
	AmountMinor int64
	Currency    string
}

// Ended says a customer's subscription ended.
type Ended struct {
	CustomerID string
	At         time.Time
}

type envelope struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

type metadata struct {
	Metadata map[string]string `json:"metadata"`
}

type invoiceObject struct {
	ID                  string            `json:"id"`
	Customer            json.RawMessage   `json:"customer"`
	CustomerEmail       string            `json:"customer_email"`
	AmountPaid          int64             `json:"amount_paid"`
	Currency            string            `json:"currency"`
	Created             int64             `json:"created"`
	Metadata            map[string]string `json:"metadata"`
	SubscriptionDetails *metadata         `json:"subscription_details"`
	Parent              *struct {
		SubscriptionDetails *metadata `json:"subscription_details"`
	} `json:"parent"`
	StatusTransitions struct {
		PaidAt int64 `json:"paid_at"`
	} `json:"status_transitions"`
}

type refundObject struct {
	Object   string          `json:"object"` // "charge" or "credit_note"
	Customer json.RawMessage `json:"customer"`
	Invoice  json.RawMessage `json:"invoice"`
	Type     string          `json:"type"` // credit notes: pre_payment, post_payment, mixed
	Created  int64           `json:"created"`
	Currency string          `json:"currency"`
	// AmountRefunded is a charge's refunded amount so far; Amount a credit
	// note's total, PostPaymentAmount its part credited after payment.
	AmountRefunded    int64 `json:"amount_refunded"`
	Amount            int64 `json:"amount"`
	PostPaymentAmount int64 `json:"post_payment_amount"`
}

type subscriptionObject struct {
	Customer   json.RawMessage `json:"customer"`
	EndedAt    int64           `json:"ended_at"`
	CanceledAt int64           `json:"canceled_at"`
}

// Parse reads a verified delivery. Types Referflow does not act on (and a
// credit note issued before payment, which only lowers what is paid)
// parse to an Event with only ID, Type and Created.
func Parse(body []byte) (Event, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrPayload, err)
	}
	if env.Object != "event" || env.ID == "" || env.Type == "" {
		return Event{}, fmt.Errorf("%w: not an event (want object \"event\" with id and type)", ErrPayload)
	}
	ev := Event{ID: env.ID, Type: env.Type, Created: time.Unix(env.Created, 0).UTC()}
	var err error
	switch env.Type {
	case TypeInvoicePaid:
		ev.Invoice, err = parseInvoice(env.Data.Object, ev.Created)
	case TypeChargeRefunded, TypeCreditNoteCreated:
		ev.Refund, err = parseRefund(env.Data.Object, ev.Created)
	case TypeSubscriptionDeleted:
		ev.Ended, err = parseEnded(env.Data.Object, ev.Created)
	}
	if err != nil {
		return Event{}, fmt.Errorf("%w: %s: %v", ErrPayload, env.Type, err)
	}
	return ev, nil
}

func parseInvoice(raw json.RawMessage, created time.Time) (*Invoice, error) {
	var o invoiceObject
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, err
	}
	inv := &Invoice{ID: o.ID, CustomerID: expandableID(o.Customer), AmountPaid: o.AmountPaid,
		Currency: strings.ToUpper(o.Currency), CustomerEmail: o.CustomerEmail, PaidAt: created}
	if o.ID == "" || inv.CustomerID == "" || inv.Currency == "" {
		return nil, errors.New("data.object needs id, customer and currency")
	}
	if o.StatusTransitions.PaidAt > 0 {
		inv.PaidAt = time.Unix(o.StatusTransitions.PaidAt, 0).UTC()
	}
	sources := []map[string]string{o.Metadata}
	if o.SubscriptionDetails != nil {
		sources = append(sources, o.SubscriptionDetails.Metadata)
	}
	if o.Parent != nil && o.Parent.SubscriptionDetails != nil {
		sources = append(sources, o.Parent.SubscriptionDetails.Metadata)
	}
	for _, m := range sources {
		if v := strings.TrimSpace(m["referral_id"]); v != "" {
			inv.ReferralID = v
			break
		}
	}
	return inv, nil
}

func parseRefund(raw json.RawMessage, created time.Time) (*Refund, error) {
	var o refundObject
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, err
	}
	if o.Type == "pre_payment" {
		return nil, nil // lowered the amount due: invoice.paid carries what was paid
	}
	r := &Refund{InvoiceID: expandableID(o.Invoice), CustomerID: expandableID(o.Customer), At: created,
		AmountMinor: refundedAmount(o), Currency: strings.ToUpper(o.Currency)}
	if o.Created > 0 {
		r.At = time.Unix(o.Created, 0).UTC()
	}
	return r, nil
}

// refundedAmount is what a refund gave back of what was paid: a charge's
// amount refunded, a credit note's post-payment part (its whole amount
// when it is all post-payment).
func refundedAmount(o refundObject) int64 {
	switch {
	case o.Object == "charge":
		return o.AmountRefunded
	case o.PostPaymentAmount > 0:
		return o.PostPaymentAmount
	}
	return o.Amount
}

func parseEnded(raw json.RawMessage, created time.Time) (*Ended, error) {
	var o subscriptionObject
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, err
	}
	e := &Ended{CustomerID: expandableID(o.Customer), At: created}
	if e.CustomerID == "" {
		return nil, errors.New("data.object needs customer")
	}
	for _, t := range []int64{o.EndedAt, o.CanceledAt} {
		if t > 0 {
			e.At = time.Unix(t, 0).UTC()
			break
		}
	}
	return e, nil
}

// expandableID reads a Stripe expandable field: an id string, an expanded
// object's id, or "" for null or absent.
func expandableID(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var id string
	if json.Unmarshal(raw, &id) == nil {
		return id
	}
	var o struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &o)
	return o.ID
}
