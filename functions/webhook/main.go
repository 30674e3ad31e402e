// Command webhook is the POST /webhooks/{provider} function.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/referflow/referflow/internal/config"
	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/providers"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
	prefix := env.String(config.SettingsPrefix)
	publicBaseURL := env.Optional(config.PublicBaseURL)
	defaultProgram := env.Optional(config.DefaultProgram) // its unlinked_events_ttl
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
	reg := &Registry{Providers: providers.All(), Settings: set, Now: time.Now}
	// Deals are linked to referrals by the keyed hash of the referee's email.
	st := store.New(dynamodb.NewFromConfig(cfg), table).WithKeys(privacy.FromSetting(set.Values))
	ing := &crm.Ingester{
		Store:     st,
		Rewards:   &rewards.Service{Repo: st, Now: time.Now},
		SFN:       sfn.NewFromConfig(cfg),
		Enrichers: reg.Enrichers(log),
		Now:       time.Now, Log: log,
		// Events about deals not linked yet are kept this program's TTL.
		DefaultProgram: defaultProgram,
	}
	if defaultProgram != "" {
		// Deals no referral is linked to are counted for its KPIs' lift.
		ing.Observe = []string{defaultProgram}
	}
	h := &Handler{
		Adapters:      reg.Adapter,
		Ingest:        ing.Ingest,
		PublicBaseURL: publicBaseURL,
		Log:           log,
		Metrics:       metrics.New(os.Stdout, "webhook", time.Now),
	}
	lambda.Start(h.Handle)
}
