package stack

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/referflow/referflow/infra/local/awsapi"
	"github.com/referflow/referflow/infra/local/eventbus"
	"github.com/referflow/referflow/infra/local/mailbox"
	"github.com/referflow/referflow/infra/local/sam"
)

func createTables(ctx context.Context, cfg aws.Config, tpl *sam.Template, st *Stack) error {
	names, err := CreateTables(ctx, dynamodb.NewFromConfig(cfg), tpl.Tables)
	for id, name := range names {
		st.Tables[id] = name
	}
	return err
}

// CreateTables creates tables as the template declares them (keys,
// indexes, streams, TTL) and returns their names by logical id. Store tests
// use it so they run against the deployed schema.
func CreateTables(ctx context.Context, db *dynamodb.Client, tables []sam.Table) (map[string]string, error) {
	names := map[string]string{}
	for _, t := range tables {
		in := &dynamodb.CreateTableInput{
			TableName:   aws.String(t.Name),
			BillingMode: ddbtypes.BillingMode(t.BillingMode),
		}
		for _, k := range t.KeySchema {
			in.KeySchema = append(in.KeySchema, ddbtypes.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: ddbtypes.KeyType(k.KeyType)})
		}
		for _, a := range t.AttributeDefinitions {
			in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{AttributeName: aws.String(a.AttributeName), AttributeType: ddbtypes.ScalarAttributeType(a.AttributeType)})
		}
		if t.ProvisionedThroughput != nil {
			in.ProvisionedThroughput = throughput(t.ProvisionedThroughput)
		}
		for _, g := range t.GlobalSecondaryIndexes {
			in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
				IndexName: aws.String(g.IndexName), KeySchema: keySchema(g.KeySchema), Projection: projection(g),
				ProvisionedThroughput: throughput(g.ProvisionedThroughput),
			})
		}
		for _, l := range t.LocalSecondaryIndexes {
			in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, ddbtypes.LocalSecondaryIndex{
				IndexName: aws.String(l.IndexName), KeySchema: keySchema(l.KeySchema), Projection: projection(l),
			})
		}
		if t.StreamViewType != "" {
			in.StreamSpecification = &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(t.StreamViewType)}
		}
		if _, err := db.CreateTable(ctx, in); err != nil {
			return names, fmt.Errorf("create table %s (%s): %w", t.LogicalID, t.Name, err)
		}
		if t.TimeToLive != nil && t.TimeToLive.Enabled {
			_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
				TableName:               aws.String(t.Name),
				TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(t.TimeToLive.AttributeName), Enabled: aws.Bool(true)},
			})
			if err != nil {
				return names, fmt.Errorf("time to live of table %s: %w", t.LogicalID, err)
			}
		}
		names[t.LogicalID] = t.Name
	}
	return names, nil
}

func keySchema(ks []sam.KeyElement) []ddbtypes.KeySchemaElement {
	out := make([]ddbtypes.KeySchemaElement, 0, len(ks))
	for _, k := range ks {
		out = append(out, ddbtypes.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: ddbtypes.KeyType(k.KeyType)})
	}
	return out
}

func projection(i sam.SecondaryIndex) *ddbtypes.Projection {
	p := &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionType(i.ProjectionType)}
	if len(i.NonKeyAttributes) > 0 {
		p.NonKeyAttributes = i.NonKeyAttributes
	}
	return p
}

func throughput(t *sam.Throughput) *ddbtypes.ProvisionedThroughput {
	if t == nil {
		return nil
	}
	return &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(t.ReadCapacityUnits), WriteCapacityUnits: aws.Int64(t.WriteCapacityUnits)}
}

func createStateMachines(ctx context.Context, cfg aws.Config, tpl *sam.Template, st *Stack) error {
	client := sfn.NewFromConfig(cfg)
	for _, sm := range tpl.StateMachines {
		def, err := sm.RenderDefinition()
		if err != nil {
			return err
		}
		out, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name:       aws.String(sm.Name),
			Definition: aws.String(def),
			RoleArn:    aws.String(fmt.Sprintf("arn:aws:iam::%s:role/%s-%sRole", sam.AccountID, sam.StackName, sm.LogicalID)),
			Type:       sfntypes.StateMachineType(sm.Type),
		})
		if err != nil {
			return fmt.Errorf("create state machine %s: %w", sm.LogicalID, err)
		}
		st.StateMachines[sm.LogicalID] = aws.ToString(out.StateMachineArn)
	}
	return nil
}

func putSettings(ctx context.Context, cfg aws.Config, prefix string, values map[string]string) error {
	if prefix == "" {
		return nil
	}
	client := ssm.NewFromConfig(cfg)
	for _, name := range sortedKeys(values) {
		if values[name] == "" {
			continue // unset: the function uses its documented default
		}
		_, err := client.PutParameter(ctx, &ssm.PutParameterInput{
			Name:      aws.String(prefix + name),
			Value:     aws.String(values[name]),
			Type:      ssmtypes.ParameterTypeSecureString,
			Overwrite: aws.Bool(true),
		})
		if err != nil {
			return fmt.Errorf("put setting %s%s: %w", prefix, name, err)
		}
	}
	return nil
}

// createEventBuses creates the template's EventBridge buses in moto, so
// PutEvents to them is accepted as on AWS.
func createEventBuses(ctx context.Context, cfg aws.Config, tpl *sam.Template) error {
	client := eventbridge.NewFromConfig(cfg)
	for _, b := range tpl.EventBuses {
		if _, err := client.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(b.Name)}); err != nil {
			return fmt.Errorf("create event bus %s (%s): %w", b.LogicalID, b.Name, err)
		}
	}
	return nil
}

// newEventBus returns the local bus that delivers what the functions put on
// the template's buses to their EventBridgeRule targets, through the
// function pools (a fault plan applies to those invocations too).
func newEventBus(tpl *sam.Template, ep *awsapi.Endpoint, logger *log.Logger) (*eventbus.Bus, error) {
	rules, err := eventbus.Rules(tpl)
	if err != nil {
		return nil, err
	}
	invoke := func(ctx context.Context, function string, payload []byte) (string, error) {
		pool, ok := ep.Pool(function)
		if !ok {
			return "", fmt.Errorf("no function %s", function)
		}
		res, err := pool.Invoke(ctx, payload)
		if err != nil {
			return "", err
		}
		if res = ep.AfterInvoke(function, res); res.FunctionError != "" {
			return truncate(res.Payload), nil
		}
		return "", nil
	}
	return eventbus.New(eventbus.Options{Rules: rules, Invoke: invoke, Log: logger}), nil
}

// busNames are the names of the template's buses.
func busNames(tpl *sam.Template) []string {
	names := make([]string, 0, len(tpl.EventBuses))
	for _, b := range tpl.EventBuses {
		names = append(names, b.Name)
	}
	return names
}

// createEmailIdentities creates the template's SES identities in moto, so
// it accepts mail from their addresses (and refuses other senders, as SES
// does from unverified ones).
func createEmailIdentities(ctx context.Context, cfg aws.Config, tpl *sam.Template, logger *log.Logger) error {
	ids, err := mailbox.CreateIdentities(ctx, sesv2.NewFromConfig(cfg), tpl)
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		logger.Printf("SES identities: %v (mail from them is kept at %s)", ids, mailbox.Path)
	}
	return nil
}
