// Command portal is the partner portal function: GET /portal, GET and
// POST /portal/{proxy+} (web/portal renders every page).
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
	"github.com/referflow/referflow/internal/intake"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
	"github.com/referflow/referflow/web/portal"
)

// The DynamoDB store is what the portal, its partner operations and its
// intake read and write; SES sends the sign-in links.
var (
	_ portal.Store         = (*store.Store)(nil)
	_ portal.FeedbackStore = (*store.Store)(nil)
	_ partners.Store       = (*store.Store)(nil)
	_ intake.Store         = (*store.Store)(nil)
	_ mail.Sender          = (*mail.SES)(nil)
)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
	prefix := env.String(config.SettingsPrefix)
	defaultProgram := env.String(config.DefaultProgram)
	machine := env.String(config.StateMachineARN)
	retention := env.Days(config.PersonalDataRetentionDays)
	from := env.String(config.MailFrom)
	base := env.Optional(config.PublicBaseURL)
	if err := env.Err(); err != nil {
		log.Error("cold start", "error", err)
		os.Exit(1)
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("aws config", "error", err)
		os.Exit(1)
	}
	// Keys (partners' emails, rate-limited IPs, form tokens) are keyed
	// hashes under REFERFLOW_KEY_HASH_SECRET; preference links are signed
	// with REFERFLOW_LINK_SECRET. Both are read from SSM, cached, on use.
	secrets := settings.New(ssm.NewFromConfig(cfg), prefix, time.Now)
	keys := privacy.FromSetting(secrets.Values)
	st := store.New(dynamodb.NewFromConfig(cfg), table).WithKeys(keys)
	sfnClient := sfn.NewFromConfig(cfg)
	linkSecrets := func(ctx context.Context) ([]string, error) {
		return secrets.Values(ctx, notify.LinkSecretSetting)
	}
	h := &portal.Handler{
		Store: st,
		Partners: &partners.Service{Store: st, Mail: &mail.SES{Client: sesv2.NewFromConfig(cfg)}, SignIn: notify.SignIn,
			Welcome: partners.NotifyWelcome(linkSecrets, time.Now), From: from, Now: time.Now, Random: rand.Reader},
		Intake: &intake.Service{Store: st, DefaultProgram: defaultProgram, Now: time.Now, Random: rand.Reader, Log: log,
			Start: func(ctx context.Context, id string) error {
				return workflow.Start(ctx, sfnClient, machine, id)
			},
			StartAttempts: 3, StartBackoff: 100 * time.Millisecond,
			Metrics: metrics.New(os.Stdout, "portal", time.Now), Retention: retention},
		FormKeys:    keys,
		LinkSecrets: linkSecrets,
		Feedback:    st, // the monthly summary's score links
		PublicBase:  base, DefaultProgram: defaultProgram,
		Now: time.Now, Random: rand.Reader, Log: log,
	}
	lambda.Start(h.Handle)
}
