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

	"github.com/referflow/referflow/internal/config"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

// The DynamoDB store is what the handler reads and writes.
var _ Store = (*store.Store)(nil)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
	machine := env.String(config.StateMachineARN)
	defaultProgram := env.String(config.DefaultProgram)
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
	h := &Handler{
		Store: store.New(dynamodb.NewFromConfig(cfg), table),
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
	}
	lambda.Start(h.Handle)
}
