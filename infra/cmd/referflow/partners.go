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

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/spf13/cobra"

	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/store"
)

// partnerOps is what the partner commands call (partners.Service).
type partnerOps interface {
	Invite(ctx context.Context, n partners.New, base string) (*store.Partner, error)
	Approve(ctx context.Context, programID, code, base string) (*store.Partner, error)
	Disable(ctx context.Context, programID, code string) (*store.Partner, error)
	Enable(ctx context.Context, programID, code string) (*store.Partner, error)
	ChangeCode(ctx context.Context, programID, from, to string) (*store.Partner, error)
	Edit(ctx context.Context, programID, code string, c partners.Changes) (*store.Partner, error)
	List(ctx context.Context, programID string, limit int, cursor string) (partners.Page, error)
}

var _ partnerOps = (*partners.Service)(nil)

// partnerFlags are the flags of `referflow partners ...`.
type partnerFlags struct {
	program, email, name, company, code, base, from string
	set                                             func(name string) bool // the flag was given
}

const partnersLong = `invite and approve email a sign-in link to the portal at --base-url (default
$REFERFLOW_PUBLIC_BASE_URL, else the stack's ApiUrl output), from --from
(default $REFERFLOW_MAIL_FROM) through SES. Partners' emails are found by
keyed hashes: REFERFLOW_KEY_HASH_SECRET from the environment, else from SSM
under the settings prefix (the SettingsPrefix output).`

// partnersCmd is `referflow partners invite|import|list|approve|disable|enable|code|edit`.
func (a *app) partnersCmd() *cobra.Command {
	g := group("partners", "Invite, list, approve, disable, enable and edit partners and change their codes")
	g.Long = g.Short + ".\n\n" + partnersLong
	sub := func(use, short, example string, args int, mails bool) {
		f := &partnerFlags{}
		c := &cobra.Command{Use: use, Short: short, Example: example, Args: nArgs(args),
			RunE: func(c *cobra.Command, args []string) error {
				svc, err := a.openPartners(c.Context(), f.from)
				if err != nil {
					return err
				}
				if mails && f.base == "" {
					if d, err := a.deployment(c.Context()); err == nil {
						f.base = d.APIURL
					}
				}
				name := strings.Fields(use)[0]
				f.set = c.Flags().Changed
				if name == "import" {
					return a.importPartners(c.Context(), svc, f, args[0])
				}
				return partnersCommand(c.Context(), svc, name, f, args, a.out, a.g.json())
			}}
		fs := c.Flags()
		fs.StringVar(&f.program, "program", a.getenv("REFERFLOW_DEFAULT_PROGRAM"), "program id")
		if name := strings.Fields(use)[0]; name == "invite" || name == "edit" {
			fs.StringVar(&f.email, "email", "", "the partner's email")
			fs.StringVar(&f.name, "name", "", "the partner's name")
			fs.StringVar(&f.company, "company", "", "the partner's company (optional)")
		}
		if strings.HasPrefix(use, "invite") {
			fs.StringVar(&f.code, "code", "", "the partner's referral code (generated when empty)")
		}
		if mails {
			fs.StringVar(&f.base, "base-url", a.getenv("REFERFLOW_PUBLIC_BASE_URL"), "public URL of the stack's API, for the sign-in link (default: the stack's ApiUrl)")
			fs.StringVar(&f.from, "from", a.getenv("REFERFLOW_MAIL_FROM"), "sender of the sign-in email, for programs that name none")
		}
		g.AddCommand(c)
	}
	sub("invite", "Invite a partner: they get an email with a sign-in link", "  referflow partners invite --program b2b-partners --email ann@agency.example --name 'Ann Lee' --code ANN42", 0, true)
	sub("import FILE.csv", "Invite every partner of a CSV file (columns email,name[,company][,code]), with a progress bar",
		"  referflow partners import --program b2b-partners partners.csv", 1, true)
	sub("list", "List a program's partners", "  referflow partners list --program b2b-partners\n  referflow partners list --program b2b-partners -o json", 0, false)
	sub("approve CODE", "Approve a partner who asked to join: they get a sign-in link", "  referflow partners approve --program b2b-partners ANN42", 1, true)
	sub("disable CODE", "Disable a partner: their link stops taking referrals", "  referflow partners disable --program b2b-partners ANN42", 1, false)
	sub("enable CODE", "Enable a disabled partner again", "  referflow partners enable --program b2b-partners ANN42", 1, false)
	sub("code CODE NEW-CODE", "Change a partner's code (referrals under the old code stay theirs; links with it no longer credit them)", "  referflow partners code --program b2b-partners ANN42 ANNA", 2, false)
	sub("edit CODE", "Correct a partner's name, email or company (the flags given; a new email is where they sign in)",
		"  referflow partners edit --program b2b-partners ANN42 --email ann@new-agency.example --name 'Ann Lee'", 1, false)
	return g
}

// partnerService builds the partner operations over the stack's table
// (with its key-hash secrets) and SES.
func (a *app) partnerService(ctx context.Context, from string) (partnerOps, error) {
	st, err := a.keyedStore(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := a.config(ctx)
	if err != nil {
		return nil, err
	}
	secrets := a.secrets(ctx)
	linkSecrets := func(ctx context.Context) ([]string, error) { return secrets.Values(ctx, notify.LinkSecretSetting) }
	return &partners.Service{Store: st, Mail: &mail.SES{Client: sesv2.NewFromConfig(cfg)}, SignIn: notify.SignIn,
		Welcome: partners.NotifyWelcome(linkSecrets, time.Now), From: from, Now: time.Now}, nil
}

// partnersCommand runs one partner command with its arguments.
func partnersCommand(ctx context.Context, svc partnerOps, sub string, f *partnerFlags, args []string, out io.Writer, asJSON bool) error {
	program := strings.ToLower(strings.TrimSpace(f.program))
	if program == "" {
		return usagef("partners %s: --program (or REFERFLOW_DEFAULT_PROGRAM) is required", sub)
	}
	if (sub == "invite" || sub == "approve") && f.base == "" {
		return usagef("partners %s: --base-url (or REFERFLOW_PUBLIC_BASE_URL, or --stack) is required: the sign-in link points there", sub)
	}
	var p *store.Partner
	var err error
	switch sub {
	case "list":
		return listPartners(ctx, svc, program, out, asJSON)
	case "invite":
		p, err = svc.Invite(ctx, partners.New{ProgramID: program, Email: f.email, Name: f.name, Company: f.company, Code: f.code}, f.base)
	case "approve":
		p, err = svc.Approve(ctx, program, args[0], f.base)
	case "disable":
		p, err = svc.Disable(ctx, program, args[0])
	case "enable":
		p, err = svc.Enable(ctx, program, args[0])
	case "code":
		p, err = svc.ChangeCode(ctx, program, args[0], args[1])
	case "edit":
		p, err = svc.Edit(ctx, program, args[0], f.changes())
	}
	if p != nil && asJSON {
		printJSON(out, map[string]any{"program": p.ProgramID, "code": p.Code, "status": p.State(), "key": p.Key})
	} else if p != nil {
		fmt.Fprintf(out, "partner %s of program %s: %s\n", p.Code, p.ProgramID, p.State())
	}
	if err != nil {
		return partnerError(sub, p, err)
	}
	return nil
}

// changes are the edit's flags that were given.
func (f *partnerFlags) changes() partners.Changes {
	var c partners.Changes
	given := func(name string, v *string) *string {
		if f.set != nil && f.set(name) {
			return v
		}
		return nil
	}
	c.Name, c.Email, c.Company = given("name", &f.name), given("email", &f.email), given("company", &f.company)
	return c
}

// partnerError says what went wrong in words an operator acts on.
func partnerError(sub string, p *store.Partner, err error) error {
	var inv *partners.Invalid
	switch {
	case err == nil:
		return nil
	case p != nil:
		return fmt.Errorf("partners %s: done, but the email was not sent: %w", sub, err)
	case errors.As(err, &inv):
		return coded(exitUsage, fmt.Errorf("partners %s: %w", sub, err))
	case errors.Is(err, partners.ErrExists):
		return conflict(fmt.Errorf("partners %s: this email is already a partner of the program", sub))
	case errors.Is(err, partners.ErrCodeTaken):
		return conflict(fmt.Errorf("partners %s: this code is taken: pick another", sub))
	case errors.Is(err, partners.ErrState):
		return conflict(fmt.Errorf("partners %s: the partner's status does not allow it", sub))
	case errors.Is(err, partners.ErrNotFound):
		return notFound(fmt.Errorf("partners %s: no such partner in this program", sub))
	}
	return fmt.Errorf("partners %s: %w", sub, err)
}

// partnerRow is a partner as `partners list -o json` prints it.
type partnerRow struct {
	Code          string   `json:"code"`
	Status        string   `json:"status"`
	Email         string   `json:"email"`
	Name          string   `json:"name"`
	PreviousCodes []string `json:"previous_codes"`
}

// listPartners writes every partner of the program, a line each.
func listPartners(ctx context.Context, svc partnerOps, program string, out io.Writer, asJSON bool) error {
	var rows []partnerRow
	for cursor := ""; ; {
		page, err := svc.List(ctx, program, 200, cursor)
		if err != nil {
			return partnerError("list", nil, err)
		}
		for _, p := range page.Partners {
			rows = append(rows, partnerRow{p.Code, string(p.State()), p.Email, p.Name, append([]string{}, p.PreviousCodes...)})
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if asJSON {
		return printJSON(out, map[string]any{"program": program, "partners": append([]partnerRow{}, rows...)})
	}
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = strings.Join([]string{r.Code, r.Status, r.Email, r.Name, strings.Join(r.PreviousCodes, ",")}, "\t")
	}
	return table(out, "CODE\tSTATUS\tEMAIL\tNAME\tPREVIOUS CODES", lines...)
}

// importPartners invites the partners of a CSV file (a header row naming
// email, name, and optionally company and code), a progress bar on
// stderr; those already partners are skipped. It fails (exit 1) when a
// row could not be invited, after trying them all.
func (a *app) importPartners(ctx context.Context, svc partnerOps, f *partnerFlags, file string) error {
	rows, err := readPartnerCSV(file)
	if err != nil {
		return err
	}
	program := strings.ToLower(strings.TrimSpace(f.program))
	if program == "" || f.base == "" {
		return usagef("partners import: --program and --base-url (or --stack) are required")
	}
	bar := newProgress(a.errOut, len(rows), "inviting")
	invited, skipped, bad := 0, 0, 0
	for i, r := range rows {
		_, err := svc.Invite(ctx, partners.New{ProgramID: program, Email: r["email"], Name: r["name"], Company: r["company"], Code: r["code"]}, f.base)
		bar.Add(1)
		switch {
		case err == nil:
			invited++
			continue
		case errors.Is(err, partners.ErrExists):
			skipped++
			continue
		}
		switch err = partnerError("import", nil, err); {
		case exitCode(err) == exitUnavailable:
			bar.Finish()
			return fmt.Errorf("partners import: line %d: %w (%d invited before it: run it again, those are skipped)", i+2, err, invited)
		default:
			bad++
			fmt.Fprintf(a.errOut, "referflow: partners import: line %d (%s): %v\n", i+2, r["email"], err)
		}
	}
	bar.Finish()
	if a.g.json() {
		printJSON(a.out, map[string]int{"invited": invited, "skipped": skipped, "failed": bad})
	} else {
		fmt.Fprintf(a.out, "%d invited, %d already partners, %d failed\n", invited, skipped, bad)
	}
	if bad > 0 {
		return failed(fmt.Errorf("partners import: %d of %d rows failed", bad, len(rows)))
	}
	return nil
}

// readPartnerCSV reads the rows of a partners CSV file by column name.
func readPartnerCSV(file string) ([]map[string]string, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, usagef("partners import: %v", err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil || len(recs) == 0 {
		return nil, usagef("partners import: %s: want a CSV file with a header row (email,name,company,code): %v", file, err)
	}
	cols := map[string]int{}
	for i, h := range recs[0] {
		cols[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := cols["email"]; !ok {
		return nil, usagef("partners import: %s: the header row has no email column", file)
	}
	rows := make([]map[string]string, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		r := map[string]string{}
		for name, i := range cols {
			if i < len(rec) {
				r[name] = strings.TrimSpace(rec[i])
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}
