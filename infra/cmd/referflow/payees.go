package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/payees"
)

const payeesLong = `Methods and their details:
  stripe     --account acct_... (a partner's connected account), --customer cus_... (a referee's customer)
  paypal     --email EMAIL, or --payer-id ID
  gift_card  --name NAME --email EMAIL
  manual     --account-holder NAME, and --iban IBAN --bic BIC, or --account-number N --routing-code C --country CC

show prints the details masked. A partner's payee is kept under its
lifelong key (a changed code keeps it); --referral records the new
customer's (the referee party's) payee.`

// payeeOps is what the payee commands call (payees.Service).
type payeeOps interface {
	SetPartner(ctx context.Context, programID, code string, p payees.Payee, actor string) (*payees.Record, error)
	SetReferee(ctx context.Context, referralID string, p payees.Payee, actor string) (*payees.Record, error)
	Partner(ctx context.Context, programID, code string) (*payees.Record, error)
	Referee(ctx context.Context, referralID string) (*payees.Record, error)
	RemovePartner(ctx context.Context, programID, code string) error
	RemoveReferee(ctx context.Context, referralID string) error
}

var _ payeeOps = (*payees.Service)(nil)

// payeeFlags are the flags of `referflow payees ...`.
type payeeFlags struct {
	program, referral, method string
	details                   map[string]*string // by JSON name
}

var payeeDetails = []string{"account", "customer", "email", "payer_id", "name", "account_holder", "iban", "bic", "account_number", "routing_code", "country"}

func (f *payeeFlags) payee() payees.Payee {
	d := func(name string) string { return *f.details[name] }
	return payees.Payee{Method: payees.Method(f.method), Details: payees.Details{
		Account: d("account"), Customer: d("customer"), Email: d("email"), PayerID: d("payer_id"), Name: d("name"),
		AccountHolder: d("account_holder"), IBAN: d("iban"), BIC: d("bic"), AccountNumber: d("account_number"),
		RoutingCode: d("routing_code"), Country: d("country"),
	}}
}

// payeesCmd is `referflow payees set|show|remove`.
func (a *app) payeesCmd() *cobra.Command {
	g := group("payees", "Record, show and remove who partners and referees are paid to")
	g.Long = g.Short + ".\n\n" + payeesLong
	sub := func(use, short, example string) {
		f := &payeeFlags{details: map[string]*string{}}
		name := strings.Fields(use)[0]
		c := &cobra.Command{Use: use, Short: short, Example: example, Args: cobra.MaximumNArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				svc, err := a.openPayees(c.Context())
				if err != nil {
					return err
				}
				return payeesCommand(c.Context(), svc, name, f, args, a.out, a.g.json())
			}}
		fs := c.Flags()
		fs.StringVar(&f.program, "program", a.getenv("REFERFLOW_DEFAULT_PROGRAM"), "program id (a partner's payee)")
		fs.StringVar(&f.referral, "referral", "", "referral id (its referee's payee)")
		for _, d := range payeeDetails {
			f.details[d] = new(string)
		}
		if name == "set" {
			fs.StringVar(&f.method, "method", "", "stripe, paypal, gift_card or manual")
			c.RegisterFlagCompletionFunc("method", cobra.FixedCompletions([]string{"stripe", "paypal", "gift_card", "manual"}, cobra.ShellCompDirectiveNoFileComp))
			for _, d := range payeeDetails {
				fs.StringVar(f.details[d], strings.ReplaceAll(d, "_", "-"), "", "details."+d)
			}
		}
		g.AddCommand(c)
	}
	sub("set [CODE]", "Record a partner's (CODE) or a referral's referee's (--referral) payee",
		"  referflow payees set --program b2b-partners --method stripe --account acct_1 ACME42\n  referflow payees set --referral ref_... --method stripe --customer cus_...")
	sub("show [CODE]", "Show a payee, its details masked", "  referflow payees show --program b2b-partners ACME42\n  referflow payees show --referral ref_...")
	sub("remove [CODE]", "Remove a payee", "  referflow payees remove --program b2b-partners ACME42")
	return g
}

// payeeService opens the payee operations on the deployment's table.
func (a *app) payeeService(ctx context.Context) (payeeOps, error) {
	st, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	return &payees.Service{Store: st, Now: time.Now, Waiting: st}, nil
}

// payeesCommand runs one payee command: a partner's (-program and its
// code) or a referral's referee's (-referral).
func payeesCommand(ctx context.Context, svc payeeOps, sub string, f *payeeFlags, args []string, out io.Writer, asJSON bool) error {
	program, referralID := strings.ToLower(strings.TrimSpace(f.program)), strings.TrimSpace(f.referral)
	partner := referralID == ""
	if (partner && (len(args) != 1 || program == "")) || (!partner && len(args) != 0) {
		return usagef("payees %s: give --program ID and the partner's CODE, or --referral ID\nusage: referflow payees %s --program ID CODE | --referral ID", sub, sub)
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
	}
	if err != nil {
		return payeeError(sub, whose, missing, err)
	}
	switch {
	case asJSON && r == nil:
		return printJSON(out, map[string]any{"payee_of": whose, "removed": true})
	case asJSON:
		return printJSON(out, payees.Record{Payee: payees.Mask(r.Payee), UpdatedAt: r.UpdatedAt, UpdatedBy: r.UpdatedBy})
	case r == nil:
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
		return coded(exitUsage, fmt.Errorf("payees %s: %w", sub, err))
	case errors.Is(err, payees.ErrNoPayee):
		return notFound(fmt.Errorf("payees %s: %s has no payee", sub, whose))
	case errors.Is(err, payees.ErrNotFound):
		return notFound(fmt.Errorf("payees %s: %s", sub, missing))
	}
	return fmt.Errorf("payees %s: %w", sub, err)
}
