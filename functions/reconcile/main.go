// Command reconcile starts workflows whose start failed after intake.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

func main() {
	log := logging.New()
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("aws config", "error", err)
		os.Exit(1)
	}
	client := sfn.NewFromConfig(cfg)
	machine := os.Getenv("REFERFLOW_STATE_MACHINE_ARN")
	grace := 30 * time.Second
	if v, err := time.ParseDuration(os.Getenv("REFERFLOW_RECONCILE_GRACE")); err == nil {
		grace = v
	}
	h := &Handler{
		Store: store.New(dynamodb.NewFromConfig(cfg), os.Getenv("REFERFLOW_TABLE")),
		Start: func(ctx context.Context, id string) error { return workflow.Start(ctx, client, machine, id) },
		Now:   time.Now, Log: log, Grace: grace,
	}
	lambda.Start(h.Handle)
}
