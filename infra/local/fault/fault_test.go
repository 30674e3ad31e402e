package fault

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/referflow/referflow/infra/local/lambdaemu"
)

func env(v string) func(string) string {
	return func(k string) string {
		if k == Env {
			return v
		}
		return ""
	}
}

func TestLoad(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(file, []byte(`{"seed":7,"dynamodb":{"throttle":0.5}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, value string
		want        float64 // dynamodb.throttle
		nilPlan     bool
		err         string
	}{
		{"unset", "", 0, true, ""},
		{"inline", `{"dynamodb":{"throttle":0.25},"functions":{"RewardsFunction":{"crash_after":1}}}`, 0.25, false, ""},
		{"file", file, 0.5, false, ""},
		{"missing file", filepath.Join(t.TempDir(), "none.json"), 0, true, "no such file"},
		{"unknown field", `{"dynamo":{}}`, 0, true, "unknown field"},
		{"rate above 1", `{"dynamodb":{"conflict":1.5}}`, 0, false, "dynamodb.conflict = 1.5 is not a rate"},
		{"negative rate", `{"functions":{"*":{"timeout":-0.1}}}`, 0, false, "functions.*.timeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Load(env(c.value))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || (p == nil) != c.nilPlan || (p != nil && p.DynamoDB.Throttle != c.want) {
				t.Fatalf("Load = %+v, %v", p, err)
			}
		})
	}
}

// Rates 0 and 1 are certain: nothing, or every request of the kind.
func TestBeforeAWS(t *testing.T) {
	all := New(&Plan{DynamoDB: DynamoDBFaults{Conflict: 1, Throttle: 1}, StepFunctions: StepFunctionsFaults{StartExecution: 1, SendTask: 1}})
	none := New(&Plan{})
	for _, c := range []struct {
		op     string
		status int
		typ    string
	}{
		{"dynamodb/TransactWriteItems", 400, "TransactionCanceledException"},
		{"dynamodb/PutItem", 400, "ProvisionedThroughputExceededException"},
		{"states/StartExecution", 400, "ThrottlingException"},
		{"states/SendTaskSuccess", 500, "InternalFailure"},
		{"states/SendTaskFailure", 500, "InternalFailure"},
		{"ssm/GetParameter", 0, ""},
		{"states/DescribeExecution", 0, ""},
	} {
		body := []byte(`{"TransactItems":[{},{},{}]}`)
		f, ok := all.BeforeAWS(c.op, body)
		if ok != (c.status != 0) || f.Status != c.status || !strings.Contains(string(f.Body), c.typ) {
			t.Errorf("%s: %v %d %s", c.op, ok, f.Status, f.Body)
		}
		if _, ok := none.BeforeAWS(c.op, body); ok {
			t.Errorf("%s failed at rate 0", c.op)
		}
		var nilInjector *Injector
		if _, ok := nilInjector.BeforeAWS(c.op, body); ok {
			t.Errorf("%s failed without a plan", c.op)
		}
	}
	if h := all.Hits(); h["dynamodb TransactionConflict"] != 1 || h["states StartExecution"] != 1 {
		t.Errorf("hits %v", h)
	}
}

// A cancelled transaction names one reason per item, the first a
// TransactionConflict, as DynamoDB does.
func TestConflictHasOneReasonPerItem(t *testing.T) {
	f := conflict([]byte(`{"TransactItems":[{"Put":{}},{"Update":{}},{"Put":{}}]}`))
	var doc struct {
		Type    string `json:"__type"`
		Reasons []struct{ Code string }
	}
	doc.Reasons = nil
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(f.Body, &raw); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(raw["__type"], &doc.Type)
	_ = json.Unmarshal(raw["CancellationReasons"], &doc.Reasons)
	if !strings.HasSuffix(doc.Type, "#TransactionCanceledException") || len(doc.Reasons) != 3 ||
		doc.Reasons[0].Code != "TransactionConflict" || doc.Reasons[1].Code != "None" || doc.Reasons[2].Code != "None" {
		t.Fatalf("%s", f.Body)
	}
}

func TestAfterInvoke(t *testing.T) {
	ok := lambdaemu.Result{RequestID: "r1", Payload: []byte(`{"paid":1}`)}
	failed := lambdaemu.Result{RequestID: "r2", Payload: []byte(`{"errorType":"Referral.Lost"}`), FunctionError: "Unhandled"}
	crash := New(&Plan{Functions: map[string]FunctionFaults{"RewardsFunction": {CrashAfter: 1}}})
	timeout := New(&Plan{Functions: map[string]FunctionFaults{"*": {Timeout: 1}}})
	for _, c := range []struct {
		name string
		in   *Injector
		fn   string
		res  lambdaemu.Result
		want string // errorType, "" = unchanged
	}{
		{"crash of the named function", crash, "RewardsFunction", ok, "Runtime.ExitError"},
		{"another function runs as it did", crash, "VerifyFunction", ok, ""},
		{"timeout for every function", timeout, "VerifyFunction", ok, "Sandbox.Timedout"},
		{"a function's own error stays", timeout, "VerifyFunction", failed, "Referral.Lost"},
		{"no plan", nil, "RewardsFunction", ok, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.in.AfterInvoke(c.fn, c.res)
			var doc struct{ ErrorType string }
			_ = json.Unmarshal(got.Payload, &doc)
			if c.want == "" && (got.FunctionError != c.res.FunctionError || string(got.Payload) != string(c.res.Payload)) {
				t.Fatalf("changed: %+v", got)
			}
			if c.want != "" && (got.FunctionError != "Unhandled" || doc.ErrorType != c.want) {
				t.Fatalf("got %s %s, want %s", got.FunctionError, got.Payload, c.want)
			}
		})
	}
}

// The same seed draws the same faults.
func TestSeededDrawsRepeat(t *testing.T) {
	draws := func() []bool {
		in := New(&Plan{Seed: 42, DynamoDB: DynamoDBFaults{Throttle: 0.3}})
		var out []bool
		for i := 0; i < 200; i++ {
			_, ok := in.BeforeAWS("dynamodb/GetItem", nil)
			out = append(out, ok)
		}
		return out
	}
	a, b := draws(), draws()
	n := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draw %d differs", i)
		}
		if a[i] {
			n++
		}
	}
	if n < 30 || n > 90 {
		t.Fatalf("%d of 200 throttled at rate 0.3", n)
	}
}
