// Command admin is the admin API: GET /admin/referrals/{id}, the manual
// review decision, reward approvals and the erasure of a person's personal
// data, the outbound webhook endpoints with their deliveries, the
// programs' partners, and who partners and referees are paid to. Its
// routes are IAM-authorised in template.yaml; the function does no
// authentication of its own.
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
	"github.com/referflow/referflow/internal/finance"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/outbound"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/rails"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
)

// The store serves the admin API and the rewards lifecycle.
var (
	_ Store  = (*store.Store)(nil)
	_ People = (*store.Store)(nil)
	// Resumes: recovery over the store and Step Functions.
	_ Resumer = (*recovery.Service)(nil)
	// Milestones recorded by hand: the CRM ingestion path, over the store.
	_ Milestones = (*crm.Ingester)(nil)
	// Outbound webhook endpoints and replays, over the store.
	_ Webhooks       = (*outbound.Service)(nil)
	_ outbound.Store = (*store.Store)(nil)
	// Partner operations, over the store; SES sends their emails.
	_ Partners       = (*partners.Service)(nil)
	_ partners.Store = (*store.Store)(nil)
	// Payee operations, over the store.
	_ Payees       = (*payees.Service)(nil)
	_ payees.Store = (*store.Store)(nil)
	// Balances, payout batches and the reconciliation, over the store.
	_ Finance        = (*finance.Service)(nil)
	_ finance.Store  = (*store.Store)(nil)
	_ finance.Payees = (*store.Store)(nil)
	// KPIs from the counters, over the store.
	_ KPIs = (*kpis.Service)(nil)
	// Partners' feedback scores and comments, from the store.
	_ FeedbackStore = (*store.Store)(nil)
	_ kpis.Store    = (*store.Store)(nil)
)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
	prefix := env.String(config.SettingsPrefix)
	machine := env.String(config.StateMachineARN)
	from := env.String(config.MailFrom)
	if err := env.Err(); err != nil {
		log.Error("cold start", "error", err)
		os.Exit(1)
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("aws config", "error", err)
		os.Exit(1)
	}
	// Erasure finds a person's referrals by the keyed hash of their email.
	secrets := settings.New(ssm.NewFromConfig(cfg), prefix, time.Now)
	st := store.New(dynamodb.NewFromConfig(cfg), table).WithKeys(privacy.FromSetting(secrets.Values))
	client := sfn.NewFromConfig(cfg)
	// Partners invited or approved are emailed a sign-in link (and the
	// welcome email, its preference link signed with REFERFLOW_LINK_SECRET).
	linkSecrets := func(ctx context.Context) ([]string, error) { return secrets.Values(ctx, notify.LinkSecretSetting) }
	partnerOps := &partners.Service{Store: st, Mail: &mail.SES{Client: sesv2.NewFromConfig(cfg)}, SignIn: notify.SignIn,
		Welcome: partners.NotifyWelcome(linkSecrets, time.Now), From: from, Now: time.Now, Random: rand.Reader}
	// The reconciliation asks the payout rails (Find only, never Send);
	// an approved or re-armed reward is paid through them.
	// Built from the settings on first use, not at cold start.
	rs := rails.NewLoader(secrets.Get, settings.ErrMissing, st, time.Now, func(why []string) { log.Warn("payout rails left out", "why", why) })
	// Approving or re-arming a reward pays it through its rail.
	rws := &rewards.Service{Repo: st, Load: rs.Rails, Payees: payees.Checker{Src: st}, Now: time.Now}
	h := &Handler{
		Store:   st,
		People:  st,
		Rewards: rws,
		SFN:     client,
		Resumer: &recovery.Service{Store: st, SFN: client, StateMachineARN: machine, Now: time.Now,
			Metrics: metrics.New(os.Stdout, "admin", time.Now)},
		// A replay's attempt is made from here, at once (outbound.NewClient).
		Webhooks: &outbound.Service{Store: st, Client: outbound.NewClient(), Now: time.Now, Rand: rand.Reader,
			DisableAfter: outbound.DefaultDisableAfter, Log: log, Metrics: metrics.New(os.Stdout, "admin", time.Now)},
		Partners: partnerOps,
		Payees:   &payees.Service{Store: st, Now: time.Now, Waiting: st},
		Failed:   st,
		Finance:  &finance.Service{Store: st, Payees: st, Load: rs.Rails, Now: time.Now, Rand: rand.Reader},
		KPIs:     &kpis.Service{Store: st},
		Feedback: st,
		Now:      time.Now, Log: log,
	}
	// A milestone recorded by hand takes the path of a CRM event.
	h.Programs = st // ending an experiment publishes a program version
	h.Milestones = &crm.Ingester{Store: st, Rewards: rws, SFN: client, Now: time.Now, Log: log}
	lambda.Start(h.Handle)
}
