package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/payees"
)

const payeesUsage = `usage (every command also takes -table T):
  referflow payees set    -program ID -method METHOD [details] CODE
  referflow payees set    -referral ID -method stripe -customer cus_...
  referflow payees show   -program ID CODE | -referral ID
  referflow payees remove -program ID CODE | -referral ID

methods and their details:
  stripe     -account acct_... (a partner's connected account), -customer cus_... (a referee's customer)
  paypal     -email EMAIL, or -payer-id ID
  gift_card  -name NAME -email EMAIL
  manual     -account-holder NAME, and -iban IBAN -bic BIC, or -account-number N -routing-code C -country CC

show prints the details masked. A partner's payee is kept under its
lifelong key (a changed code keeps it); -referral records the new
customer's (the referee party's) payee.`

// payeeFlags are the flags of `referflow payees ...`.
type payeeFlags struct {
	program, referral, method *string
	details                   map[string]*string // by JSON name
}

func newPayeeFlags(fs *flag.FlagSet) payeeFlags {
	f := payeeFlags{
		program:  fs.String("program", os.Getenv("REFERFLOW_DEFAULT_PROGRAM"), "program id (a partner's payee)"),
		referral: fs.String("referral", "", "referral id (its referee's payee)"),
		method:   fs.String("method", "", "stripe, paypal, gift_card or manual (set)"),
		details:  map[string]*string{},
	}
	for _, d := range []string{"account", "customer", "email", "payer_id", "name", "account_holder", "iban", "bic", "account_number", "routing_code", "country"} {
		f.details[d] = fs.String(strings.ReplaceAll(d, "_", "-"), "", "details."+d+" (set)")
	}
	return f
}

func (f payeeFlags) payee() payees.Payee {
	d := func(name string) string { return *f.details[name] }
	return payees.Payee{Method: payees.Method(*f.method), Details: payees.Details{
		Account: d("account"), Customer: d("customer"), Email: d("email"), PayerID: d("payer_id"), Name: d("name"),
		AccountHolder: d("account_holder"), IBAN: d("iban"), BIC: d("bic"), AccountNumber: d("account_number"),
		RoutingCode: d("routing_code"), Country: d("country"),
	}}
}

// runPayees parses and runs `referflow payees <sub>` (fs has -table).
func runPayees(ctx context.Context, sub string, fs *flag.FlagSet, table *string, args []string, out io.Writer) error {
	f := newPayeeFlags(fs)
	if err := fs.Parse(args); err != nil {
		return errors.New(payeesUsage)
	}
	st, err := open(ctx, *table)
	if err != nil {
		return err
	}
	return payeesCommand(ctx, &payees.Service{Store: st, Now: time.Now, Waiting: st}, sub, f, fs.Args(), out)
}

// payeesCommand runs one payee command: a partner's (-program and its
// code) or a referral's referee's (-referral).
func payeesCommand(ctx context.Context, svc *payees.Service, sub string, f payeeFlags, args []string, out io.Writer) error {
	program, referralID := strings.ToLower(strings.TrimSpace(*f.program)), strings.TrimSpace(*f.referral)
	partner := referralID == ""
	if (partner && (len(args) != 1 || program == "")) || (!partner && len(args) != 0) {
		return errors.New(payeesUsage)
	}
	whose, missing := "the referee of referral "+referralID, "no referral "+referralID
	if partner {
		whose, missing = "partner "+args[0]+" of program "+program, "no partner "+args[0]+" in program "+program
	}
	var r *payees.Record
	var err error
	switch {
	case sub == "set" && partner:
		r, err = svc.SetPartner(ctx, program, args[0], f.payee(), events.ActorOperator)
	case sub == "set":
		r, err = svc.SetReferee(ctx, referralID, f.payee(), events.ActorOperator)
	case sub == "show" && partner:
		r, err = svc.Partner(ctx, program, args[0])
	case sub == "show":
		r, err = svc.Referee(ctx, referralID)
	case sub == "remove" && partner:
		err = svc.RemovePartner(ctx, program, args[0])
	case sub == "remove":
		err = svc.RemoveReferee(ctx, referralID)
	default:
		return errors.New(payeesUsage)
	}
	if err != nil {
		return payeeError(sub, whose, missing, err)
	}
	if r == nil {
		fmt.Fprintf(out, "payee of %s removed\n", whose)
		return nil
	}
	printPayee(out, whose, r)
	return nil
}

// printPayee writes the payee, its details masked.
func printPayee(out io.Writer, whose string, r *payees.Record) {
	m := payees.Mask(r.Payee)
	fmt.Fprintf(out, "payee of %s: %s (updated %s by %s)\n", whose, m.Method, r.UpdatedAt.UTC().Format(time.RFC3339), r.UpdatedBy)
	shown := map[string]string{
		"account": m.Details.Account, "customer": m.Details.Customer, "email": m.Details.Email, "payer_id": m.Details.PayerID,
		"name": m.Details.Name, "account_holder": m.Details.AccountHolder, "iban": m.Details.IBAN, "bic": m.Details.BIC,
		"account_number": m.Details.AccountNumber, "routing_code": m.Details.RoutingCode, "country": m.Details.Country,
	}
	names := make([]string, 0, len(shown))
	for k, v := range shown {
		if v != "" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(out, "  %s: %s\n", k, shown[k])
	}
}

// payeeError says what went wrong in words an operator acts on.
func payeeError(sub, whose, missing string, err error) error {
	var inv *payees.Invalid
	switch {
	case errors.As(err, &inv):
		return fmt.Errorf("payees %s: %w", sub, err)
	case errors.Is(err, payees.ErrNoPayee):
		return fmt.Errorf("payees %s: %s has no payee", sub, whose)
	case errors.Is(err, payees.ErrNotFound):
		return fmt.Errorf("payees %s: %s", sub, missing)
	}
	return fmt.Errorf("payees %s: %w", sub, err)
}
