// Command complete is the workflow's closing step.
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
	h := &Handler{
		Store: store.New(dynamodb.NewFromConfig(cfg), os.Getenv("REFERFLOW_TABLE")), Now: time.Now, Log: log,
		Continue: func(ctx context.Context, id, name string) error {
			return workflow.StartNamed(ctx, client, machine, id, name)
		},
	}
	lambda.Start(h.Handle)
}
