package finance

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/referflow/referflow/internal/payees"
)

// Contact is a party's name and email as the program knows it (the
// partner's record, or the referral's referee).
type Contact struct{ Name, Email string }

// Payees reads who a line is paid to (the DynamoDB store).
type Payees interface {
	// PayeeOf reads the payee of party in the referral; ErrNotFound when
	// it has none.
	PayeeOf(ctx context.Context, programID, party, referralID string) (*payees.Record, error)
	// PartyContact reads the party's name and email (referrer: the
	// partner holding code; referee: the referral's); ErrNotFound when
	// there is none (erased, or no such partner).
	PartyContact(ctx context.Context, programID, party, referralID, code string) (Contact, error)
}

// NoPayoutMethod is the payout_method_status of a line whose payee has
// no payout method recorded.
const NoPayoutMethod = "no payout method"

// CSVHeader is the first row of a batch's CSV.
var CSVHeader = []string{"batch_id", "entry_id", "reference", "referral_id", "program", "party", "referrer_code",
	"payee_name", "payee_email", "method", "account_holder", "iban", "bic", "account_number", "routing_code", "country",
	"paypal_email", "paypal_payer_id", "stripe_account", "amount", "currency", "payout_method_status",
	"paid_out_at", "remittance_reference"}

// WriteCSV writes batch id as CSV for finance: one line per entry with
// the payee's name, email, method and details (bank, PayPal or Stripe),
// the amount in major units with the currency's decimals, the currency,
// and the reference (the reward id). A payee without a payout method gets
// a line with empty details and payout_method_status "no payout method".
// Cells that a spreadsheet would read as a formula (starting with = + -
// @, a tab or a carriage return) are prefixed with a quote. The CSV holds
// personal data by design; nothing here logs it.
func (s *Service) WriteCSV(ctx context.Context, id string, out io.Writer) error {
	b, err := s.Batch(ctx, id)
	if err != nil {
		return err
	}
	w := csv.NewWriter(out)
	if err := w.Write(CSVHeader); err != nil {
		return err
	}
	for _, l := range b.Lines {
		row, err := s.csvRow(ctx, b, l)
		if err != nil {
			return err
		}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

func (s *Service) csvRow(ctx context.Context, b *Batch, l Line) ([]string, error) {
	var p payees.Payee
	status := ""
	switch rec, err := s.Payees.PayeeOf(ctx, b.ProgramID, l.Party, l.ReferralID); {
	case errors.Is(err, ErrNotFound):
		status = NoPayoutMethod
	case err != nil:
		return nil, fmt.Errorf("finance: csv: payee of reward %s: %w", l.RewardID, err)
	default:
		p = rec.Payee
	}
	c, err := s.Payees.PartyContact(ctx, b.ProgramID, l.Party, l.ReferralID, l.ReferrerCode)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("finance: csv: contact of reward %s: %w", l.RewardID, err)
	}
	d := p.Details
	name, email := first(d.AccountHolder, d.Name, c.Name), first(d.Email, c.Email)
	paypalEmail, paypalID, account := "", "", ""
	switch p.Method {
	case payees.MethodPayPal:
		paypalEmail, paypalID = d.Email, d.PayerID
	case payees.MethodStripe:
		account = d.Account
	}
	paidOut := ""
	if l.PaidOutAt != nil {
		paidOut = l.PaidOutAt.UTC().Format(time.RFC3339)
	}
	text := []string{b.ID, l.EntryID, l.RewardID, l.ReferralID, b.ProgramID, l.Party, l.ReferrerCode,
		name, email, string(p.Method), d.AccountHolder, d.IBAN, d.BIC, d.AccountNumber, d.RoutingCode, d.Country,
		paypalEmail, paypalID, account}
	for i := range text {
		text[i] = SafeCell(text[i])
	}
	return append(text, l.Amount, l.Currency, status, paidOut, SafeCell(b.RemittanceReference)), nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// SafeCell returns v so that a spreadsheet shows it as text: a value
// starting with = + - @, a tab or a carriage return gets a leading quote
// (OWASP's CSV injection advice).
func SafeCell(v string) string {
	if v != "" {
		switch v[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + v
		}
	}
	return v
}
