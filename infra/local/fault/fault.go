// Package fault injects the failures a fault plan names into the local
// stack, so that recovery, retries and exactly-once payment are tested
// under the faults AWS really produces:
//
//   - a named function crashes (Runtime.ExitError) or times out
//     (Sandbox.Timedout) after its writes have committed: the invocation
//     runs to the end, then its caller is told it failed;
//   - DynamoDB answers throttling (ProvisionedThroughputExceededException)
//     or cancels a transaction for a TransactionConflict, before anything is
//     written;
//   - Step Functions refuses StartExecution and SendTask* (throttling or a
//     service error), before anything happens.
//
// Faults hit only what the functions call (never the test harness reading
// the table), at the rates of the plan, drawn from a seeded source so a run
// can be repeated. The plan comes from REFERFLOW_LOCAL_FAULTS: inline JSON
// (starting with "{") or the path of a JSON file. Webhook duplication,
// delay and reordering are the sender's part; the plan carries them for the
// chaos driver (infra/e2e).
//
// This is hand-written because it sits inside the local emulation (the AWS
// endpoint and the Lambda runtime of infra/local); no library injects
// faults at that seam.
package fault

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/referflow/referflow/infra/local/lambdaemu"
)

// Env names the variable that holds the plan.
const Env = "REFERFLOW_LOCAL_FAULTS"

// Plan is what to inject, as rates in [0, 1].
type Plan struct {
	Seed uint64 `json:"seed"`
	// Functions by logical id (e.g. "RewardsFunction"); "*" applies to
	// every function without an entry of its own.
	Functions     map[string]FunctionFaults `json:"functions"`
	DynamoDB      DynamoDBFaults            `json:"dynamodb"`
	StepFunctions StepFunctionsFaults       `json:"stepfunctions"`
	Webhooks      WebhookFaults             `json:"webhooks"`
}

// FunctionFaults fail an invocation after it ran.
type FunctionFaults struct {
	CrashAfter float64 `json:"crash_after"` // Runtime.ExitError once the handler returned
	Timeout    float64 `json:"timeout"`     // Sandbox.Timedout once the handler returned
}

// DynamoDBFaults refuse a function's DynamoDB request before it applies.
type DynamoDBFaults struct {
	Throttle float64 `json:"throttle"` // any operation
	Conflict float64 `json:"conflict"` // TransactWriteItems: TransactionConflict
}

// StepFunctionsFaults refuse a function's Step Functions request.
type StepFunctionsFaults struct {
	StartExecution float64 `json:"start_execution"` // StartExecution fails
	SendTask       float64 `json:"send_task"`       // SendTaskSuccess / SendTaskFailure fail
}

// WebhookFaults are applied by the sender of webhook deliveries.
type WebhookFaults struct {
	Duplicate float64 `json:"duplicate"` // a delivery is sent twice
	DelayMS   int     `json:"delay_ms"`  // up to this long before a delivery
	Reorder   bool    `json:"reorder"`   // deliveries of one referral may overtake each other
}

// Load reads the plan named by getenv(Env); nil when none is set.
func Load(getenv func(string) string) (*Plan, error) {
	v := strings.TrimSpace(getenv(Env))
	if v == "" {
		return nil, nil
	}
	raw := []byte(v)
	if !strings.HasPrefix(v, "{") {
		b, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("fault plan: %w", err)
		}
		raw = b
	}
	var p Plan
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("fault plan %s: %w", Env, err)
	}
	return &p, p.validate()
}

func (p *Plan) validate() error {
	rates := map[string]float64{"dynamodb.throttle": p.DynamoDB.Throttle, "dynamodb.conflict": p.DynamoDB.Conflict,
		"stepfunctions.start_execution": p.StepFunctions.StartExecution, "stepfunctions.send_task": p.StepFunctions.SendTask,
		"webhooks.duplicate": p.Webhooks.Duplicate}
	for name, f := range p.Functions {
		rates["functions."+name+".crash_after"], rates["functions."+name+".timeout"] = f.CrashAfter, f.Timeout
	}
	for name, r := range rates {
		if r < 0 || r > 1 {
			return fmt.Errorf("fault plan: %s = %v is not a rate between 0 and 1", name, r)
		}
	}
	return nil
}

// Injector draws the faults of a plan. A nil *Injector injects nothing.
type Injector struct {
	plan Plan
	mu   sync.Mutex
	rng  *rand.Rand
	hits map[string]int
}

// New returns an injector for p; nil when p is nil.
func New(p *Plan) *Injector {
	if p == nil {
		return nil
	}
	return &Injector{plan: *p, rng: rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15)), hits: map[string]int{}}
}

// draw reports whether a fault of rate happens, counting it under name.
func (in *Injector) draw(rate float64, name string) bool {
	if rate <= 0 {
		return false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.rng.Float64() >= rate {
		return false
	}
	in.hits[name]++
	return true
}

// Hits returns how many faults of each kind were injected so far, as
// "kind target" lines sorted by name.
func (in *Injector) Hits() map[string]int {
	out := map[string]int{}
	if in == nil {
		return out
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for k, v := range in.hits {
		out[k] = v
	}
	return out
}

// HitNames lists Hits' keys in order (for printing).
func HitNames(h map[string]int) []string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func (in *Injector) function(name string) FunctionFaults {
	if f, ok := in.plan.Functions[name]; ok {
		return f
	}
	return in.plan.Functions["*"]
}

// Failure is the AWS error answer sent instead of forwarding a request.
type Failure struct {
	Status int
	Body   []byte // the JSON error document (protocol awsJson1_0)
}

// BeforeAWS decides whether a function's AWS request fails before it
// reaches the service: op is "service/Operation" (as awsapi names it),
// body the request body.
func (in *Injector) BeforeAWS(op string, body []byte) (Failure, bool) {
	if in == nil {
		return Failure{}, false
	}
	service, name, _ := strings.Cut(op, "/")
	switch {
	case service == "dynamodb" && name == "TransactWriteItems" && in.draw(in.plan.DynamoDB.Conflict, "dynamodb TransactionConflict"):
		return conflict(body), true
	case service == "dynamodb" && in.draw(in.plan.DynamoDB.Throttle, "dynamodb throttling "+name):
		return awsError(400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
			"The level of configured provisioned throughput for the table was exceeded (injected by the fault plan)"), true
	case service == "states" && name == "StartExecution" && in.draw(in.plan.StepFunctions.StartExecution, "states StartExecution"):
		return awsError(400, "ThrottlingException", "Rate exceeded (injected by the fault plan)"), true
	case service == "states" && strings.HasPrefix(name, "SendTask") && in.draw(in.plan.StepFunctions.SendTask, "states "+name):
		return awsError(500, "InternalFailure", "The request processing has failed because of an unknown error (injected by the fault plan)"), true
	}
	return Failure{}, false
}

// conflict is DynamoDB's answer to a transaction cancelled by a concurrent
// one: a TransactionConflict reason for the first item, None for the rest.
func conflict(body []byte) Failure {
	var req struct{ TransactItems []json.RawMessage }
	_ = json.Unmarshal(body, &req)
	reasons := make([]map[string]string, max(len(req.TransactItems), 1))
	codes := make([]string, len(reasons))
	for i := range reasons {
		reasons[i], codes[i] = map[string]string{"Code": "None"}, "None"
	}
	reasons[0], codes[0] = map[string]string{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}, "TransactionConflict"
	b, _ := json.Marshal(map[string]any{
		"__type":              "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
		"Message":             "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
		"CancellationReasons": reasons,
	})
	return Failure{Status: 400, Body: b}
}

func awsError(status int, typ, msg string) Failure {
	b, _ := json.Marshal(map[string]string{"__type": typ, "message": msg})
	return Failure{Status: status, Body: b}
}

// AfterInvoke turns a finished invocation of function (a logical id) into a
// crash or a timeout when the plan draws one: the function ran and its
// writes are committed, but its caller sees it fail, as when the runtime
// dies or the clock runs out between the last write and the answer.
func (in *Injector) AfterInvoke(function string, res lambdaemu.Result) lambdaemu.Result {
	if in == nil || res.FunctionError != "" {
		return res
	}
	f := in.function(function)
	switch {
	case in.draw(f.CrashAfter, "crash "+function):
		res.FunctionError = "Unhandled"
		res.Payload = errorPayload("Runtime.ExitError", "RequestId: "+res.RequestID+" Error: Runtime exited with error: signal: killed (injected by the fault plan)")
	case in.draw(f.Timeout, "timeout "+function):
		res.FunctionError = "Unhandled"
		res.Payload = errorPayload("Sandbox.Timedout", "RequestId: "+res.RequestID+" Task timed out (injected by the fault plan)")
	}
	return res
}

func errorPayload(typ, msg string) []byte {
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	return b
}
