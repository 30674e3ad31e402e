package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/finance"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/rails"
)

const financeLong = `balances without --code is the program's: paid and reversed from the ledger
months --from..--to (default the last 12), to pay and on hold from its
partners' rewards now. reconcile asks the rails whose settings are in the
environment (REFERFLOW_STRIPE_API_KEY, REFERFLOW_PAYPAL_CLIENT_ID and _SECRET,
REFERFLOW_TREMENDOUS_API_KEY, and their _API_URL) and never pays; it exits
with status 1 when there are differences.`

// financeOps is what the finance commands call (finance.Service).
type financeOps interface {
	PartnerBalance(ctx context.Context, programID, code string) ([]finance.Balance, error)
	ProgramBalance(ctx context.Context, programID, from, to string) (*finance.ProgramBalance, error)
	Reconcile(ctx context.Context, period string) (*finance.Report, error)
	CreateBatch(ctx context.Context, programID, currency, from, actor string) (*finance.Batch, error)
	Batch(ctx context.Context, id string) (*finance.Batch, error)
	WriteCSV(ctx context.Context, id string, out io.Writer) error
	MarkPaid(ctx context.Context, id, ref, actor string) (*finance.Batch, bool, error)
}

var _ financeOps = (*finance.Service)(nil)

// financeFlags are the flags of the finance commands.
type financeFlags struct {
	program, code, from, to, currency, reference, period string
	json                                                 bool
}

// financeCmd builds one finance command (cmd: "balances", "reconcile",
// "batch create|show|csv|paid") with the flags it takes.
func (a *app) financeCmd(cmd, use, short, example string, args int, flags ...string) *cobra.Command {
	f := &financeFlags{}
	c := &cobra.Command{Use: use, Short: short, Long: short + ".\n\n" + financeLong, Example: example, Args: nArgs(args),
		RunE: func(c *cobra.Command, args []string) error {
			svc, err := a.openFinance(c.Context(), cmd == "reconcile")
			if err != nil {
				return err
			}
			f.json = a.g.json()
			return financeCommand(c.Context(), svc, cmd, f, args, a.out)
		}}
	fs := c.Flags()
	help := map[string]string{"program": "program id", "code": "a partner's code", "from": "first ledger month, YYYY-MM", "to": "last ledger month, YYYY-MM",
		"currency": "ISO 4217 currency", "reference": "the remittance's reference (bank transfer id)", "period": "ledger month, YYYY-MM"}
	vars := map[string]*string{"program": &f.program, "code": &f.code, "from": &f.from, "to": &f.to, "currency": &f.currency, "reference": &f.reference, "period": &f.period}
	for _, name := range flags {
		def := ""
		if name == "program" {
			def = a.getenv("REFERFLOW_DEFAULT_PROGRAM")
		}
		fs.StringVar(vars[name], name, def, help[name])
	}
	return c
}

// balancesCmd, payoutsCmd and reconcileCmd are the finance commands.
func (a *app) balancesCmd() *cobra.Command {
	return a.financeCmd("balances", "balances", "Show what a program or a partner earned, is owed, has on hold, was paid and reversed",
		"  referflow balances --program b2b-partners\n  referflow balances --program b2b-partners --code ACME42 -o json", 0, "program", "code", "from", "to")
}

func (a *app) payoutsCmd() *cobra.Command {
	g := group("payouts", "Manual payout batches: create, show, export for the bank, mark paid")
	b := group("batch", "Manual payout batches: create, show, export for the bank, mark paid")
	b.AddCommand(
		a.financeCmd("batch create", "create", "Batch every payable manual entry of a program in a currency",
			"  referflow payouts batch create --program b2b-partners --currency EUR", 0, "program", "currency", "from"),
		a.financeCmd("batch show", "show BATCH_ID", "Show a batch and its entries", "  referflow payouts batch show pb_...", 1),
		a.financeCmd("batch csv", "csv BATCH_ID", "Write finance's CSV of a batch, with payee details, on stdout", "  referflow payouts batch csv pb_... > batch.csv", 1),
		a.financeCmd("batch paid", "paid BATCH_ID", "Record that a batch was paid, with the remittance's reference",
			"  referflow payouts batch paid --reference SEPA-2026-11-22 pb_...", 1, "reference"))
	g.AddCommand(b)
	return g
}

func (a *app) reconcileCmd() *cobra.Command {
	return a.financeCmd("reconcile", "reconcile", "Compare a month of the ledger with the rails (exit status 1 when they differ)",
		"  REFERFLOW_STRIPE_API_KEY=... referflow reconcile --period 2026-11", 0, "period")
}

// financeService opens the finance operations on the deployment's table;
// for reconcile, with the rails whose settings are in the environment.
func (a *app) financeService(ctx context.Context, reconcile bool) (financeOps, error) {
	st, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	svc := &finance.Service{Store: st, Payees: st, Now: time.Now, Rand: rand.Reader}
	if reconcile {
		rs, skipped, err := rails.New(ctx, envSetting, errNotSet, st, time.Now)
		if err != nil {
			return nil, err
		}
		for _, why := range skipped {
			fmt.Fprintln(a.errOut, "referflow: rail left out:", why)
		}
		svc.Rails = rs
	}
	return svc, nil
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
func financeCommand(ctx context.Context, svc financeOps, cmd string, f *financeFlags, args []string, out io.Writer) error {
	program := strings.ToLower(strings.TrimSpace(f.program))
	one := func() (string, error) {
		if len(args) != 1 {
			return "", usagef("%s takes one argument: the batch id", cmd)
		}
		return args[0], nil
	}
	switch cmd {
	case "balances":
		if program == "" || len(args) != 0 {
			return usagef("balances: --program (or REFERFLOW_DEFAULT_PROGRAM) is required")
		}
		return balancesCommand(ctx, svc, program, f, out)
	case "reconcile":
		r, err := svc.Reconcile(ctx, f.period)
		if err != nil {
			return financeError(err)
		}
		if f.json {
			err = printFinanceJSON(out, r)
		} else {
			printReport(out, r)
		}
		if err == nil && len(r.Differences) > 0 {
			err = failed(fmt.Errorf("%d differences between the ledger and the rails in %s", len(r.Differences), r.Period))
		}
		return err
	case "batch create":
		b, err := svc.CreateBatch(ctx, program, strings.ToUpper(strings.TrimSpace(f.currency)), f.from, events.ActorOperator)
		return printBatch(out, b, err, f.json)
	case "batch show":
		id, err := one()
		if err != nil {
			return err
		}
		b, err := svc.Batch(ctx, id)
		return printBatch(out, b, err, f.json)
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
		b, changed, err := svc.MarkPaid(ctx, id, f.reference, events.ActorOperator)
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
	return usagef("unknown finance command %q", cmd)
}

func balancesCommand(ctx context.Context, svc financeOps, program string, f *financeFlags, out io.Writer) error {
	var bs []finance.Balance
	if f.code != "" {
		var err error
		if bs, err = svc.PartnerBalance(ctx, program, f.code); err != nil {
			return financeError(err)
		}
		if f.json {
			return printFinanceJSON(out, map[string]any{"program": program, "code": f.code, "balances": bs})
		}
		fmt.Fprintf(out, "partner %s of program %s\n", f.code, program)
	} else {
		pb, err := svc.ProgramBalance(ctx, program, f.from, f.to)
		if err != nil {
			return financeError(err)
		}
		if f.json {
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

// financeError says what went wrong in words an operator acts on.
func financeError(err error) error {
	var inv *finance.Invalid
	switch {
	case err == nil:
		return nil
	case errors.As(err, &inv):
		parts := make([]string, 0, len(inv.Fields))
		for f, m := range inv.Fields {
			parts = append(parts, "--"+f+" "+m)
		}
		sort.Strings(parts)
		return coded(exitUsage, errors.New(strings.Join(parts, "; ")))
	case errors.Is(err, finance.ErrNotFound):
		return notFound(errors.New("not found: no such batch or partner"))
	case errors.Is(err, finance.ErrNothingToBatch), errors.Is(err, finance.ErrAlreadyPaid):
		return conflict(err)
	}
	return err
}
