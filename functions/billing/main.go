// Command billing is the POST /webhooks/stripe function: Stripe Billing
// events become subscription rewards (internal/billing).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/referflow/referflow/internal/billing"
	"github.com/referflow/referflow/internal/config"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
)

var (
	_ billing.Store      = (*store.Store)(nil)
	_ billing.Rewards    = (*rewards.Service)(nil)
	_ rewards.Repository = (*store.Store)(nil)
)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
	prefix := env.String(config.SettingsPrefix)
	if err := env.Err(); err != nil {
		log.Error("cold start", "error", err)
		os.Exit(1)
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("aws config", "error", err)
		os.Exit(1)
	}
	set := settings.New(ssm.NewFromConfig(cfg), prefix, time.Now)
	// Customers are linked by email through the keyed hash of the referee's email.
	st := store.New(dynamodb.NewFromConfig(cfg), table).WithKeys(privacy.FromSetting(set.Values))
	h := &billing.Handler{
		Secrets: func(ctx context.Context) ([]string, error) { return set.Values(ctx, billing.SettingSecret) },
		Processor: &billing.Processor{
			Store: st,
			// Rewards are created and filed here; the payouts runner pays them.
			Rewards: &rewards.Service{Repo: st, Now: time.Now},
			Now:     time.Now,
		},
		Now:     time.Now,
		Log:     log,
		Metrics: metrics.New(os.Stdout, "billing", time.Now),
	}
	lambda.Start(h.Handle)
}
