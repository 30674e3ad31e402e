// Package payees says who a reward is paid to, by which method, with which
// details: a partner's Stripe connected account, PayPal email or payer id,
// gift card recipient, or bank details for a manual payout, and the new
// customer's Stripe customer (credits and discounts). Payees are validated
// here (Validate names every wrong field), shown masked (Mask), recorded
// by operators (Service), and read by the payout rails through one
// adapter per rail (ForStripe, ForPayPal, ForTremendous), which answer
// ErrNoPayoutMethod when the party has none the rail can use.
//
// A payee's details are personal data: they live in the table only (never
// in keys, logs, events, errors or Step Functions), and are erased with
// the referee's other personal data.
package payees

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// Method is how a payee is paid.
type Method string

// Payout methods.
const (
	// MethodStripe: a partner's Stripe connected account (cash), or the new
	// customer's Stripe customer (credits and discounts).
	MethodStripe Method = "stripe"
	// MethodPayPal: PayPal Payouts to an email or a PayPal payer id.
	MethodPayPal Method = "paypal"
	// MethodGiftCard: a gift card (Tremendous) emailed to a recipient.
	MethodGiftCard Method = "gift_card"
	// MethodManual: finance pays by bank transfer from the ledger export.
	MethodManual Method = "manual"
)

// Whose payee it is.
const (
	// Partner: a program's partner (the referrer party), by partner key.
	Partner = "partner"
	// Referee: the new customer of one referral (the referee party).
	Referee = "referee"
)

// Methods lists the methods each kind of payee may have.
var Methods = map[string][]Method{
	Partner: {MethodStripe, MethodPayPal, MethodGiftCard, MethodManual},
	Referee: {MethodStripe, MethodPayPal, MethodGiftCard},
}

// Details are a payee's details; which fields a method uses is checked by
// Validate (a field the method does not use must be empty).
type Details struct {
	// Account is a Stripe connected account ("acct_..."): a partner's cash.
	Account string `json:"account,omitempty" dynamodbav:"account,omitempty"`
	// Customer is a Stripe customer ("cus_..."): the new customer's
	// credits and discounts (optional for a partner).
	Customer string `json:"customer,omitempty" dynamodbav:"customer,omitempty"`
	// Email: PayPal (or PayerID), or the gift card's recipient.
	Email string `json:"email,omitempty" dynamodbav:"email,omitempty"`
	// PayerID is a PayPal account's payer id (13 characters).
	PayerID string `json:"payer_id,omitempty" dynamodbav:"payer_id,omitempty"`
	// Name is the gift card's recipient.
	Name string `json:"name,omitempty" dynamodbav:"name,omitempty"`
	// AccountHolder is the bank account's holder (manual).
	AccountHolder string `json:"account_holder,omitempty" dynamodbav:"account_holder,omitempty"`
	// IBAN and BIC, or AccountNumber, RoutingCode and Country (manual).
	IBAN          string `json:"iban,omitempty" dynamodbav:"iban,omitempty"`
	BIC           string `json:"bic,omitempty" dynamodbav:"bic,omitempty"`
	AccountNumber string `json:"account_number,omitempty" dynamodbav:"account_number,omitempty"`
	// RoutingCode is the routing number (US), sort code (GB) or the
	// country's bank and branch code.
	RoutingCode string `json:"routing_code,omitempty" dynamodbav:"routing_code,omitempty"`
	// Country is the bank's ISO 3166 country (from the IBAN when one is given).
	Country string `json:"country,omitempty" dynamodbav:"country,omitempty"`
}

// Payee is a payout method and its details.
type Payee struct {
	Method  Method  `json:"method" dynamodbav:"method"`
	Details Details `json:"details" dynamodbav:"details"`
}

// Record is a payee as stored, with who changed it last and when (an
// audit field: changing a payee records no domain event).
type Record struct {
	Payee
	UpdatedAt time.Time `json:"updated_at" dynamodbav:"updated_at"`
	UpdatedBy string    `json:"updated_by" dynamodbav:"updated_by"`
}

// Errors callers match with errors.Is.
var (
	// ErrNotFound: no such partner or referral, or no payee recorded.
	ErrNotFound = referral.ErrNotFound
	// ErrNoPayee: the partner or referral exists (for a referral: may
	// exist) but has no payee recorded. It is also an ErrNotFound.
	ErrNoPayee = fmt.Errorf("payees: no payee recorded: %w", ErrNotFound)
	// ErrNoPayoutMethod: the party has no payout method the rail can pay
	// to (none recorded, or another method): the reward waits, on hold
	// with the reason "no payout method", until an operator records one.
	ErrNoPayoutMethod = rewards.ErrNoPayoutMethod
)

// Invalid lists what is wrong with a payee, by field ("method",
// "details.iban", ...): the admin API's error fields.
type Invalid struct {
	Fields referral.FieldErrors
}

func (e *Invalid) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for f, m := range e.Fields {
		parts = append(parts, f+" "+m)
	}
	slices.Sort(parts)
	return "payees: invalid: " + strings.Join(parts, "; ")
}
