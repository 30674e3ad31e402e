package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/referflow/referflow/infra/seed"
	"github.com/referflow/referflow/internal/crm/providers"
	"github.com/referflow/referflow/internal/exports"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// programsCmd is `referflow programs validate|publish|versions`.
func (a *app) programsCmd() *cobra.Command {
	g := group("programs", "Validate, publish and list the versions of programs", "program")
	g.AddCommand(&cobra.Command{Use: "validate FILE...", Short: "Check program files and say what is wrong with each (exit 1 when one is invalid)",
		Example: "  referflow programs validate programs/*.yaml", Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, files []string) error { return validatePrograms(files, a.out) }})
	g.AddCommand(&cobra.Command{Use: "publish FILE", Short: "Publish a program file as the program's next version",
		Example: "  referflow --stack referflow programs publish programs/b2b-example.yaml", Args: nArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return usagef("programs publish: %v", err)
			}
			st, err := a.openStore(c.Context())
			if err != nil {
				return err
			}
			p, err := seed.PublishProgram(c.Context(), st, data, seed.Overrides{}, time.Now())
			var inv *program.ValidationError
			if errors.As(err, &inv) {
				return coded(exitUsage, err)
			} else if err != nil {
				return err
			}
			if a.g.json() {
				return printJSON(a.out, map[string]any{"program": p.ID, "version": p.Version})
			}
			fmt.Fprintf(a.out, "program %s is at version %d\n", p.ID, p.Version)
			return nil
		}})
	g.AddCommand(&cobra.Command{Use: "versions PROGRAM", Short: "List a program's published versions, newest first",
		Example: "  referflow programs versions b2b-partners", Args: nArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			st, err := a.openStore(c.Context())
			if err != nil {
				return err
			}
			return programVersions(c.Context(), st, strings.ToLower(args[0]), a.out, a.g.json())
		}})
	return g
}

// versionRow is a program version as `programs versions` prints it.
type versionRow struct {
	Version    int      `json:"version"`
	Name       string   `json:"name"`
	Currency   string   `json:"currency"`
	Milestones []string `json:"milestones"`
}

// programVersions writes every version of a program, newest first.
func programVersions(ctx context.Context, st *store.Store, id string, out io.Writer, asJSON bool) error {
	cur, err := st.CurrentProgram(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(fmt.Errorf("programs versions: no program %s is published", id))
	} else if err != nil {
		return err
	}
	rows := []versionRow{}
	for v := cur.Version; v >= 1; v-- {
		p := cur
		if v != cur.Version {
			if p, err = st.ProgramVersion(ctx, id, v); err != nil {
				return fmt.Errorf("programs versions: version %d: %w", v, err)
			}
		}
		row := versionRow{Version: p.Version, Name: p.Name, Currency: p.Currency, Milestones: []string{}}
		for _, m := range p.Milestones {
			row.Milestones = append(row.Milestones, m.Name)
		}
		rows = append(rows, row)
	}
	if asJSON {
		return printJSON(out, map[string]any{"program": id, "versions": rows})
	}
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = fmt.Sprintf("%d\t%s\t%s\t%s", r.Version, r.Name, r.Currency, strings.Join(r.Milestones, " > "))
	}
	return table(out, "VERSION\tNAME\tCURRENCY\tMILESTONES", lines...)
}

// validatePrograms checks program files and says what is wrong with each.
func validatePrograms(files []string, out io.Writer) error {
	bad := 0
	for _, f := range files {
		p, err := program.LoadFile(f, program.Providers(providers.Names()...))
		if err != nil {
			bad++
			fmt.Fprintf(out, "%s: invalid\n%v\n", f, err)
			continue
		}
		fmt.Fprintf(out, "%s: ok (program %s, %d milestones)\n", f, p.ID, len(p.Milestones))
	}
	if bad > 0 {
		return failed(fmt.Errorf("%d of %d files are invalid", bad, len(files)))
	}
	return nil
}

// referrersCmd is `referflow referrers add`: a referrer filed by hand.
func (a *app) referrersCmd() *cobra.Command {
	g := group("referrers", "Add referrers by hand (partners invite is the usual way)", "referrer")
	var r referral.Referrer
	add := &cobra.Command{Use: "add", Short: "Add a referrer to a program under a code", Args: nArgs(0),
		Example: "  referflow referrers add --program b2b-partners --code ACME42 --email partner@acme.com",
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := a.keyedStore(c.Context())
			if err != nil {
				return err
			}
			if err := seed.AddReferrer(c.Context(), st, r, time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "referrer %s added to program %s\n", r.Code, r.ProgramID)
			return nil
		}}
	fs := add.Flags()
	fs.StringVar(&r.ProgramID, "program", a.getenv("REFERFLOW_DEFAULT_PROGRAM"), "program id")
	fs.StringVar(&r.Code, "code", "", "referral code (from the referrer's link)")
	fs.StringVar(&r.Email, "email", "", "referrer's email")
	fs.StringVar(&r.Name, "name", "", "referrer's name")
	fs.StringVar(&r.Company, "company", "", "referrer's company")
	g.AddCommand(add)
	return g
}

// ledgerCmd is `referflow ledger export`.
func (a *app) ledgerCmd() *cobra.Command {
	g := group("ledger", "The ledger of rewards paid and reversed")
	var from, to string
	export := &cobra.Command{Use: "export", Short: "Write the ledger entries of a month, or of months --from..--to, as CSV on stdout",
		Long: "Write the ledger entries as CSV on stdout, amounts in major units with their currency's decimals. " +
			"A progress bar is drawn on stderr when it is a terminal.",
		Example: "  referflow ledger export --period 2026-11 > ledger-2026-11.csv\n  referflow ledger export --from 2026-01 --to 2026-12 > ledger-2026.csv", Args: nArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			months, err := monthRange(from, to)
			if err != nil {
				return err
			}
			st, err := a.openStore(c.Context())
			if err != nil {
				return err
			}
			return exportLedgerMonths(c.Context(), st, months, a.out, newProgress(a.errOut, len(months), "exporting"))
		}}
	month := time.Now().UTC().Format("2006-01")
	export.Flags().StringVar(&from, "period", month, "month, YYYY-MM (the first, with --to)")
	export.Flags().StringVar(&from, "from", month, "first month, YYYY-MM")
	export.Flags().StringVar(&to, "to", "", "last month, YYYY-MM (default: the first)")
	export.Flags().MarkHidden("from")
	g.AddCommand(export)
	return g
}

// monthRange is the months from..to (to empty: from alone), at most 120.
func monthRange(from, to string) ([]string, error) {
	if to == "" {
		to = from
	}
	f, err1 := time.Parse("2006-01", from)
	t, err2 := time.Parse("2006-01", to)
	if err1 != nil || err2 != nil || t.Before(f) || f.AddDate(10, 0, 0).Before(t) {
		return nil, usagef("--period/--from %q and --to %q: want months YYYY-MM, from before to, at most 10 years apart", from, to)
	}
	var months []string
	for m := f; !m.After(t); m = m.AddDate(0, 1, 0) {
		months = append(months, m.Format("2006-01"))
	}
	return months, nil
}

// exportLedger writes the ledger entries of period as CSV, amounts in major
// units with as many decimals as their currency has (100000 UGX is
// "100000", 123456 CLF minor units is "12.3456").
func exportLedger(ctx context.Context, st *store.Store, period string, out io.Writer) error {
	return exportLedgerMonths(ctx, st, []string{period}, out, noProgress{})
}

// exportLedgerMonths writes the entries of each month under one header,
// counting the months on bar.
func exportLedgerMonths(ctx context.Context, st *store.Store, months []string, out io.Writer, bar progress) error {
	defer bar.Finish()
	w := csv.NewWriter(out)
	w.Write(exports.LedgerHeader) // the console's ledger export's rows (internal/exports)
	for _, period := range months {
		entries, err := st.LedgerPeriod(ctx, period)
		if err != nil {
			return fmt.Errorf("ledger export: %s: %w", period, err)
		}
		for _, e := range entries {
			w.Write(exports.LedgerRow(e))
		}
		w.Flush()
		bar.Add(1)
	}
	w.Flush()
	return w.Error()
}
