package sam

import (
	"encoding/json"
	"fmt"
	"strings"
)

// StreamEvent is a function event of Type DynamoDB: a Lambda event source
// mapping on a table's stream.
type StreamEvent struct {
	Name string
	// Stream is the stream ARN as the template resolves it; Table is the
	// table's name, read from it (arn:…:table/<name>/stream/<label>).
	Stream, Table    string
	StartingPosition string // TRIM_HORIZON or LATEST
	BatchSize        int    // default 100
	// MaximumBatchingWindowInSeconds (0: invoke as soon as records arrive).
	BatchingWindow             int
	BisectBatchOnFunctionError bool
	// MaximumRetryAttempts and MaximumRecordAgeInSeconds: -1 (the default)
	// means until the record expires from the stream.
	MaximumRetryAttempts      int
	MaximumRecordAgeInSeconds int
	// ReportBatchItemFailures is FunctionResponseTypes containing it: the
	// function's batchItemFailures decide where a retry starts.
	ReportBatchItemFailures bool
	// Filters are FilterCriteria.Filters[].Pattern, each a JSON event
	// pattern; a record passes when any matches (or when there is none).
	Filters []string
	// OnFailure is DestinationConfig.OnFailure.Destination ("" if none).
	OnFailure string
	Enabled   bool
}

// RuleEvent is a function event of Type EventBridgeRule (or
// CloudWatchEvent): a rule on an event bus whose target is the function.
type RuleEvent struct {
	Name string
	// EventBus is the bus's name (EventBusName, a name or an ARN in the
	// template; "default" when absent).
	EventBus string
	// Pattern is the rule's event pattern as JSON.
	Pattern string
	// Input is a constant JSON text given to the function instead of the
	// event; InputPath a JSONPath ($ or $.a.b) selecting part of it.
	Input, InputPath string
	// Retry is the target's RetryPolicy: attempts after the first (default
	// 185) within MaximumEventAgeSeconds (default 86400).
	MaximumRetryAttempts   int
	MaximumEventAgeSeconds int
	// DeadLetter is DeadLetterConfig's queue ARN ("" if none).
	DeadLetter string
	Enabled    bool
}

// EventBus is an AWS::Events::EventBus.
type EventBus struct {
	LogicalID, Name, ARN string
}

// EventBusARN is the ARN of the named bus.
func EventBusARN(name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", Region, AccountID, name)
}

// busName returns the name of a bus given by name or ARN.
func busName(s string) string {
	if _, name, ok := strings.Cut(s, ":event-bus/"); ok {
		return name
	}
	if s == "" {
		return "default"
	}
	return s
}

// streamEvent reads the Properties of a DynamoDB event.
func streamEvent(name string, ep map[string]any) (StreamEvent, error) {
	e := StreamEvent{
		Name:             name,
		Stream:           toString(ep["Stream"]),
		StartingPosition: toString(ep["StartingPosition"]),
		Enabled:          asBool(ep["Enabled"], true),
		OnFailure:        toString(asMap(asMap(ep["DestinationConfig"])["OnFailure"])["Destination"]),
	}
	if _, rest, ok := strings.Cut(e.Stream, ":table/"); ok {
		e.Table, _, _ = strings.Cut(rest, "/")
	}
	if e.Table == "" {
		return e, fmt.Errorf("event %s: Stream %q is not a table's stream ARN", name, e.Stream)
	}
	var err error
	for _, n := range []struct {
		key string
		to  *int
		def int
	}{
		{"BatchSize", &e.BatchSize, 100}, {"MaximumBatchingWindowInSeconds", &e.BatchingWindow, 0},
		{"MaximumRetryAttempts", &e.MaximumRetryAttempts, -1}, {"MaximumRecordAgeInSeconds", &e.MaximumRecordAgeInSeconds, -1},
	} {
		if *n.to, err = asInt(ep[n.key], n.def); err != nil {
			return e, fmt.Errorf("event %s: %s: %w", name, n.key, err)
		}
	}
	e.BisectBatchOnFunctionError = asBool(ep["BisectBatchOnFunctionError"], false)
	for _, t := range asStrings(ep["FunctionResponseTypes"]) {
		e.ReportBatchItemFailures = e.ReportBatchItemFailures || t == "ReportBatchItemFailures"
	}
	for _, f := range asList(asMap(ep["FilterCriteria"])["Filters"]) {
		p, err := patternJSON(asMap(f)["Pattern"])
		if err != nil {
			return e, fmt.Errorf("event %s: FilterCriteria: %w", name, err)
		}
		e.Filters = append(e.Filters, p)
	}
	return e, nil
}

// ruleEvent reads the Properties of an EventBridgeRule event.
func ruleEvent(name string, ep map[string]any) (RuleEvent, error) {
	e := RuleEvent{
		Name:       name,
		EventBus:   busName(toString(ep["EventBusName"])),
		InputPath:  toString(ep["InputPath"]),
		DeadLetter: toString(asMap(ep["DeadLetterConfig"])["Arn"]),
		Enabled:    asBool(ep["Enabled"], true) && toString(ep["State"]) != "DISABLED",
	}
	if dl := asMap(ep["DeadLetterConfig"]); e.DeadLetter == "" && toString(dl["Type"]) == "SQS" {
		// A queue SAM creates: QueueLogicalId names it.
		q := toString(dl["QueueLogicalId"])
		if q == "" {
			q = name + "Queue"
		}
		e.DeadLetter = fmt.Sprintf("arn:aws:sqs:%s:%s:%s-%s", Region, AccountID, StackName, q)
	}
	if in, ok := ep["Input"]; ok {
		e.Input = toString(in)
		if !json.Valid([]byte(e.Input)) {
			return e, fmt.Errorf("event %s: Input is not JSON", name)
		}
	}
	if e.InputPath != "" && e.InputPath != "$" && !strings.HasPrefix(e.InputPath, "$.") {
		return e, fmt.Errorf("event %s: InputPath %q: only $ and $.a.b paths are supported locally", name, e.InputPath)
	}
	var err error
	if e.Pattern, err = patternJSON(ep["Pattern"]); err != nil {
		return e, fmt.Errorf("event %s: Pattern: %w", name, err)
	}
	retry := asMap(ep["RetryPolicy"])
	if e.MaximumRetryAttempts, err = asInt(retry["MaximumRetryAttempts"], 185); err != nil {
		return e, fmt.Errorf("event %s: RetryPolicy: %w", name, err)
	}
	if e.MaximumEventAgeSeconds, err = asInt(retry["MaximumEventAgeInSeconds"], 86400); err != nil {
		return e, fmt.Errorf("event %s: RetryPolicy: %w", name, err)
	}
	return e, nil
}

// patternJSON returns an event pattern given as a map or as JSON text, as
// JSON text.
func patternJSON(v any) (string, error) {
	switch p := v.(type) {
	case nil:
		return "", fmt.Errorf("missing")
	case string:
		var m map[string]any
		if err := json.Unmarshal([]byte(p), &m); err != nil {
			return "", fmt.Errorf("not a JSON object: %w", err)
		}
		return p, nil
	case map[string]any:
		b, err := json.Marshal(p)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	return "", fmt.Errorf("want an object, got %T", v)
}

func (t *Template) eventBus(r *resource) (EventBus, error) {
	nameV, err := t.resourceRef(r, 0)
	if err != nil {
		return EventBus{}, err
	}
	name := toString(nameV)
	return EventBus{LogicalID: r.LogicalID, Name: name, ARN: EventBusARN(name)}, nil
}
