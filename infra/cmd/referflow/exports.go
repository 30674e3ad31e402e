package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/referflow/referflow/internal/exports"
)

// exportCmd is `referflow referrals export` and `referflow rewards
// export`: the console's exports (internal/exports, the same rows and
// bounded chunks), written as CSV on stdout with a progress bar on stderr
// when it is a terminal.
func (a *app) exportCmd(kind string) *cobra.Command {
	var program, from, to string
	what := map[string]string{exports.Referrals: "the referrals received", exports.Rewards: "the rewards created"}[kind]
	c := &cobra.Command{Use: "export --from YYYY-MM-DD --to YYYY-MM-DD", Short: "Write " + what + " in a period as CSV on stdout",
		Long: "Write " + what + " in a period (UTC days, both included) as CSV on stdout: ids, statuses, amounts, dates" +
			" and the referred company, never names or emails. A progress bar (days read) is drawn on stderr when it is a terminal.",
		Example: "  referflow " + kind + " export --from 2026-01-01 --to 2026-03-31 > " + kind + "-q1.csv", Args: nArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			j, err := exports.New("cli", kind, program, from, to, "operator", time.Now())
			if err != nil {
				return usagef("%s export: %v", kind, err)
			}
			st, err := a.openStore(c.Context())
			if err != nil {
				return err
			}
			return runExport(c.Context(), st, j, a.out, newProgress(a.errOut, j.Steps, "exporting"))
		}}
	today := time.Now().UTC().Format(time.DateOnly)
	c.Flags().StringVar(&program, "program", "", "only this program (default: every program)")
	c.Flags().StringVar(&from, "from", today[:8]+"01", "first day, YYYY-MM-DD")
	c.Flags().StringVar(&to, "to", today, "last day, YYYY-MM-DD (included)")
	return c
}

// runExport writes job's header and every chunk to out, counting the days
// (months) read on bar.
func runExport(ctx context.Context, src exports.Source, job exports.Job, out io.Writer, bar progress) error {
	defer bar.Finish()
	w := csv.NewWriter(out)
	w.Write(job.Header())
	w.Flush()
	for done := 0; !job.Done; {
		next, chunk, _, err := exports.Run(ctx, src, job, exports.DefaultBudget, time.Now)
		if err != nil {
			return unavailable(fmt.Errorf("%s export: %w (nothing is left behind: run it again)", job.Kind, err))
		}
		if _, err := out.Write(chunk); err != nil {
			return err
		}
		bar.Add(next.StepsDone - done)
		done, job = next.StepsDone, next
	}
	return w.Error()
}
