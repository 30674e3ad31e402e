// Command writer is a fixture function that writes to DynamoDB and reads a
// setting from SSM, both through AWS_ENDPOINT_URL.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

type handler struct {
	db  *dynamodb.Client
	ssm *ssm.Client
}

func (h handler) handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var in struct {
		Source string `json:"source"`
		Body   string `json:"body"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, err
	}
	id := fmt.Sprintf("tick#%d", time.Now().UnixNano())
	if in.Source != "tick" {
		var body struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(in.Body), &body); err != nil || body.ID == "" {
			return map[string]any{"statusCode": 400, "body": `{"error":"id"}`}, nil
		}
		id = body.ID
	}
	_, err := h.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(os.Getenv("TABLE_NAME")),
		Item: map[string]types.AttributeValue{
			"pk":     &types.AttributeValueMemberS{Value: id},
			"sk":     &types.AttributeValueMemberS{Value: "item"},
			"status": &types.AttributeValueMemberS{Value: "new"},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("put item: %w", err)
	}
	p, err := h.ssm.GetParameter(ctx, &ssm.GetParameterInput{
		Name:           aws.String(os.Getenv("REFERFLOW_SETTINGS_PREFIX") + "REFERFLOW_ADMIN_TOKEN"),
		WithDecryption: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get parameter: %w", err)
	}
	out, _ := json.Marshal(map[string]any{"id": id, "admin_token": aws.ToString(p.Parameter.Value)})
	return map[string]any{"statusCode": 200, "body": string(out)}, nil
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err)
	}
	lambda.Start(handler{db: dynamodb.NewFromConfig(cfg), ssm: ssm.NewFromConfig(cfg)}.handle)
}
