// Command referflow is the operator's tool for a Referflow deployment:
// referrals, rewards, partners, programs, payees, payouts, webhooks, the
// ledger and erasures, from a terminal or a script.
//
//	referflow --stack referflow referrals list
//	referflow --stack referflow rewards approve ref_... won referrer
//	referflow --stack referflow partners list --program b2b-partners -o json
//	referflow completion bash
//
// --stack NAME reads the deployment's table, API URL, state machine and
// settings prefix from the CloudFormation stack's outputs; --table,
// --api-url, --state-machine and --settings-prefix (or their REFERFLOW_*
// variables) override them, which is how the local stack is reached. It
// uses the standard AWS configuration (AWS_PROFILE, AWS_REGION, and
// AWS_ENDPOINT_URL to reach a local stack). Exit codes: see exitCodes.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(execute(context.Background(), newApp(os.Stdout, os.Stderr, os.Getenv), os.Args[1:]))
}

// exitCodes is what `referflow --help` says about them (exits.go).
const exitCodes = `Exit codes:
  0  done
  1  a difference or a failed check (reconcile, programs validate), or another error
  2  bad usage: an unknown command or flag, a missing argument, an invalid value
  3  not found: no such referral, reward, partner, batch, endpoint or stack
  4  conflict: the thing's status does not allow it (already reviewed, taken, disabled...)
  5  the deployment is unreachable or unavailable (AWS, the table, the API)`

// execute runs the command line args and returns the process's exit code;
// errors are written to a.errOut.
func execute(ctx context.Context, a *app, args []string) int {
	root := a.root()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(a.errOut, "referflow:", err)
	return exitCode(err)
}

// root builds the command tree.
func (a *app) root() *cobra.Command {
	root := group("referflow", "Run a Referflow deployment: referrals, rewards, partners, programs, payouts, webhooks")
	root.Long = `referflow is the operator's tool for a Referflow deployment.

Name the deployment with --stack (its CloudFormation stack: the table, API
URL, state machine and settings prefix are read from its outputs), or give
--table and --api-url (REFERFLOW_TABLE, REFERFLOW_API_URL) for a local stack.
Output is a table for people; --output json prints JSON for scripts.

` + exitCodes
	root.Example = `  referflow --stack referflow referrals list
  referflow --stack referflow referrals review ref_01J... approve --reason "known customer"
  referflow --stack referflow rewards failed -o json
  REFERFLOW_TABLE=referflow-local referflow programs publish programs/b2b-example.yaml
  source <(referflow completion bash)`
	root.SilenceErrors, root.SilenceUsage = true, true
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return a.g.check() }
	root.SetOut(a.out)
	root.SetErr(a.errOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("%v\n%s", err, c.UsageString())
	})
	a.g.register(root, a.getenv)
	root.AddCommand(a.referralsCmd(), a.rewardsCmd(), a.partnersCmd(), a.referrersCmd(), a.programsCmd(),
		a.payeesCmd(), a.balancesCmd(), a.payoutsCmd(), a.reconcileCmd(), a.webhooksCmd(), a.ledgerCmd(), a.personCmd(), a.deploymentCmd(), a.reportCmd(), a.experimentsCmd())
	return root
}

// group is a command that only holds subcommands: run bare or with an
// unknown subcommand it shows its help and exits 2.
func group(use, short string, aliases ...string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Aliases: aliases, Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q\n%s", args[0], c.CommandPath(), c.UsageString())
			}
			return usagef("%s needs a command\n%s", c.CommandPath(), c.UsageString())
		}}
}

// nArgs accepts exactly n arguments, else a usage error (exit 2) that
// shows the command's usage.
func nArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d argument(s), got %d\nusage: %s", c.CommandPath(), n, len(args), c.UseLine())
		}
		return nil
	}
}
