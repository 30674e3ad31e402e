package payees_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards/paypal"
	"github.com/referflow/referflow/internal/rewards/stripe"
	"github.com/referflow/referflow/internal/rewards/tremendous"
)

// source holds payees by party; err fails every read.
type source struct {
	by  map[string]payees.Payee
	err error
}

func (s source) PayeeOf(_ context.Context, programID, party, referralID string) (*payees.Record, error) {
	if s.err != nil {
		return nil, s.err
	}
	p, ok := s.by[programID+"/"+party+"/"+referralID]
	if !ok {
		return nil, payees.ErrNotFound
	}
	return &payees.Record{Payee: p}, nil
}

var src = source{by: map[string]payees.Payee{
	"p1/referrer/ref_stripe": {Method: payees.MethodStripe, Details: payees.Details{Account: "acct_1"}},
	"p1/referee/ref_stripe":  {Method: payees.MethodStripe, Details: payees.Details{Customer: "cus_1"}},
	"p1/referrer/ref_paypal": {Method: payees.MethodPayPal, Details: payees.Details{Email: "ann@agency.example"}},
	"p1/referrer/ref_payer":  {Method: payees.MethodPayPal, Details: payees.Details{PayerID: "LHEMVBZ8GEWJN"}},
	"p1/referrer/ref_gift":   {Method: payees.MethodGiftCard, Details: payees.Details{Name: "Ann Lee", Email: "ann@agency.example"}},
	"p1/referrer/ref_manual": {Method: payees.MethodManual, Details: payees.Details{AccountHolder: "Ann", IBAN: "DE89370400440532013000", BIC: "COBADEFF"}},
}}

// The adapters are what the rails ask: each answers its rail's details,
// and ErrNoPayoutMethod when the party has none or another method.
func TestAdaptersAnswerEachRail(t *testing.T) {
	ctx := context.Background()
	var (
		st stripe.Payees     = payees.ForStripe(src)
		pp paypal.Payees     = payees.ForPayPal(src)
		gc tremendous.Payees = payees.ForTremendous(src)
	)
	if d, err := st.Payee(ctx, "p1", program.PartyReferrer, "ref_stripe"); err != nil || d != (stripe.Details{Account: "acct_1"}) {
		t.Errorf("stripe partner: %+v %v", d, err)
	}
	if d, err := st.Payee(ctx, "p1", program.PartyReferee, "ref_stripe"); err != nil || d != (stripe.Details{Customer: "cus_1"}) {
		t.Errorf("stripe referee: %+v %v", d, err)
	}
	if d, err := pp.Payee(ctx, "p1", program.PartyReferrer, "ref_paypal"); err != nil || d != (paypal.Payee{Email: "ann@agency.example"}) {
		t.Errorf("paypal: %+v %v", d, err)
	}
	if d, err := gc.Payee(ctx, "p1", program.PartyReferrer, "ref_gift"); err != nil || d != (tremendous.Recipient{Name: "Ann Lee", Email: "ann@agency.example"}) {
		t.Errorf("gift card: %+v %v", d, err)
	}
	none := []struct {
		name string
		ask  func() error
	}{
		{"stripe, none", func() error { _, err := st.Payee(ctx, "p1", program.PartyReferrer, "ref_none"); return err }},
		{"stripe, paypal payee", func() error { _, err := st.Payee(ctx, "p1", program.PartyReferrer, "ref_paypal"); return err }},
		{"stripe, manual payee", func() error { _, err := st.Payee(ctx, "p1", program.PartyReferrer, "ref_manual"); return err }},
		{"stripe, other program", func() error { _, err := st.Payee(ctx, "p2", program.PartyReferrer, "ref_stripe"); return err }},
		{"paypal, stripe payee", func() error { _, err := pp.Payee(ctx, "p1", program.PartyReferrer, "ref_stripe"); return err }},
		{"paypal, payer id only", func() error { _, err := pp.Payee(ctx, "p1", program.PartyReferrer, "ref_payer"); return err }},
		{"paypal, referee without", func() error { _, err := pp.Payee(ctx, "p1", program.PartyReferee, "ref_paypal"); return err }},
		{"gift card, paypal payee", func() error { _, err := gc.Payee(ctx, "p1", program.PartyReferrer, "ref_paypal"); return err }},
		{"gift card, none", func() error { _, err := gc.Payee(ctx, "p1", program.PartyReferee, "ref_gift"); return err }},
	}
	for _, c := range none {
		err := c.ask()
		if !errors.Is(err, payees.ErrNoPayoutMethod) {
			t.Errorf("%s: %v, want ErrNoPayoutMethod", c.name, err)
			continue
		}
		if strings.Contains(err.Error(), "@") || strings.Contains(err.Error(), "acct_") || strings.Contains(err.Error(), "DE89") {
			t.Errorf("%s: the error names a detail: %v", c.name, err)
		}
	}
}

// A failed read is not "no payout method": the pay step retries it.
func TestAdaptersPassReadFailuresOn(t *testing.T) {
	down := errors.New("dynamodb: throttled")
	_, err := payees.ForStripe(source{err: down}).Payee(context.Background(), "p1", program.PartyReferrer, "ref_1")
	if !errors.Is(err, down) || errors.Is(err, payees.ErrNoPayoutMethod) {
		t.Fatalf("read failure: %v", err)
	}
}
