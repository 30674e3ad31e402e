package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
)

const partnersUsage = `usage (every command also takes -table T and -settings-prefix /referflow/<stack>/):
  referflow partners invite  -program ID -email EMAIL -name NAME [-company NAME] [-code CODE] [-base-url URL] [-from ADDRESS]
  referflow partners list    -program ID
  referflow partners approve -program ID [-base-url URL] [-from ADDRESS] CODE
  referflow partners disable -program ID CODE
  referflow partners enable  -program ID CODE
  referflow partners code    -program ID CODE NEW-CODE

invite and approve email a sign-in link to the portal at -base-url (default
$REFERFLOW_PUBLIC_BASE_URL: the stack's API URL or custom domain), from
-from (default $REFERFLOW_MAIL_FROM) through SES. Partners' emails are found
by keyed hashes: REFERFLOW_KEY_HASH_SECRET from the environment, else from
SSM under -settings-prefix (the SettingsPrefix output).`

// partnerFlags are the flags of `referflow partners ...`.
type partnerFlags struct {
	program, email, name, company, code, base, from, prefix *string
}

func newPartnerFlags(fs *flag.FlagSet) partnerFlags {
	return partnerFlags{
		program: fs.String("program", os.Getenv("REFERFLOW_DEFAULT_PROGRAM"), "program id"),
		email:   fs.String("email", "", "the partner's email (invite)"),
		name:    fs.String("name", "", "the partner's name (invite)"),
		company: fs.String("company", "", "the partner's company (invite, optional)"),
		code:    fs.String("code", "", "the partner's referral code (invite; generated when empty)"),
		base:    fs.String("base-url", os.Getenv("REFERFLOW_PUBLIC_BASE_URL"), "public URL of the stack's API, for the sign-in link"),
		from:    fs.String("from", os.Getenv("REFERFLOW_MAIL_FROM"), "sender of the sign-in email, for programs that name none"),
		prefix:  fs.String("settings-prefix", os.Getenv("REFERFLOW_SETTINGS_PREFIX"), "SSM prefix of the stack's settings"),
	}
}

// runPartners parses and runs `referflow partners <sub>` (fs has -table).
func runPartners(ctx context.Context, sub string, fs *flag.FlagSet, table *string, args []string, out io.Writer) error {
	f := newPartnerFlags(fs)
	if err := fs.Parse(args); err != nil {
		return errors.New(partnersUsage)
	}
	svc, err := openPartners(ctx, *table, *f.prefix, *f.from)
	if err != nil {
		return err
	}
	return partnersCommand(ctx, svc, sub, f, fs.Args(), out)
}

// openPartners builds the partner operations over the stack's table
// (with its key-hash secrets) and SES.
func openPartners(ctx context.Context, table, prefix, from string) (*partners.Service, error) {
	st, err := openKeyed(ctx, table, prefix)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	secrets := settings.New(ssm.NewFromConfig(cfg), prefix, time.Now)
	linkSecrets := func(ctx context.Context) ([]string, error) { return secrets.Values(ctx, notify.LinkSecretSetting) }
	return &partners.Service{Store: st, Mail: &mail.SES{Client: sesv2.NewFromConfig(cfg)}, SignIn: notify.SignIn,
		Welcome: partners.NotifyWelcome(linkSecrets, time.Now), From: from, Now: time.Now}, nil
}

// openKeyed opens the table with the stack's key-hash secrets
// (REFERFLOW_KEY_HASH_SECRET: the environment, else SSM under prefix).
func openKeyed(ctx context.Context, table, prefix string) (*store.Store, error) {
	st, err := open(ctx, table)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	secrets := settings.New(ssm.NewFromConfig(cfg), prefix, time.Now)
	return st.WithKeys(privacy.FromSetting(secrets.Values)), nil
}

// partnersCommand runs one partner command with its arguments.
func partnersCommand(ctx context.Context, svc *partners.Service, sub string, f partnerFlags, args []string, out io.Writer) error {
	program := strings.ToLower(strings.TrimSpace(*f.program))
	needs := map[string]int{"invite": 0, "list": 0, "approve": 1, "disable": 1, "enable": 1, "code": 2}
	if n, ok := needs[sub]; !ok || len(args) != n || program == "" {
		return errors.New(partnersUsage)
	}
	if (sub == "invite" || sub == "approve") && *f.base == "" {
		return errors.New("partners " + sub + ": -base-url (or REFERFLOW_PUBLIC_BASE_URL) is required: the sign-in link points there")
	}
	var p *store.Partner
	var err error
	switch sub {
	case "list":
		return listPartners(ctx, svc, program, out)
	case "invite":
		p, err = svc.Invite(ctx, partners.New{ProgramID: program, Email: *f.email, Name: *f.name, Company: *f.company, Code: *f.code}, *f.base)
	case "approve":
		p, err = svc.Approve(ctx, program, args[0], *f.base)
	case "disable":
		p, err = svc.Disable(ctx, program, args[0])
	case "enable":
		p, err = svc.Enable(ctx, program, args[0])
	case "code":
		p, err = svc.ChangeCode(ctx, program, args[0], args[1])
	}
	if p != nil {
		fmt.Fprintf(out, "partner %s of program %s: %s\n", p.Code, p.ProgramID, p.State())
	}
	if err != nil {
		return partnerError(sub, p, err)
	}
	return nil
}

// partnerError says what went wrong in words an operator acts on.
func partnerError(sub string, p *store.Partner, err error) error {
	var inv *partners.Invalid
	switch {
	case p != nil:
		return fmt.Errorf("partners %s: done, but the email was not sent: %w", sub, err)
	case errors.As(err, &inv):
		return fmt.Errorf("partners %s: %w", sub, err)
	case errors.Is(err, partners.ErrExists):
		return fmt.Errorf("partners %s: this email is already a partner of the program", sub)
	case errors.Is(err, partners.ErrCodeTaken):
		return fmt.Errorf("partners %s: this code is taken: pick another", sub)
	case errors.Is(err, partners.ErrState):
		return fmt.Errorf("partners %s: the partner's status does not allow it", sub)
	case errors.Is(err, partners.ErrNotFound):
		return fmt.Errorf("partners %s: no such partner in this program", sub)
	}
	return fmt.Errorf("partners %s: %w", sub, err)
}

// listPartners writes every partner of the program, a line each.
func listPartners(ctx context.Context, svc *partners.Service, program string, out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CODE\tSTATUS\tEMAIL\tNAME\tPREVIOUS CODES")
	for cursor := ""; ; {
		page, err := svc.List(ctx, program, 200, cursor)
		if err != nil {
			return partnerError("list", nil, err)
		}
		for _, p := range page.Partners {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Code, p.State(), p.Email, p.Name, strings.Join(p.PreviousCodes, ","))
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	return w.Flush()
}
