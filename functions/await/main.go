// Command await is the workflow's callback step: it parks the task token.
package main

import (
	"context"
	"os"
	"strconv"
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
		ExecutionBudget: envSeconds("REFERFLOW_EXECUTION_BUDGET_SECONDS", 365*24*time.Hour),
		Slack:           envSeconds("REFERFLOW_EXECUTION_SLACK_SECONDS", 24*time.Hour),
	}
	lambda.Start(h.Invoke)
}

// envSeconds reads a duration in seconds from the environment.
func envSeconds(name string, def time.Duration) time.Duration {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return def
}
