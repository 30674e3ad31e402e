// Command rewards is the workflow's reward step (hold, then pay).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/referflow/referflow/internal/config"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/rails"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
)

// The store is what the steps read and the rewards lifecycle writes.
var (
	_ Store         = (*store.Store)(nil)
	_ payees.Source = (*store.Store)(nil)
)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
	prefix := env.String(config.SettingsPrefix)
	if err := env.Err(); err != nil {
		log.Error("cold start", "error", err)
		os.Exit(1)
	}
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("aws config", "error", err)
		os.Exit(1)
	}
	st := store.New(dynamodb.NewFromConfig(cfg), table)
	set := settings.New(ssm.NewFromConfig(cfg), prefix, time.Now)
	// The rails are built from the settings on first use, not at cold start.
	rs := rails.NewLoader(set.Get, settings.ErrMissing, st, time.Now, func(why []string) { log.Warn("payout rails left out", "why", why) })
	svc := &rewards.Service{Repo: st, Load: rs.Rails, Payees: payees.Checker{Src: st}, Now: time.Now}
	h := &Handler{Store: st, Rewards: svc, Log: log, Metrics: metrics.New(os.Stdout, "rewards", time.Now)}
	lambda.Start(h.Handle)
}
