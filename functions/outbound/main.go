// Command outbound sends domain events to the operator's webhook endpoints
// (internal/outbound): invoked by the EventBridge rule with every referflow
// event, it creates each subscribed endpoint's delivery once and makes its
// first attempt; invoked every minute by its schedule, it makes the retries
// that are due. Its HTTP goes through a client with a timeout that follows
// no redirect (and, locally, through the egress guard: HTTP(S)_PROXY).
package main

import (
	"context"
	"crypto/rand"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/referflow/referflow/internal/config"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/outbound"
	"github.com/referflow/referflow/internal/store"
)

// The DynamoDB store keeps endpoints and deliveries; the outbound service
// makes them.
var (
	_ outbound.Store = (*store.Store)(nil)
	_ Deliverer      = (*outbound.Service)(nil)
)

func main() {
	log := logging.New()
	env := config.FromOS()
	table := env.String(config.Table)
	raw := env.String(outbound.ScheduleSetting)
	if err := env.Err(); err != nil {
		log.Error("cold start", "error", err)
		os.Exit(1)
	}
	schedule, err := outbound.ParseSchedule(raw)
	if err != nil {
		log.Error("cold start", "error", err, "variable", outbound.ScheduleSetting)
		os.Exit(1)
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("aws config", "error", err)
		os.Exit(1)
	}
	h := &Handler{Log: log, Out: &outbound.Service{
		Store: store.New(dynamodb.NewFromConfig(cfg), table), Client: outbound.NewClient(),
		Schedule: schedule, Now: time.Now, Rand: rand.Reader, DisableAfter: outbound.DefaultDisableAfter,
		CacheTTL: 30 * time.Second, Log: log, Metrics: metrics.New(os.Stdout, "outbound", time.Now),
	}}
	lambda.Start(h.Handle)
}
