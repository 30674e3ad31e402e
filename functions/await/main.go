// Command await is the workflow's callback step: it parks the task token.
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
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
)

// The DynamoDB store is what the handler reads and writes.
var _ Store = (*store.Store)(nil)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
	prefix := env.String(config.SettingsPrefix)
	budget, slack := env.Duration(config.ExecutionBudget), env.Duration(config.ExecutionSlack)
	if err := env.Err(); err != nil {
		log.Error("cold start", "error", err)
		os.Exit(1)
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("aws config", "error", err)
		os.Exit(1)
	}
	sfnClient := sfn.NewFromConfig(cfg)
	// CRM events parked under the referee's email (its keyed hash, under
	// the REFERFLOW_KEY_HASH_SECRET setting) are applied before a wait.
	secrets := settings.New(ssm.NewFromConfig(cfg), prefix, time.Now)
	st := store.New(dynamodb.NewFromConfig(cfg), table).WithKeys(privacy.FromSetting(secrets.Values))
	ing := &crm.Ingester{
		Store:   st,
		Rewards: &rewards.Service{Repo: st, Now: time.Now},
		SFN:     sfnClient,
		Now:     time.Now, Log: log,
	}
	h := &Handler{
		Store: st,
		SFN:   sfnClient,
		Now:   time.Now, Log: log,
		ExecutionBudget: budget, Slack: slack,
		Adopt: ing.AdoptReferral,
	}
	lambda.Start(h.Invoke)
}
