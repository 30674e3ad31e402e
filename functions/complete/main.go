// Command complete is the workflow's closing step, and its "Mark needs
// attention" step.
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
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

// The store closes referrals and voids their rewards.
var _ Store = (*store.Store)(nil)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
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
	client := sfn.NewFromConfig(cfg)
	st := store.New(dynamodb.NewFromConfig(cfg), table)
	h := &Handler{
		Store: st, Rewards: &rewards.Service{Repo: st, Now: time.Now}, Now: time.Now, Log: log,
		Continue: func(ctx context.Context, id, name string) error {
			return workflow.StartNamed(ctx, client, machine, id, name)
		},
		Recovery: &recovery.Service{Store: st, SFN: client, StateMachineARN: machine, Now: time.Now,
			Metrics: metrics.New(os.Stdout, "complete", time.Now)},
	}
	lambda.Start(h.Handle)
}
