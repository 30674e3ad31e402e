package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/sam"
)

var t0 = time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC)

// targets is a fake of the function pools: each call is recorded, and
// script decides its outcome by function and attempt (from 1).
type targets struct {
	mu     sync.Mutex
	calls  map[string][]string
	script func(function string, attempt int) (string, error)
}

func (f *targets) invoke(_ context.Context, function string, payload []byte) (string, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string][]string{}
	}
	f.calls[function] = append(f.calls[function], string(payload))
	n := len(f.calls[function])
	f.mu.Unlock()
	if f.script == nil {
		return "", nil
	}
	return f.script(function, n)
}

func (f *targets) payloads(function string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls[function]...)
}

func rule(t *testing.T, name, bus, pattern, target string) Rule {
	t.Helper()
	p, err := Compile(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return Rule{Name: name, Bus: bus, Pattern: p, Target: target, Retries: 185, MaxAge: 24 * time.Hour, AsyncRetries: 2}
}

func newBus(rules []Rule, f *targets) *Bus {
	return New(Options{Rules: rules, Invoke: f.invoke, Backoff: func(int) time.Duration { return time.Millisecond }, Now: func() time.Time { return t0 }})
}

func entry(id, detailType, referral string) Entry {
	return Entry{ID: id, EventBus: "referflow-local-events", Source: "referflow", DetailType: detailType, Time: t0,
		Detail: json.RawMessage(fmt.Sprintf(`{"id":"evt_%s","type":%q,"version":1,"referral_id":%q}`, id, detailType, referral))}
}

// settled waits until no delivery of the bus is pending.
func settled(t *testing.T, b *Bus) []Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs := b.Events(Filter{})
		pending := false
		for _, ev := range evs {
			for _, d := range ev.Deliveries {
				pending = pending || d.Status == Pending
			}
		}
		if !pending {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries still pending: %+v", evs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEachMatchingRuleGetsTheEventBridgeEnvelope(t *testing.T) {
	f := &targets{}
	b := newBus([]Rule{
		rule(t, "Notify.All", "referflow-local-events", `{"source":["referflow"]}`, "NotifyFunction"),
		rule(t, "Outbound.Rewards", "referflow-local-events", `{"detail-type":[{"prefix":"reward."}]}`, "OutboundFunction"),
		rule(t, "Other.Bus", "default", `{"source":["referflow"]}`, "OtherFunction"),
	}, f)
	defer b.Close()
	b.Put(entry("e1", "referral.received", "ref_1"))
	evs := settled(t, b)
	if len(evs) != 1 || len(evs[0].Deliveries) != 1 || evs[0].Deliveries[0] != (Delivery{Rule: "Notify.All", Target: "NotifyFunction", Status: Delivered, Attempts: 1}) {
		t.Fatalf("events = %+v", evs)
	}
	if len(f.payloads("OutboundFunction")) != 0 || len(f.payloads("OtherFunction")) != 0 {
		t.Errorf("a rule that does not match (or is on another bus) was invoked: %v", f.calls)
	}
	var env struct {
		Version    string          `json:"version"`
		ID         string          `json:"id"`
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Account    string          `json:"account"`
		Time       time.Time       `json:"time"`
		Region     string          `json:"region"`
		Resources  []string        `json:"resources"`
		Detail     json.RawMessage `json:"detail"`
	}
	p := f.payloads("NotifyFunction")
	if len(p) != 1 || json.Unmarshal([]byte(p[0]), &env) != nil {
		t.Fatalf("payloads = %v", p)
	}
	if env.Version != "0" || env.ID != "e1" || env.DetailType != "referral.received" || env.Source != "referflow" ||
		env.Account != sam.AccountID || env.Region != sam.Region || !env.Time.Equal(t0) || env.Resources == nil ||
		string(env.Detail) != string(entry("e1", "referral.received", "ref_1").Detail) {
		t.Errorf("envelope = %s", p[0])
	}
}

func TestFunctionErrorsAreRetriedAsLambdaRetriesAsyncInvocations(t *testing.T) {
	f := &targets{script: func(fn string, n int) (string, error) {
		if fn == "Flaky" && n < 3 {
			return "Runtime.ExitError", nil
		}
		if fn == "Broken" {
			return "Handler.Error: boom", nil
		}
		return "", nil
	}}
	b := newBus([]Rule{
		rule(t, "Flaky.All", "referflow-local-events", `{"source":["referflow"]}`, "Flaky"),
		rule(t, "Broken.All", "referflow-local-events", `{"source":["referflow"]}`, "Broken"),
	}, f)
	defer b.Close()
	b.Put(entry("e1", "reward.paid", "ref_1"))
	got := map[string]Delivery{}
	for _, d := range settled(t, b)[0].Deliveries {
		got[d.Target] = d
	}
	if d := got["Flaky"]; d.Status != Delivered || d.Attempts != 3 {
		t.Errorf("flaky delivery = %+v, want delivered on the 3rd attempt", d)
	}
	if d := got["Broken"]; d.Status != Failed || d.Attempts != 3 || !strings.Contains(d.Error, "boom") {
		t.Errorf("broken delivery = %+v, want failed after 1 + 2 retries", d)
	}
}

func TestInvocationsThatCannotBeMadeFollowTheRulesRetryPolicy(t *testing.T) {
	f := &targets{script: func(string, int) (string, error) { return "", errors.New("TooManyRequestsException") }}
	r := rule(t, "Busy.All", "referflow-local-events", `{"source":["referflow"]}`, "Busy")
	r.Retries, r.DeadLetter = 4, "arn:aws:sqs:us-east-1:123456789012:dlq"
	capped := rule(t, "Capped.All", "referflow-local-events", `{"source":["referflow"]}`, "Capped")
	b := newBus([]Rule{r, capped}, f)
	defer b.Close()
	b.Put(entry("e1", "reward.paid", "ref_1"))
	got := map[string]Delivery{}
	for _, d := range settled(t, b)[0].Deliveries {
		got[d.Target] = d
	}
	if d := got["Busy"]; d.Status != Failed || d.Attempts != 5 || d.DeadLetter != r.DeadLetter {
		t.Errorf("delivery = %+v, want failed after 1 + 4 attempts, naming the dead-letter queue", d)
	}
	if d := got["Capped"]; d.Attempts != 1+MaxLocalRetries {
		t.Errorf("185 retries are capped locally: %d attempts", d.Attempts)
	}
}

func TestInputAndInputPathReplaceTheEnvelope(t *testing.T) {
	f := &targets{}
	constant := rule(t, "C.All", "referflow-local-events", `{"source":["referflow"]}`, "C")
	constant.Input = `{"run":"all"}`
	detail := rule(t, "D.All", "referflow-local-events", `{"source":["referflow"]}`, "D")
	detail.InputPath = "$.detail"
	b := newBus([]Rule{constant, detail}, f)
	defer b.Close()
	e := entry("e1", "referral.received", "ref_1")
	b.Put(e)
	settled(t, b)
	if p := f.payloads("C"); len(p) != 1 || p[0] != `{"run":"all"}` {
		t.Errorf("Input payload = %v", p)
	}
	var got, want map[string]any
	_ = json.Unmarshal(e.Detail, &want)
	if p := f.payloads("D"); len(p) != 1 || json.Unmarshal([]byte(p[0]), &got) != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("InputPath payload = %v", p)
	}
}

func TestPutEventsTakesTheEntriesEventBridgeAccepted(t *testing.T) {
	f := &targets{}
	b := newBus(nil, f)
	defer b.Close()
	req := `{"Entries":[
	 {"Source":"referflow","DetailType":"referral.received","Detail":"{\"referral_id\":\"ref_1\"}","EventBusName":"referflow-local-events","Time":1793698200.125},
	 {"Source":"referflow","DetailType":"referral.verified","Detail":"{\"referral_id\":\"ref_1\"}","EventBusName":"arn:aws:events:us-east-1:123456789012:event-bus/referflow-local-events"},
	 {"Source":"referflow","DetailType":"bad","Detail":"nope"}]}`
	res := `{"FailedEntryCount":1,"Entries":[{"EventId":"id-1"},{"EventId":"id-2"},{"ErrorCode":"MalformedDetail","ErrorMessage":"Detail is malformed."}]}`
	n, err := b.PutEvents([]byte(req), []byte(res))
	if err != nil || n != 2 {
		t.Fatalf("PutEvents = %d, %v", n, err)
	}
	evs := b.Events(Filter{})
	if len(evs) != 2 || evs[0].ID != "id-2" || evs[1].ID != "id-1" {
		t.Fatalf("events (newest first) = %+v", evs)
	}
	if evs[1].EventBus != "referflow-local-events" || evs[0].EventBus != "referflow-local-events" {
		t.Errorf("bus names = %s, %s", evs[1].EventBus, evs[0].EventBus)
	}
	if want := time.Date(2026, 11, 3, 9, 30, 0, 125e6, time.UTC); !evs[1].Time.Equal(want) {
		t.Errorf("time = %v, want %v", evs[1].Time, want)
	}
	if !evs[0].Time.Equal(t0) {
		t.Errorf("an entry without Time gets the bus's clock: %v", evs[0].Time)
	}
	if _, err := b.PutEvents([]byte("{"), []byte(res)); err == nil {
		t.Error("a malformed request was taken")
	}
}

func TestLocalEventsEndpointFiltersNewestFirst(t *testing.T) {
	b := newBus(nil, &targets{})
	defer b.Close()
	b.Put(entry("e1", "referral.received", "ref_1"))
	b.Put(entry("e2", "referral.received", "ref_2"))
	b.Put(entry("e3", "reward.paid", "ref_1"))
	srv := httptest.NewServer(b.Handler())
	defer srv.Close()
	get := func(query string) (int, []map[string]any) {
		resp, err := http.Get(srv.URL + Path + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var out []map[string]any
		_ = json.Unmarshal(body, &out)
		return resp.StatusCode, out
	}
	ids := func(evs []map[string]any) string {
		var s []string
		for _, e := range evs {
			s = append(s, e["id"].(string))
		}
		return strings.Join(s, ",")
	}
	for query, want := range map[string]string{
		"":                               "e3,e2,e1",
		"?limit=2":                       "e3,e2",
		"?detail_type=referral.received": "e2,e1",
		"?detail_type=reward.paid,referral.received&referral_id=ref_1": "e3,e1",
		"?source=other": "",
	} {
		code, evs := get(query)
		if code != http.StatusOK || ids(evs) != want {
			t.Errorf("GET %s = %d %s, want %s", query, code, ids(evs), want)
		}
	}
	_, evs := get("?limit=1")
	for _, k := range []string{"source", "detail_type", "detail", "time"} {
		if _, ok := evs[0][k]; !ok {
			t.Errorf("an event lacks %q: %v", k, evs[0])
		}
	}
	if d, _ := evs[0]["detail"].(map[string]any); d["referral_id"] != "ref_1" {
		t.Errorf("detail is not the event's JSON object: %v", evs[0]["detail"])
	}
	if code, _ := get("?limit=x"); code != http.StatusBadRequest {
		t.Errorf("a bad limit = %d, want 400", code)
	}
}

func TestTheBusKeepsABoundedHistory(t *testing.T) {
	b := New(Options{Keep: 2, Invoke: (&targets{}).invoke})
	defer b.Close()
	for i := range 3 {
		b.Put(entry(fmt.Sprint(i), "referral.received", "ref_1"))
	}
	if evs := b.Events(Filter{}); len(evs) != 2 || evs[1].ID != "1" || b.Dropped() != 1 {
		t.Errorf("kept %+v, dropped %d", evs, b.Dropped())
	}
}

func TestRulesComeFromTheTemplate(t *testing.T) {
	tpl, err := sam.Parse([]byte(`
Resources:
  Bus: {Type: AWS::Events::EventBus, Properties: {Name: bus}}
  F:
    Type: AWS::Serverless::Function
    Properties:
      EventInvokeConfig: {MaximumRetryAttempts: 0}
      Events:
        On: {Type: EventBridgeRule, Properties: {EventBusName: !Ref Bus, Pattern: {source: [referflow]}, RetryPolicy: {MaximumRetryAttempts: 3}}}
        Off: {Type: EventBridgeRule, Properties: {Pattern: {source: [x]}, State: DISABLED}}
`), "/tmp", sam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := Rules(tpl)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 || rules[0].Name != "F.On" || rules[0].Bus != "bus" || rules[0].Target != "F" || rules[0].Retries != 3 || rules[0].AsyncRetries != 0 {
		t.Fatalf("rules = %+v", rules)
	}
	if !rules[0].Pattern.Match([]byte(`{"source":"referflow"}`)) {
		t.Error("the rule's pattern does not match its source")
	}
}
