// Command admin is the admin API: GET /admin/referrals/{id}, the manual
// review decision and reward approvals. Its routes are IAM-authorised in
// template.yaml; the function does no authentication of its own.
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
)

func main() {
	log := logging.New()
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("aws config", "error", err)
		os.Exit(1)
	}
	h := &Handler{
		Store: store.New(dynamodb.NewFromConfig(cfg), os.Getenv("REFERFLOW_TABLE")),
		SFN:   sfn.NewFromConfig(cfg),
		Now:   time.Now, Log: log,
	}
	lambda.Start(h.Handle)
}
