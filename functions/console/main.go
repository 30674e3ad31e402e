// Command console is the operator console function: GET /console, GET and
// POST /console/{proxy+} (web/console renders every page).
package main

import (
	"context"
	"crypto/rand"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/referflow/referflow/internal/config"
	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/rails"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/web/console"
)

// The DynamoDB store is what the console reads and writes; recovery
// resumes referrals; SES sends the sign-in links.
var (
	_ console.Store    = (*store.Store)(nil)
	_ console.Sessions = (*store.Store)(nil)
	_ console.Resumer  = (*recovery.Service)(nil)
	// KPIs, partners and programs: the admin API's operations, over the store.
	_ console.KPIReader      = (*kpis.Service)(nil)
	_ kpis.Store             = (*store.Store)(nil)
	_ console.PartnerOps     = (*partners.Service)(nil)
	_ partners.Store         = (*store.Store)(nil)
	_ console.ProgramStore   = (*store.Store)(nil)
	_ console.FeedbackReader = (*store.Store)(nil)
	_ mail.Sender            = (*mail.SES)(nil)
	// Milestones by hand, erasure and exports.
	_ console.MilestoneRecorder = (*crm.Ingester)(nil)
	_ console.PeopleEraser      = (*store.Store)(nil)
	_ console.ExportStore       = (*store.Store)(nil)
)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
	prefix := env.String(config.SettingsPrefix)
	machine := env.String(config.StateMachineARN)
	from := env.String(config.MailFrom)
	base := env.Optional(config.PublicBaseURL)
	operators, opErr := console.ParseOperators(os.Getenv(console.OperatorsSetting))
	if err := env.Err(); err != nil || opErr != nil {
		log.Error("cold start", "error", err, "operators", opErr)
		os.Exit(1)
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("aws config", "error", err)
		os.Exit(1)
	}
	secrets := settings.New(ssm.NewFromConfig(cfg), prefix, time.Now)
	keys := privacy.FromSetting(secrets.Values)
	st := store.New(dynamodb.NewFromConfig(cfg), table).WithKeys(keys)
	client := sfn.NewFromConfig(cfg)
	// An approved or re-armed reward is paid through its rail, built from
	// the settings on first use, not at cold start.
	rs := rails.NewLoader(secrets.Get, settings.ErrMissing, st, time.Now, func(why []string) { log.Warn("payout rails left out", "why", why) })
	h := &console.Handler{
		Sessions: st, Store: st,
		Rewards: &rewards.Service{Repo: st, Load: rs.Rails, Payees: payees.Checker{Src: st}, Now: time.Now},
		Resumer: &recovery.Service{Store: st, SFN: client, StateMachineARN: machine, Now: time.Now,
			Metrics: metrics.New(os.Stdout, "console", time.Now)},
		SFN: client, Mail: &mail.SES{Client: sesv2.NewFromConfig(cfg)}, Keys: keys,
		Operators: operators, From: from, PublicBase: base,
		Region: cfg.Region, StateMachineARN: machine,
		Now: time.Now, Random: rand.Reader, Log: log,
	}
	// Partners invited or approved are emailed a sign-in link and the welcome
	// email, as through the admin API.
	linkSecrets := func(ctx context.Context) ([]string, error) { return secrets.Values(ctx, notify.LinkSecretSetting) }
	h.Partners = &partners.Service{Store: st, Mail: h.Mail, SignIn: notify.SignIn,
		Welcome: partners.NotifyWelcome(linkSecrets, time.Now), From: from, Now: time.Now, Random: rand.Reader}
	h.KPIs, h.Programs = &kpis.Service{Store: st}, st
	h.Feedback = st // partners' satisfaction scores and comments
	// A milestone recorded by hand takes the path of a CRM event; erasure
	// and exports are the store's, as through the admin API and the CLI.
	h.Milestones = &crm.Ingester{Store: st, Rewards: h.Rewards, SFN: client, Now: time.Now, Log: log}
	h.People, h.Exports = st, st
	if id := env.Optional(config.DefaultProgram); id != "" {
		h.ProgramIDs = []string{id}
	}
	lambda.Start(h.Handle)
}
