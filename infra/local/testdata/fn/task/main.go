// Command task is a fixture Step Functions task: it records its input in
// DynamoDB (and a task token when asked), or fails with a custom error type.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// FixtureError is the custom error type Retry/Catch tests match on.
type FixtureError struct{ Msg string }

func (e *FixtureError) Error() string { return e.Msg }

type input struct {
	ReferralID string `json:"referral_id"`
	Mode       string `json:"mode"`
	Token      string `json:"token"`
}

type handler struct{ db *dynamodb.Client }

func (h handler) handle(ctx context.Context, in input) (map[string]any, error) {
	switch in.Mode {
	case "fail":
		return nil, &FixtureError{Msg: "failing on purpose for " + in.ReferralID}
	case "echo":
		return map[string]any{"echo": in}, nil
	}
	item := map[string]types.AttributeValue{
		"pk":     &types.AttributeValueMemberS{Value: "referral#" + in.ReferralID},
		"sk":     &types.AttributeValueMemberS{Value: in.Mode},
		"status": &types.AttributeValueMemberS{Value: "seen"},
	}
	if in.Token != "" {
		item["token"] = &types.AttributeValueMemberS{Value: in.Token}
	}
	if _, err := h.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(os.Getenv("TABLE_NAME")), Item: item}); err != nil {
		return nil, fmt.Errorf("put item: %w", err)
	}
	return map[string]any{"ok": true, "referral_id": in.ReferralID, "mode": in.Mode}, nil
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err)
	}
	lambda.Start(handler{db: dynamodb.NewFromConfig(cfg)}.handle)
}
