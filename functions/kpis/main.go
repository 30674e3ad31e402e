// Command kpis keeps the KPI counters: the target of the EventBridge rule
// of every Referflow domain event (internal/kpis says what each adds; the
// store applies it once per event id).
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
	"github.com/referflow/referflow/internal/store"
)

// The DynamoDB store is what the handler reads and writes.
var (
	_ Store     = (*store.Store)(nil)
	_ DealStore = (*store.Store)(nil)
)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
	defaultProgram := env.Optional(config.DefaultProgram) // the webhook observes deals under it
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
	h := &Handler{Store: st, Deals: st, Now: time.Now, Log: log}
	if defaultProgram != "" {
		h.Observed = []string{defaultProgram}
	}
	lambda.Start(h.Handle)
}
