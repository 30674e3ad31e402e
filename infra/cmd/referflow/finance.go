package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/finance"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/rails"
)

const financeUsage = `usage (every command also takes -table T):
  referflow balances -program ID [-code CODE] [-from YYYY-MM] [-to YYYY-MM] [-json]
  referflow payouts batch create -program ID -currency CUR [-from YYYY-MM] [-json]
  referflow payouts batch show ID [-json]
  referflow payouts batch csv ID          (finance's CSV, with payee details, on stdout)
  referflow payouts batch paid -reference REMITTANCE ID
  referflow reconcile -period YYYY-MM [-json]   (exit status 1 when there are differences)

balances without -code is the program's: paid and reversed from the ledger
months -from..-to (default the last 12), to pay and on hold from its partners'
rewards now. reconcile asks the rails whose settings are in the environment
(REFERFLOW_STRIPE_API_KEY, REFERFLOW_PAYPAL_CLIENT_ID and _SECRET,
REFERFLOW_TREMENDOUS_API_KEY, and their _API_URL) and never pays.`

// financeFlags are the flags of the finance commands.
type financeFlags struct {
	program, code, from, to, currency, reference, period *string
	json                                                 *bool
}

func newFinanceFlags(fs *flag.FlagSet) financeFlags {
	return financeFlags{
		program:   fs.String("program", os.Getenv("REFERFLOW_DEFAULT_PROGRAM"), "program id"),
		code:      fs.String("code", "", "a partner's code (balances)"),
		from:      fs.String("from", "", "first ledger month, YYYY-MM"),
		to:        fs.String("to", "", "last ledger month, YYYY-MM (balances)"),
		currency:  fs.String("currency", "", "ISO 4217 currency (batch create)"),
		reference: fs.String("reference", "", "remittance reference (batch paid)"),
		period:    fs.String("period", "", "ledger month, YYYY-MM (reconcile)"),
		json:      fs.Bool("json", false, "print JSON"),
	}
}

// runFinance parses and runs `referflow balances|payouts batch ...|reconcile`.
func runFinance(ctx context.Context, args []string, out io.Writer) error {
	cmd, rest := args[0], args[1:]
	if cmd == "payouts" {
		if len(args) < 3 || args[1] != "batch" {
			return errors.New(financeUsage)
		}
		cmd, rest = "batch "+args[2], args[3:]
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	table := fs.String("table", os.Getenv("REFERFLOW_TABLE"), "DynamoDB table (the stack's TableName output)")
	f := newFinanceFlags(fs)
	if err := fs.Parse(rest); err != nil {
		return errors.New(financeUsage)
	}
	st, err := open(ctx, *table)
	if err != nil {
		return err
	}
	svc := &finance.Service{Store: st, Payees: st, Now: time.Now, Rand: rand.Reader}
	if cmd == "reconcile" {
		rs, skipped, err := rails.New(ctx, envSetting, errNotSet, st, time.Now)
		if err != nil {
			return err
		}
		for _, why := range skipped {
			fmt.Fprintln(os.Stderr, "referflow: rail left out:", why)
		}
		svc.Rails = rs
	}
	return financeCommand(ctx, svc, cmd, f, fs.Args(), out)
}

var errNotSet = errors.New("not set")

// envSetting reads a rail's setting from the environment.
func envSetting(_ context.Context, name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%s: %w", name, errNotSet)
}

// financeCommand runs one finance command (cmd: "balances", "reconcile",
// "batch create|show|csv|paid").
func financeCommand(ctx context.Context, svc *finance.Service, cmd string, f financeFlags, args []string, out io.Writer) error {
	program := strings.ToLower(strings.TrimSpace(*f.program))
	one := func() (string, error) {
		if len(args) != 1 {
			return "", errors.New(financeUsage)
		}
		return args[0], nil
	}
	switch cmd {
	case "balances":
		if program == "" || len(args) != 0 {
			return errors.New(financeUsage)
		}
		return balancesCommand(ctx, svc, program, f, out)
	case "reconcile":
		r, err := svc.Reconcile(ctx, *f.period)
		if err != nil {
			return financeError(err)
		}
		if *f.json {
			err = printFinanceJSON(out, r)
		} else {
			printReport(out, r)
		}
		if err == nil && len(r.Differences) > 0 {
			err = fmt.Errorf("%d differences between the ledger and the rails in %s", len(r.Differences), r.Period)
		}
		return err
	case "batch create":
		b, err := svc.CreateBatch(ctx, program, strings.ToUpper(strings.TrimSpace(*f.currency)), *f.from, events.ActorOperator)
		return printBatch(out, b, err, *f.json)
	case "batch show":
		id, err := one()
		if err != nil {
			return err
		}
		b, err := svc.Batch(ctx, id)
		return printBatch(out, b, err, *f.json)
	case "batch csv":
		id, err := one()
		if err != nil {
			return err
		}
		return financeError(svc.WriteCSV(ctx, id, out))
	case "batch paid":
		id, err := one()
		if err != nil {
			return err
		}
		b, changed, err := svc.MarkPaid(ctx, id, *f.reference, events.ActorOperator)
		if err != nil {
			return financeError(err)
		}
		if !changed {
			fmt.Fprintf(out, "batch %s was already paid with reference %s: nothing changed\n", b.ID, b.RemittanceReference)
			return nil
		}
		fmt.Fprintf(out, "batch %s paid: %d entries, %s %s, reference %s\n", b.ID, len(b.Lines), b.Total, b.Currency, b.RemittanceReference)
		return nil
	}
	return errors.New(financeUsage)
}

func balancesCommand(ctx context.Context, svc *finance.Service, program string, f financeFlags, out io.Writer) error {
	var bs []finance.Balance
	if *f.code != "" {
		var err error
		if bs, err = svc.PartnerBalance(ctx, program, *f.code); err != nil {
			return financeError(err)
		}
		if *f.json {
			return printFinanceJSON(out, map[string]any{"program": program, "code": *f.code, "balances": bs})
		}
		fmt.Fprintf(out, "partner %s of program %s\n", *f.code, program)
	} else {
		pb, err := svc.ProgramBalance(ctx, program, *f.from, *f.to)
		if err != nil {
			return financeError(err)
		}
		if *f.json {
			return printFinanceJSON(out, pb)
		}
		bs = pb.Balances
		fmt.Fprintf(out, "program %s: paid and reversed in %s..%s; to pay and on hold now (%d partners)\n", program, pb.From, pb.To, pb.Partners)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "currency\tearned\tto pay\ton hold\tpaid\treversed\t")
	for _, b := range bs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t\n", b.Currency, b.Earned, b.ToPay, b.OnHold, b.Paid, b.Reversed)
	}
	return w.Flush()
}

func printBatch(out io.Writer, b *finance.Batch, err error, asJSON bool) error {
	if err != nil {
		return financeError(err)
	}
	if asJSON {
		return printFinanceJSON(out, b)
	}
	fmt.Fprintf(out, "batch %s: program %s, %s, %d entries, %s %s\n", b.ID, b.ProgramID, b.Status, len(b.Lines), b.Total, b.Currency)
	if b.RemittanceReference != "" {
		fmt.Fprintf(out, "paid %s with reference %s\n", b.PaidAt.UTC().Format(time.RFC3339), b.RemittanceReference)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "entry\treferral\tparty\tcode\tamount\t")
	for _, l := range b.Lines {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s %s\t\n", l.EntryID, l.ReferralID, l.Party, l.ReferrerCode, l.Amount, l.Currency)
	}
	return w.Flush()
}

func printReport(out io.Writer, r *finance.Report) {
	fmt.Fprintf(out, "reconciliation of %s: %d checked, %d differences\n", r.Period, r.Checked, len(r.Differences))
	if len(r.Differences) == 0 {
		return
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "kind\trail\treward\tledger\tat rail\tdetail\t")
	side := func(s *finance.Side) string {
		if s == nil {
			return "-"
		}
		v := s.Reference
		if s.Currency != "" {
			v = strings.TrimSpace(v + " " + money.Format(s.AmountMinor, s.Currency))
		}
		return strings.TrimSpace(v + " " + s.Status)
	}
	for _, d := range r.Differences {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t\n", d.Kind, d.Rail, d.RewardID, side(d.Ledger), side(d.AtRail), d.Detail)
	}
	w.Flush()
}

func printFinanceJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// financeError says what went wrong in words an operator acts on.
func financeError(err error) error {
	var inv *finance.Invalid
	switch {
	case err == nil:
		return nil
	case errors.As(err, &inv):
		parts := make([]string, 0, len(inv.Fields))
		for f, m := range inv.Fields {
			parts = append(parts, "-"+f+" "+m)
		}
		return errors.New(strings.Join(parts, "; "))
	case errors.Is(err, finance.ErrNotFound):
		return errors.New("not found: no such batch or partner")
	}
	return err
}
