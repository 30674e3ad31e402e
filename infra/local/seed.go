package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/referflow/referflow/infra/local/stack"
	programseed "github.com/referflow/referflow/infra/seed"
	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/programs"
)

// Local defaults (each overridable from the environment): waits take real
// time locally, so the example programs' holds and deadlines are shortened.
const (
	defaultDemoCode          = "DEMO"
	defaultDemoEmail         = "partner@demo-referrer.example"
	defaultHoldSeconds       = 5   // REFERFLOW_LOCAL_HOLD_SECONDS
	defaultDeadlineSeconds   = 600 // REFERFLOW_LOCAL_DEADLINE_SECONDS
	defaultReviewDeadlineSec = 120 // REFERFLOW_LOCAL_REVIEW_DEADLINE_SECONDS
	// demoStripeAccount is the demo partner's connected account at the
	// local Stripe fake.
	demoStripeAccount = "acct_1DemoPartner00001"
)

// seed publishes every example program (the default one first) with local
// waits, and adds the demo referrer to the default program.
func seed(ctx context.Context, s *Stack) error {
	table := s.Tables["Table"]
	if table == "" {
		return fmt.Errorf("template has no Table resource")
	}
	// Partners are filed for sign-in under the keyed hash of their email,
	// under the stack's REFERFLOW_KEY_HASH_SECRET (as the functions read it).
	secrets := settings.New(ssm.NewFromConfig(s.AWS), s.SettingsPrefix, time.Now)
	st := store.New(dynamodb.NewFromConfig(s.AWS), table).WithKeys(privacy.FromSetting(secrets.Values))
	o := programseed.Overrides{
		HoldSeconds:           envInt("REFERFLOW_LOCAL_HOLD_SECONDS", defaultHoldSeconds),
		DeadlineSeconds:       envInt("REFERFLOW_LOCAL_DEADLINE_SECONDS", defaultDeadlineSeconds),
		ReviewDeadlineSeconds: envInt("REFERFLOW_LOCAL_REVIEW_DEADLINE_SECONDS", defaultReviewDeadlineSec),
	}
	now := time.Now()
	// The example programs name the example site at its default origin.
	def, err := programseed.PublishProgram(ctx, st, stack.SiteProgram(programs.Default(), s.SiteURL), o, now)
	if err != nil {
		return fmt.Errorf("default program: %w", err)
	}
	files := programs.Files()
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == programs.DefaultFile {
			continue
		}
		if _, err := programseed.PublishProgram(ctx, st, stack.SiteProgram(files[name], s.SiteURL), o, now); err != nil {
			return fmt.Errorf("program %s: %w", name, err)
		}
	}
	code := envString("REFERFLOW_DEMO_REFERRER_CODE", defaultDemoCode)
	if err := programseed.AddReferrer(ctx, st, referral.Referrer{ProgramID: def.ID, Code: code, Email: defaultDemoEmail, Name: "Demo Partner", Company: "Demo Referrer Inc."}, now); err != nil {
		return err
	}
	// The demo partner is paid through the Stripe rail's local fake.
	pay := &payees.Service{Store: st, Now: time.Now}
	if _, err := pay.SetPartner(ctx, def.ID, code, payees.Payee{Method: payees.MethodStripe,
		Details: payees.Details{Account: demoStripeAccount}}, "local"); err != nil {
		return fmt.Errorf("demo partner payee: %w", err)
	}
	fmt.Fprintf(os.Stderr, "seeded: program %s v%d (holds %ds, deadlines %ds), referrer %s <%s>\n",
		def.ID, def.Version, o.HoldSeconds, o.DeadlineSeconds, code, defaultDemoEmail)
	fmt.Fprintf(os.Stderr, "the partner's side:\n"+
		"  referral link   %[1]s/r/%[2]s   (lands on the example marketing site with the code)\n"+
		"  marketing site  %[3]s/   (the one-tag embedded form; /plain works without JavaScript)\n"+
		"  partner portal  %[1]s/portal   (sign in as %[4]s: the link arrives in the mailbox)\n"+
		"  mailbox         %[1]s/_local/mail   (every email sent)\n"+
		"  events          %[1]s/_local/events   (every event on the EventBridge bus)\n"+
		"  payouts         %[1]s/_local/stripe/   (every Stripe transfer and coupon the rewards paid; /_local/paypal/, /_local/tremendous/)\n",
		s.APIURL, code, s.SiteURL, defaultDemoEmail)
	fmt.Fprintf(os.Stderr, "the operator's side:\n"+
		"  console         %[1]s/console   (sign in as %[2]s: the link arrives at %[1]s/_local/mail)\n",
		s.APIURL, stack.LocalOperator)
	fmt.Fprintf(os.Stderr, "try:\n  curl -s -X POST %s/referrals -H 'content-type: application/json' \\\n    -d '{\"referrer_code\":\"%s\",\"referee_email\":\"jane@acme-robotics.example\",\"referee_name\":\"Jane Doe\",\"referee_company\":\"Acme Robotics\"}'\n  make demo\n  curl -s -X POST %s/_local/hubspot/deals -d '{\"id\":\"1101\",\"stage\":\"qualifiedtobuy\",\"contacts\":[{\"id\":\"301\",\"email\":\"jane@acme-robotics.example\"}]}'   # a deal in the fake HubSpot API\n", s.APIURL, code, s.APIURL)
	return nil
}

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil && v > 0 {
		return v
	}
	return def
}

func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
