// Command notify sends Referflow's emails: the target of the EventBridge
// rule of the domain events that give an email, and of a monthly schedule
// for the partners' summaries (internal/notify writes them, SES v2 sends
// them).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/referflow/referflow/internal/config"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
)

// The DynamoDB store is what the handler reads and writes; SES sends.
var (
	_ Store                  = (*store.Store)(nil)
	_ mail.Sender            = (*mail.SES)(nil)
	_ notify.PreferenceStore = (*store.Store)(nil)
)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
	prefix := env.String(config.SettingsPrefix)
	base := env.String(config.PublicBaseURL)
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
	// Claims and referees' preference links use keyed hashes of addresses
	// (REFERFLOW_KEY_HASH_SECRET); preference links are signed with
	// REFERFLOW_LINK_SECRET. Both are read from SSM, cached, on use.
	secrets := settings.New(ssm.NewFromConfig(cfg), prefix, time.Now)
	keys := privacy.FromSetting(secrets.Values)
	h := &Handler{
		Store:  store.New(dynamodb.NewFromConfig(cfg), table).WithKeys(keys),
		Sender: &mail.SES{Client: sesv2.NewFromConfig(cfg)},
		Keys:   keys,
		LinkSecrets: func(ctx context.Context) ([]string, error) {
			return secrets.Values(ctx, notify.LinkSecretSetting)
		},
		Base: base, From: from, Now: time.Now, Log: log,
		Metrics: metrics.New(os.Stdout, "notify", time.Now),
	}
	lambda.Start(h.Handle)
}
