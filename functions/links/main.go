// Command links is the GET /r/{code}, GET /embed.js and
// GET /embed/settings/{program} function: referral links with click
// counting, and the embeddable referral form.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/referflow/referflow/internal/config"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
)

// The DynamoDB store is what the handler reads and writes.
var _ Store = (*store.Store)(nil)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
	defaultProgram := env.String(config.DefaultProgram)
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
	// Visitors are counted under a keyed hash of their IP address and
	// User-Agent (REFERFLOW_KEY_HASH_SECRET), never the values.
	secrets := settings.New(ssm.NewFromConfig(cfg), prefix, time.Now)
	h := &Handler{
		Store:          store.New(dynamodb.NewFromConfig(cfg), table).WithKeys(privacy.FromSetting(secrets.Values)),
		DefaultProgram: defaultProgram,
		Now:            time.Now,
		Log:            log,
		Metrics:        metrics.New(os.Stdout, "links", time.Now),
	}
	lambda.Start(h.Handle)
}
