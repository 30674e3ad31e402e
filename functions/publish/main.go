// Command publish puts every domain event the table records on the
// EventBridge bus REFERFLOW_EVENT_BUS (internal/publish). The table's
// stream invokes it with batches of new event items (template.yaml filters
// the stream); it answers which record to retry from when EventBridge did
// not take everything.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/referflow/referflow/internal/config"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/publish"
)

// The SDK's client is what the publisher puts events with.
var _ publish.EventBridge = (*eventbridge.Client)(nil)

func main() {
	log := logging.New()
	env := config.FromOS()
	bus := env.String(config.EventBus)
	if err := env.Err(); err != nil {
		log.Error("cold start", "error", err)
		os.Exit(1)
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("aws config", "error", err)
		os.Exit(1)
	}
	p := &publish.Publisher{
		Client:  eventbridge.NewFromConfig(cfg),
		Bus:     bus,
		Log:     log,
		Metrics: metrics.New(os.Stdout, "publish", time.Now),
	}
	lambda.Start(p.Handle)
}
