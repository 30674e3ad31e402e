package sam

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const eventsTemplate = `
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: PK, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: PK, AttributeType: S}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: !Sub "${AWS::StackName}-events"}
  Failures: {Type: AWS::SQS::Queue}
  Publish:
    Type: AWS::Serverless::Function
    Properties:
      Environment: {Variables: {BUS: !Ref Bus, BUS_ARN: !GetAtt Bus.Arn, BUS_NAME: !GetAtt Bus.Name}}
      Events:
        Stream:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 25
            MaximumBatchingWindowInSeconds: 1
            BisectBatchOnFunctionError: true
            MaximumRetryAttempts: 10000
            FunctionResponseTypes: [ReportBatchItemFailures]
            FilterCriteria:
              Filters:
                - Pattern: '{"eventName":["INSERT"],"dynamodb":{"Keys":{"SK":{"S":[{"prefix":"EVENT#"}]}}}}'
            DestinationConfig: {OnFailure: {Type: SQS, Destination: !GetAtt Failures.Arn}}
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      EventInvokeConfig: {MaximumRetryAttempts: 1}
      Events:
        All:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref Bus
            Pattern: {source: [referflow], detail-type: [{prefix: "reward."}]}
            RetryPolicy: {MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600}
            DeadLetterConfig: {Arn: !GetAtt Failures.Arn}
        Off:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [aws.events]}
            InputPath: $.detail
            State: DISABLED
        SamQueue:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [referflow]}
            DeadLetterConfig: {Type: SQS, QueueLogicalId: Undelivered}
        Constant:
          Type: CloudWatchEvent
          Properties:
            EventBusName: !GetAtt Bus.Arn
            Pattern: {source: [referflow]}
            Input: '{"run":"all"}'
`

func TestStreamAndRuleEventsAndBuses(t *testing.T) {
	tpl, err := Parse([]byte(eventsTemplate), "/tmp", Options{})
	if err != nil {
		t.Fatal(err)
	}
	bus := EventBus{LogicalID: "Bus", Name: "referflow-local-events", ARN: "arn:aws:events:us-east-1:123456789012:event-bus/referflow-local-events"}
	if !reflect.DeepEqual(tpl.EventBuses, []EventBus{bus}) {
		t.Errorf("buses = %+v", tpl.EventBuses)
	}
	fns := map[string]Function{}
	for _, f := range tpl.Functions {
		fns[f.LogicalID] = f
	}
	pub := fns["Publish"]
	if env := pub.Environment; env["BUS"] != bus.Name || env["BUS_ARN"] != bus.ARN || env["BUS_NAME"] != bus.Name {
		t.Errorf("Ref/GetAtt of the bus = %v", env)
	}
	wantStream := StreamEvent{
		Name: "Stream", Stream: "arn:aws:dynamodb:us-east-1:123456789012:table/referflow-local-Table/stream/1970-01-01T00:00:00.000",
		Table: "referflow-local-Table", StartingPosition: "TRIM_HORIZON", BatchSize: 25, BatchingWindow: 1,
		BisectBatchOnFunctionError: true, MaximumRetryAttempts: 10000, MaximumRecordAgeInSeconds: -1, ReportBatchItemFailures: true,
		Filters:   []string{`{"eventName":["INSERT"],"dynamodb":{"Keys":{"SK":{"S":[{"prefix":"EVENT#"}]}}}}`},
		OnFailure: "arn:aws:sqs:us-east-1:123456789012:referflow-local-Failures", Enabled: true,
	}
	if len(pub.Streams) != 1 || !reflect.DeepEqual(pub.Streams[0], wantStream) {
		t.Errorf("stream event =\n%+v\nwant\n%+v", pub.Streams, wantStream)
	}
	if pub.AsyncRetries != 2 {
		t.Errorf("default async retries = %d, want 2", pub.AsyncRetries)
	}

	con := fns["Consumer"]
	if con.AsyncRetries != 1 || len(con.Rules) != 4 {
		t.Fatalf("consumer = %+v", con)
	}
	rules := map[string]RuleEvent{}
	for _, r := range con.Rules {
		rules[r.Name] = r
	}
	all := rules["All"]
	var pattern map[string]any
	if err := json.Unmarshal([]byte(all.Pattern), &pattern); err != nil {
		t.Fatal(err)
	}
	if all.EventBus != bus.Name || all.MaximumRetryAttempts != 3 || all.MaximumEventAgeSeconds != 600 ||
		all.DeadLetter != "arn:aws:sqs:us-east-1:123456789012:referflow-local-Failures" || !all.Enabled ||
		!reflect.DeepEqual(pattern, map[string]any{"source": []any{"referflow"}, "detail-type": []any{map[string]any{"prefix": "reward."}}}) {
		t.Errorf("rule All = %+v", all)
	}
	if off := rules["Off"]; off.Enabled || off.EventBus != "default" || off.InputPath != "$.detail" || off.MaximumRetryAttempts != 185 || off.MaximumEventAgeSeconds != 86400 {
		t.Errorf("rule Off = %+v", off)
	}
	if q := rules["SamQueue"].DeadLetter; q != "arn:aws:sqs:us-east-1:123456789012:referflow-local-Undelivered" {
		t.Errorf("a dead-letter queue SAM creates = %q", q)
	}
	if c := rules["Constant"]; c.EventBus != bus.Name || c.Input != `{"run":"all"}` {
		t.Errorf("rule Constant = %+v", c)
	}
}

func TestEventErrorsNameTheEvent(t *testing.T) {
	for name, events := range map[string]string{
		"not a stream":  `{E: {Type: DynamoDB, Properties: {Stream: "arn:aws:kinesis:us-east-1:1:stream/x", StartingPosition: LATEST}}}`,
		"bad filter":    `{E: {Type: DynamoDB, Properties: {Stream: "arn:aws:dynamodb:us-east-1:1:table/t/stream/x", FilterCriteria: {Filters: [{Pattern: "{no"}]}}}}`,
		"no pattern":    `{E: {Type: EventBridgeRule, Properties: {EventBusName: b}}}`,
		"bad input":     `{E: {Type: EventBridgeRule, Properties: {Pattern: {source: [x]}, Input: "{no"}}}`,
		"bad inputpath": `{E: {Type: EventBridgeRule, Properties: {Pattern: {source: [x]}, InputPath: "detail"}}}`,
	} {
		tpl := "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events: " + events + "\n"
		_, err := Parse([]byte(tpl), "/tmp", Options{})
		if err == nil || !strings.Contains(err.Error(), "event E") {
			t.Errorf("%s: err = %v, want one naming event E", name, err)
		}
	}
}

// The repo's template: PublishFunction follows the table's stream, only
// event inserts pass its filter, and the bus is declared.
func TestRepoTemplatePublishesFromTheTableStream(t *testing.T) {
	tpl, err := Load("../../../template.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tpl.EventBuses) != 1 || tpl.EventBuses[0].Name != StackName+"-events" {
		t.Fatalf("buses = %+v", tpl.EventBuses)
	}
	var table string
	for _, tb := range tpl.Tables {
		if tb.LogicalID == "Table" {
			table = tb.Name
			if tb.StreamViewType != "NEW_IMAGE" {
				t.Errorf("table stream = %q, want NEW_IMAGE", tb.StreamViewType)
			}
		}
	}
	for _, f := range tpl.Functions {
		if f.LogicalID != "PublishFunction" {
			continue
		}
		if len(f.Streams) != 1 || f.Streams[0].Table != table || !f.Streams[0].ReportBatchItemFailures || len(f.Streams[0].Filters) != 1 {
			t.Fatalf("PublishFunction streams = %+v", f.Streams)
		}
		if f.Environment["REFERFLOW_EVENT_BUS"] != tpl.EventBuses[0].Name {
			t.Errorf("REFERFLOW_EVENT_BUS = %q", f.Environment["REFERFLOW_EVENT_BUS"])
		}
		return
	}
	t.Fatal("no PublishFunction")
}
