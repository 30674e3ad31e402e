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

	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/report"
	"github.com/spf13/cobra"
)

const reportUsage = `Usage: referflow report -program ID (-from YYYY-MM-DD -to YYYY-MM-DD | -period day|week|month [-at YYYY-MM-DD]) -o FILE.html [-csv FILE.csv]

Writes a program's KPIs over a period as one self-contained HTML file
(figures, charts as inline SVG, tables; no request to any host when opened)
and, with -csv, as CSV (one figure a row). The KPIs are read from the
counters exactly as GET /admin/kpis reads them. Without a period: the
current UTC month. Flags take one or two dashes.

Example:
  referflow --stack referflow report -program b2b-partners -from 2026-01-01 -to 2026-03-31 -o q1.html -csv q1.csv
`

// reportCmd is `referflow report`. It parses its own flags (runReport) so
// that the single-dash form of the contract (-program, -from, -to, -o)
// works, -o being the file here, not the output format.
func (a *app) reportCmd() *cobra.Command {
	return &cobra.Command{Use: "report", Short: "Write a program's KPIs as a self-contained HTML report (and CSV)",
		Long: reportUsage, DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error { return a.runReport(c.Context(), args, a.out) }}
}

// reportFlags are runReport's flags.
type reportFlags struct {
	program, from, to, period, at, html, csv string
}

// runReport reads program's KPIs for the period of args and writes the
// report file(s), then one line per file to out.
func (a *app) runReport(ctx context.Context, args []string, out io.Writer) error {
	var f reportFlags
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.program, "program", a.getenv("REFERFLOW_DEFAULT_PROGRAM"), "program id")
	fs.StringVar(&f.from, "from", "", "first day, YYYY-MM-DD")
	fs.StringVar(&f.to, "to", "", "last day, YYYY-MM-DD (included)")
	fs.StringVar(&f.period, "period", "", "day, week or month (with -at)")
	fs.StringVar(&f.at, "at", "", "a day of the period, YYYY-MM-DD")
	fs.StringVar(&f.html, "o", "", "the HTML file to write")
	fs.StringVar(&f.html, "output", "", "the HTML file to write (as -o)")
	fs.StringVar(&f.csv, "csv", "", "the CSV file to write")
	fs.StringVar(&a.g.stack, "stack", a.g.stack, "CloudFormation stack of the deployment")
	fs.StringVar(&a.g.region, "region", a.g.region, "AWS region of the stack")
	fs.StringVar(&a.g.over.Table, "table", a.g.over.Table, "DynamoDB table")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(out, reportUsage)
		return nil
	} else if err != nil {
		return usagef("%v\n%s", err, reportUsage)
	}
	per, err := f.check(fs.Args(), time.Now())
	if err != nil {
		return err
	}
	st, err := a.tableStore(ctx)
	if err != nil {
		return err
	}
	return writeReport(ctx, &kpis.Service{Store: st}, st, f, per, out)
}

// check refuses extra arguments, a missing file or program, and a period
// that cannot be read.
func (f reportFlags) check(rest []string, now time.Time) (kpis.Period, error) {
	switch {
	case len(rest) > 0:
		return kpis.Period{}, usagef("report takes no arguments, got %q\n%s", rest, reportUsage)
	case f.program == "":
		return kpis.Period{}, usagef("-program is required\n%s", reportUsage)
	case f.html == "" && f.csv == "":
		return kpis.Period{}, usagef("-o FILE.html or -csv FILE.csv is required\n%s", reportUsage)
	}
	per, fields := kpis.ParsePeriod(map[string]string{"from": f.from, "to": f.to, "period": f.period, "at": f.at}, now)
	if len(fields) > 0 {
		var msgs []string
		for k, v := range fields {
			msgs = append(msgs, "-"+k+": "+v)
		}
		sort.Strings(msgs)
		return kpis.Period{}, usagef("%s", strings.Join(msgs, "; "))
	}
	return per, nil
}

// kpiReader is the KPI read (kpis.Service, as GET /admin/kpis).
type kpiReader interface {
	Report(ctx context.Context, id string, per kpis.Period) (kpis.Report, error)
}

// programReader names the program in the report.
type programReader interface {
	CurrentProgram(ctx context.Context, id string) (*program.Program, error)
}

// writeReport reads the KPIs through r and writes the files f names.
func writeReport(ctx context.Context, r kpiReader, progs programReader, f reportFlags, per kpis.Period, out io.Writer) error {
	rep, err := r.Report(ctx, f.program, per)
	switch {
	case errors.Is(err, referral.ErrNotFound):
		return notFound(fmt.Errorf("no program %q", f.program))
	case err != nil:
		return unavailable(err)
	}
	name := rep.Program
	if p, err := progs.CurrentProgram(ctx, f.program); err == nil && p.Name != "" {
		name = p.Name
	}
	write := func(path string, w func(io.Writer) error) error {
		if path == "" {
			return nil
		}
		file, err := os.Create(path)
		if err != nil {
			return failed(fmt.Errorf("report: %w", err))
		}
		if err := w(file); err != nil {
			file.Close()
			return failed(err)
		}
		if err := file.Close(); err != nil {
			return failed(fmt.Errorf("report: %w", err))
		}
		fmt.Fprintf(out, "wrote %s: %s, %s to %s, %d referrals received, %d customers\n", path, rep.Program, rep.From, rep.To, rep.Referrals.Received, rep.Customers)
		return nil
	}
	if err := write(f.html, func(w io.Writer) error { return report.Write(w, rep, name, "") }); err != nil {
		return err
	}
	return write(f.csv, func(w io.Writer) error { return report.WriteCSV(w, rep) })
}
