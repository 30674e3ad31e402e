package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/store"
)

// experimentsCmd is `referflow experiments list|end`: the console's
// experiments page from a terminal, through the same operations.
func (a *app) experimentsCmd() *cobra.Command {
	g := group("experiments", "List reward experiments with their verdicts, end one keeping a variant", "experiment")
	g.AddCommand(&cobra.Command{Use: "list [PROGRAM...]", Short: "Each program's experiments, per variant: referrals, customers, conversion, against the control, verdict",
		Example: "  referflow --stack referflow experiments list b2b-partners\n  referflow --stack referflow experiments list b2b-partners -o json",
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				if def := a.getenv("REFERFLOW_DEFAULT_PROGRAM"); def != "" {
					args = []string{def}
				} else {
					return usagef("experiments list: name a program (or set REFERFLOW_DEFAULT_PROGRAM)")
				}
			}
			st, err := a.openStore(c.Context())
			if err != nil {
				return err
			}
			return listExperiments(c.Context(), &kpis.Service{Store: st}, args, a.out, a.g.json(), time.Now())
		}})
	var keep string
	var version int
	end := &cobra.Command{Use: "end PROGRAM --keep VARIANT", Short: "End the program's experiment: publish its next version with the kept variant's tiers as the rule",
		Long: "End the program's running experiment, keeping one variant: the program's next version has that variant's tiers as its " +
			"tiers and no experiment. New referrals get the kept rule; referrals accepted before keep their variant and its rewards.",
		Example: "  referflow --stack referflow experiments end b2b-partners --keep B\n  referflow --stack referflow experiments end b2b-partners --keep B --version 7",
		Args:    nArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if strings.TrimSpace(keep) == "" {
				return usagef("experiments end: --keep VARIANT is required")
			}
			st, err := a.openStore(c.Context())
			if err != nil {
				return err
			}
			return endExperiment(c.Context(), st, strings.ToLower(args[0]), strings.TrimSpace(keep), version, a.out, a.g.json(), time.Now())
		}}
	end.Flags().StringVar(&keep, "keep", "", "the variant whose tiers become the program's rule")
	end.Flags().IntVar(&version, "version", 0, "the program version you looked at (refused if another is current)")
	g.AddCommand(end)
	return g
}

// experimentReader reads a program's KPIs (kpis.Service): its experiments
// come with them.
type experimentReader interface {
	Report(ctx context.Context, id string, per kpis.Period) (kpis.Report, error)
}

// listExperiments writes each program's experiments (the running one
// first), one row per variant.
func listExperiments(ctx context.Context, r experimentReader, ids []string, out io.Writer, asJSON bool, now time.Time) error {
	day := now.UTC().Truncate(24 * time.Hour) // experiments are over their whole life: any period reads them
	type listed struct {
		Program     string            `json:"program"`
		Experiments []kpis.Experiment `json:"experiments"`
	}
	all := []listed{}
	var rows []string
	for _, id := range ids {
		id = strings.ToLower(id)
		rep, err := r.Report(ctx, id, kpis.Period{Kind: kpis.PeriodDay, From: day, To: day})
		if errors.Is(err, store.ErrNotFound) {
			return notFound(fmt.Errorf("experiments list: no program %s is published", id))
		} else if err != nil {
			return err
		}
		all = append(all, listed{Program: id, Experiments: append([]kpis.Experiment{}, rep.Experiments...)})
		for _, e := range rep.Experiments {
			for _, v := range e.Variants {
				rows = append(rows, strings.Join([]string{id, e.ID, e.Status, v.Name, strconv.FormatInt(v.Referrals, 10),
					strconv.FormatInt(v.Customers, 10), rateText(v.Conversion), vsControl(v), orDash(v.Verdict)}, "\t"))
			}
		}
	}
	if asJSON {
		return printJSON(out, map[string]any{"programs": all})
	}
	if len(rows) == 0 {
		fmt.Fprintln(out, "no experiment")
		return nil
	}
	return table(out, "PROGRAM\tEXPERIMENT\tSTATUS\tVARIANT\tREFERRALS\tCUSTOMERS\tCONVERSION (95%)\tVS CONTROL\tVERDICT", rows...)
}

// rateText is "39.3% (32.9–46.1%)", or "–" without referrals.
func rateText(r kpis.Rate) string {
	if r.Rate == nil || r.Low == nil || r.High == nil {
		return "–"
	}
	p := func(v float64) string { return strconv.FormatFloat(v*100, 'f', 1, 64) }
	return p(*r.Rate) + "% (" + p(*r.Low) + "–" + p(*r.High) + "%)"
}

// vsControl is "1.8x (1.3x–2.5x)", "control" or "–".
func vsControl(v kpis.VariantFigures) string {
	switch {
	case v.VsControl != nil:
		return kpis.Times(v.VsControl.Ratio) + "x (" + kpis.Times(v.VsControl.Low) + "x–" + kpis.Times(v.VsControl.High) + "x)"
	case v.Verdict == "":
		return "control"
	}
	return "–"
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// endExperiment ends program id's experiment keeping variant keep
// (program.EndExperiment, as the console and the admin API do).
func endExperiment(ctx context.Context, pub program.Publisher, id, keep string, version int, out io.Writer, asJSON bool, now time.Time) error {
	next, ended, err := program.EndExperiment(ctx, pub, id, keep, version, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound(fmt.Errorf("experiments end: no program %s is published", id))
	case errors.Is(err, program.ErrUnknownVariant):
		return coded(exitUsage, fmt.Errorf("experiments end: %w", err))
	case errors.Is(err, program.ErrNoExperiment), errors.Is(err, program.ErrVersionMoved), errors.Is(err, store.ErrConflict):
		return conflict(fmt.Errorf("experiments end: %w", err))
	case err != nil:
		return err
	}
	if asJSON {
		return printJSON(out, map[string]any{"program": id, "version": next.Version, "experiment": ended.ID, "kept": keep})
	}
	fmt.Fprintf(out, "program %s: experiment %s ended; version %d keeps variant %s's tiers for new referrals\n", id, ended.ID, next.Version, keep)
	return nil
}
