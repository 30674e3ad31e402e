// Command admin is the admin API: GET /admin/referrals/{id}, the manual
// review decision, reward approvals and the erasure of a person's personal
// data. Its routes are IAM-authorised in template.yaml; the function does no
// authentication of its own.
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
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/privacy"
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
)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
	prefix := env.String(config.SettingsPrefix)
	machine := env.String(config.StateMachineARN)
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
	h := &Handler{
		Store:   st,
		People:  st,
		Rewards: &rewards.Service{Repo: st, Payout: rewards.Ledger{}, Now: time.Now},
		SFN:     client,
		Resumer: &recovery.Service{Store: st, SFN: client, StateMachineARN: machine, Now: time.Now,
			Metrics: metrics.New(os.Stdout, "admin", time.Now)},
		Now: time.Now, Log: log,
	}
	lambda.Start(h.Handle)
}
