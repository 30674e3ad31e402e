// Command rewards is the workflow's reward step (hold, then pay).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/referflow/referflow/internal/config"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// The store is what the steps read and the rewards lifecycle writes.
var _ Store = (*store.Store)(nil)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
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
	h := &Handler{Store: st, Rewards: &rewards.Service{Repo: st, Payout: rewards.Ledger{}, Now: time.Now}, Log: log,
		Metrics: metrics.New(os.Stdout, "rewards", time.Now)}
	lambda.Start(h.Handle)
}
