// Command reconcile keeps every referral still moving in a running
// execution: it starts missing ones, resumes ended ones, and marks
// needs_attention those that keep failing (internal/recovery).
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
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/store"
)

// The DynamoDB store is what the handler reads and writes.
var (
	_ Store   = (*store.Store)(nil)
	_ Checker = (*recovery.Service)(nil)
)

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
	st := store.New(dynamodb.NewFromConfig(cfg), table)
	em := metrics.New(os.Stdout, "reconcile", time.Now)
	h := &Handler{
		Store: st,
		Recovery: &recovery.Service{Store: st, SFN: sfn.NewFromConfig(cfg), StateMachineARN: machine, Now: time.Now,
			Metrics: em},
		Now: time.Now, Log: log, Grace: grace, Metrics: em,
	}
	lambda.Start(h.Handle)
}
