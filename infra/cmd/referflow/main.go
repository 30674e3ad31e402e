// Command referflow is the operator's tool for a Referflow deployment:
// validate and publish programs, add referrers, export the ledger, erase a
// person's personal data.
//
//	referflow program validate FILE...
//	referflow program publish  -table T FILE
//	referflow referrer add     -table T -program P -code C -email E [-name N]
//	referflow ledger export    -table T -period 2026-11   (CSV on stdout)
//	referflow referral resume  -table T [-state-machine ARN] ID
//	referflow person erase     -table T [-settings-prefix /referflow/<stack>/] EMAIL
//	referflow webhooks add|list|show|update|remove|rotate|deliveries|replay ... (outbound webhooks)
//	referflow partners invite|list|approve|disable|enable|code ... (partners.go)
//	referflow payees set|show|remove ... (who partners and referees are paid to; payees.go)
//	referflow balances, payouts batch create|show|csv|paid, reconcile (finance; finance.go)
//
// It uses the standard AWS configuration (AWS_PROFILE, AWS_REGION, and
// AWS_ENDPOINT_URL to reach a local stack).
package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/referflow/referflow/infra/seed"
	"github.com/referflow/referflow/internal/crm/providers"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "referflow:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  referflow program validate FILE...
  referflow program publish -table TABLE FILE
  referflow referrer add -table TABLE -program ID -code CODE -email EMAIL [-name NAME] [-company NAME] [-settings-prefix P]
  referflow ledger export -table TABLE -period YYYY-MM
  referflow referral resume -table TABLE [-state-machine ARN] ID
  referflow person erase -table TABLE [-settings-prefix /referflow/<stack>/] EMAIL
  referflow webhooks add|list|show|update|remove|rotate|deliveries|replay ...   (referflow webhooks help)
  referflow partners invite|list|approve|disable|enable|code ...   (referflow partners help)
  referflow payees set|show|remove ...   (referflow payees help)
  referflow balances|reconcile|payouts batch create|show|csv|paid ...   (referflow payouts help)`

func run(ctx context.Context, args []string) error {
	if len(args) < 2 {
		return errors.New(usage)
	}
	if args[0] == "balances" || args[0] == "reconcile" || args[0] == "payouts" {
		return runFinance(ctx, args, os.Stdout) // finance.go
	}
	cmd, sub, rest := args[0], args[1], args[2:]
	fs := flag.NewFlagSet(cmd+" "+sub, flag.ContinueOnError)
	table := fs.String("table", os.Getenv("REFERFLOW_TABLE"), "DynamoDB table (the stack's TableName output)")
	switch cmd + " " + sub {
	case "program validate":
		return validatePrograms(rest)
	case "program publish":
		if err := fs.Parse(rest); err != nil || fs.NArg() != 1 {
			return errors.New(usage)
		}
		st, err := open(ctx, *table)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return err
		}
		p, err := seed.PublishProgram(ctx, st, data, seed.Overrides{}, time.Now())
		if err != nil {
			return err
		}
		fmt.Printf("program %s is at version %d\n", p.ID, p.Version)
		return nil
	case "referrer add":
		prog := fs.String("program", os.Getenv("REFERFLOW_DEFAULT_PROGRAM"), "program id")
		code := fs.String("code", "", "referral code (from the referrer's link)")
		email := fs.String("email", "", "referrer's email")
		name := fs.String("name", "", "referrer's name")
		company := fs.String("company", "", "referrer's company")
		prefix := fs.String("settings-prefix", os.Getenv("REFERFLOW_SETTINGS_PREFIX"), "SSM prefix of the stack's settings (the referrer's email is filed under its keyed hash)")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		st, err := openKeyed(ctx, *table, *prefix) // partners.go
		if err != nil {
			return err
		}
		if err := seed.AddReferrer(ctx, st, referral.Referrer{ProgramID: *prog, Code: *code, Email: *email, Name: *name, Company: *company}, time.Now()); err != nil {
			return err
		}
		fmt.Printf("referrer %s added to program %s\n", *code, *prog)
		return nil
	case "person erase":
		return personErase(ctx, fs, table, rest)
	case "webhooks add", "webhooks list", "webhooks show", "webhooks update", "webhooks remove", "webhooks rotate", "webhooks deliveries", "webhooks replay":
		return runWebhooks(ctx, sub, fs, table, rest, os.Stdout) // webhooks.go
	case "webhooks help":
		return errors.New(webhooksUsage)
	case "partners invite", "partners list", "partners approve", "partners disable", "partners enable", "partners code":
		return runPartners(ctx, sub, fs, table, rest, os.Stdout) // partners.go
	case "partners help":
		return errors.New(partnersUsage)
	case "payees set", "payees show", "payees remove":
		return runPayees(ctx, sub, fs, table, rest, os.Stdout) // payees.go
	case "payees help":
		return errors.New(payeesUsage)
	case "referral resume":
		machine := fs.String("state-machine", os.Getenv("REFERFLOW_STATE_MACHINE_ARN"), "the stack's StateMachineArn output")
		if err := fs.Parse(rest); err != nil || fs.NArg() != 1 {
			return errors.New(usage)
		}
		return runResume(ctx, *table, *machine, fs.Arg(0), os.Stdout)
	case "ledger export":
		period := fs.String("period", time.Now().UTC().Format("2006-01"), "month, YYYY-MM")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		st, err := open(ctx, *table)
		if err != nil {
			return err
		}
		return exportLedger(ctx, st, *period, os.Stdout)
	}
	return errors.New(usage)
}

// validatePrograms checks program files and says what is wrong with each.
func validatePrograms(files []string) error {
	if len(files) == 0 {
		return errors.New(usage)
	}
	bad := 0
	for _, f := range files {
		p, err := program.LoadFile(f, program.Providers(providers.Names()...))
		if err != nil {
			bad++
			fmt.Printf("%s: invalid\n%v\n", f, err)
			continue
		}
		fmt.Printf("%s: ok (program %s, %d milestones)\n", f, p.ID, len(p.Milestones))
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d files are invalid", bad, len(files))
	}
	return nil
}

// exportLedger writes the ledger entries of period as CSV, amounts in major
// units with as many decimals as their currency has (100000 UGX is
// "100000", 123456 CLF minor units is "12.3456").
func exportLedger(ctx context.Context, st *store.Store, period string, out io.Writer) error {
	entries, err := st.LedgerPeriod(ctx, period)
	if err != nil {
		return err
	}
	w := csv.NewWriter(out)
	w.Write([]string{"entry_id", "type", "created_at", "program", "referral_id", "milestone", "party", "referrer_code", "kind", "amount", "currency"})
	for _, e := range entries {
		w.Write([]string{e.ID, string(e.Type), e.CreatedAt.Format(time.RFC3339), e.ProgramID, e.ReferralID, e.Milestone, e.Party, e.ReferrerCode, e.Kind, money.FormatMinor(e.AmountMinor, e.Currency), e.Currency})
	}
	w.Flush()
	return w.Error()
}

func open(ctx context.Context, table string) (*store.Store, error) {
	if table == "" {
		return nil, errors.New("-table (or REFERFLOW_TABLE) is required")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	return store.New(dynamodb.NewFromConfig(cfg), table), nil
}
