// Command webhook is the POST /webhooks/{provider} function.
package main

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
)

func main() {
	log := logging.New()
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("aws config", "error", err)
		os.Exit(1)
	}
	set := settings.New(ssm.NewFromConfig(cfg), os.Getenv("REFERFLOW_SETTINGS_PREFIX"), time.Now)
	reg := &Registry{Settings: set, Now: time.Now}
	ing := &crm.Ingester{
		Store: store.New(dynamodb.NewFromConfig(cfg), os.Getenv("REFERFLOW_TABLE")),
		SFN:   sfn.NewFromConfig(cfg),
		Enrichers: map[string]crm.Enricher{
			hubspot.Name: &HubSpotEnricher{Settings: set, BaseURL: os.Getenv("REFERFLOW_HUBSPOT_API_URL"), HTTP: &http.Client{Timeout: 3 * time.Second}, Log: log},
		},
		Now: time.Now, Log: log,
	}
	h := &Handler{
		Adapters:      reg.Adapter,
		Ingest:        ing.Ingest,
		PublicBaseURL: os.Getenv("REFERFLOW_PUBLIC_BASE_URL"),
		Log:           log,
		Metrics:       metrics.New(os.Stdout, "webhook", time.Now),
	}
	lambda.Start(h.Handle)
}
