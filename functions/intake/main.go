// Command intake is the POST /referrals function.
package main

import (
	"context"
	"crypto/rand"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/referflow/referflow/internal/config"
	"github.com/referflow/referflow/internal/intake"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

// The DynamoDB store is what intake reads and writes.
var _ intake.Store = (*store.Store)(nil)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
	machine := env.String(config.StateMachineARN)
	defaultProgram := env.String(config.DefaultProgram)
	retention := env.Days(config.PersonalDataRetentionDays)
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
	sfnClient := sfn.NewFromConfig(cfg)
	// Dedupe and lookup keys are keyed hashes of the referee's email and
	// domain, under the secrets of the REFERFLOW_KEY_HASH_SECRET setting.
	secrets := settings.New(ssm.NewFromConfig(cfg), prefix, time.Now)
	svc := &intake.Service{
		Store: store.New(dynamodb.NewFromConfig(cfg), table).WithKeys(privacy.FromSetting(secrets.Values)),
		Start: func(ctx context.Context, id string) error {
			return workflow.Start(ctx, sfnClient, machine, id)
		},
		DefaultProgram: defaultProgram,
		Now:            time.Now,
		Random:         rand.Reader,
		Log:            log,
		StartAttempts:  3,
		StartBackoff:   100 * time.Millisecond,
		Metrics:        metrics.New(os.Stdout, "intake", time.Now),
		Retention:      retention,
	}
	h := &Handler{Intake: svc, Log: log, Random: rand.Reader}
	lambda.Start(h.Handle)
}
