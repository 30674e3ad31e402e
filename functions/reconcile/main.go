// Command reconcile starts workflows whose start failed after intake.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/referflow/referflow/internal/config"
	"github.com/referflow/referflow/internal/logging"
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
	grace := env.Duration(config.ReconcileGrace)
	if err := env.Err(); err != nil {
		log.Error("cold start", "error", err)
		os.Exit(1)
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("aws config", "error", err)
		os.Exit(1)
	}
	client := sfn.NewFromConfig(cfg)
	h := &Handler{
		Store: store.New(dynamodb.NewFromConfig(cfg), table),
		Start: func(ctx context.Context, id string) error { return workflow.Start(ctx, client, machine, id) },
		Now:   time.Now, Log: log, Grace: grace,
	}
	lambda.Start(h.Handle)
}
