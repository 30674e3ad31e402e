package docs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/rewards"
)

const eventsDoc = "docs/events.md"

// schemaURN is the $id prefix of the event schemas in events.md.
const schemaURN = "urn:referflow:events:v1:"

// eventTypes returns the values of every events.Type constant, read from
// internal/events' source so a new type cannot be left out.
func eventTypes(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(root, "internal/events/events.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || vs.Type == nil {
			return true
		}
		if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "Type" {
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					out = append(out, s)
				}
			}
		}
		return true
	})
	if len(out) < 10 {
		t.Fatalf("found %d event types in internal/events: the reader no longer understands the file", len(out))
	}
	return out
}

var typeHeading = regexp.MustCompile("(?m)^### `([a-z_]+\\.[a-z_]+)`$")

// TestEventsDocDescribesEveryEventType: every events.Type has a section
// ("### `referral.received`") and a JSON Schema ($id
// urn:referflow:events:v1:<type>) in docs/events.md, and neither names a
// type the code does not have.
func TestEventsDocDescribesEveryEventType(t *testing.T) {
	md := string(read(t, eventsDoc))
	schemas := docSchemas(t, md)
	code := eventTypes(t)
	documented := map[string]bool{}
	for _, m := range typeHeading.FindAllStringSubmatch(md, -1) {
		documented[m[1]] = true
	}
	for _, typ := range code {
		if !documented[typ] {
			t.Errorf("%s has no section \"### `%s`\": describe when it is emitted and its data", eventsDoc, typ)
		}
		if _, ok := schemas[schemaURN+typ]; !ok {
			t.Errorf("%s has no JSON Schema with $id %s%s", eventsDoc, schemaURN, typ)
		}
		delete(documented, typ)
	}
	for typ := range documented {
		t.Errorf("%s describes %s, which internal/events does not define", eventsDoc, typ)
	}
	for id := range schemas {
		if typ := strings.TrimPrefix(id, schemaURN); typ != "event" && typ != "reward" && !slices.Contains(code, typ) {
			t.Errorf("%s has a schema %s for no event type", eventsDoc, id)
		}
	}
}

// samples are events of every type as the code makes them (reward events
// through rewards.Event, the constructor the rewards service uses), with
// the data keys the code writes.
func samples() map[events.Type]events.Event {
	at := time.Date(2026, 11, 3, 9, 30, 0, 125e6, time.UTC)
	const id = "ref_01JBX7Q4M5N6P7R8S9T0V1W2X3"
	referral := func(t events.Type, actor string) events.Event {
		ev := events.New(t, id, actor, at)
		ev.ProgramID, ev.ProgramVersion = "b2b-partners", 3
		return ev
	}
	rw := rewards.Reward{ID: rewards.RewardID(id, "won", "referrer"), ReferralID: id, ProgramID: "b2b-partners",
		Milestone: "won", Party: "referrer", Kind: "cash", AmountMinor: 50000, Currency: "USD", Status: rewards.StatusOnHold}
	reward := func(t events.Type, status string) events.Event {
		ev := rewards.Event(t, rw, events.ActorWorkflow, at)
		if status != "" {
			ev = ev.WithStatus(status)
		}
		return ev
	}
	closed := events.New(events.ReferralClosed, id, events.ActorWorkflow, at).WithStatus("lost")
	deal := events.New(events.DealObserved, events.DealKey("hubspot", "501"), events.ActorWebhook("hubspot"), at).
		With("provider", "hubspot").With("event_id", "9002").With("record_id", "501").With("pipeline", "default").
		With("outcome", events.DealWon).With("milestone", "won").With("milestone_index", "1").
		With("amount_minor", "2400000").With("currency", "USD").With("occurred_at", at.Format(time.RFC3339Nano))
	deal.ProgramID, deal.ProgramVersion = "b2b-partners", 3
	return map[events.Type]events.Event{
		events.ReferralReceived:       referral(events.ReferralReceived, events.ActorIntake).WithStatus("received").With("referrer_code", "DEMO"),
		events.ReferralVerifying:      referral(events.ReferralVerifying, events.ActorWorkflow).WithStatus("verifying"),
		events.ReferralVerified:       referral(events.ReferralVerified, events.ActorWorkflow).WithStatus("in_review").With("outcome", "review").With("reasons", "existing_customer, velocity_day"),
		events.ReferralReason:         referral(events.ReferralReason, events.ActorWorkflow).With("code", "existing_customer"),
		events.ReferralReviewed:       referral(events.ReferralReviewed, events.ActorAdmin).WithStatus("in_progress").With("outcome", "approved").With("by", "admin"),
		events.ReferralDealEvent:      referral(events.ReferralDealEvent, events.ActorWebhook("hubspot")).With("provider", "hubspot").With("event_id", "9001").With("record_id", "501").With("where", "pipeline default, stage closedwon").With("milestone", "won").With("outcome", "milestone"),
		events.ReferralClosed:         closed,
		events.ReferralContinued:      referral(events.ReferralContinued, events.ActorWorkflow).With("from", id).With("to", id+"-2"),
		events.ReferralNeedsAttention: referral(events.ReferralNeedsAttention, events.ActorReconciler).WithStatus("needs_attention").With("from", "in_progress").With("error", "States.Timeout").With("cause", "timed out").With("execution", id),
		events.ReferralResumed:        referral(events.ReferralResumed, events.ActorOperator).WithStatus("in_progress").With("from", "needs_attention").With("execution", id+"-2"),
		events.ReferralErased:         events.New(events.ReferralErased, id, events.ActorAdmin, at),
		events.InvoicePaid:            referral(events.InvoicePaid, events.ActorWebhook("stripe")).With("invoice_id", "in_1").With("amount_minor", "4900").With("currency", "USD"),
		events.InvoiceRefunded:        referral(events.InvoiceRefunded, events.ActorWebhook("stripe")).With("invoice_id", "in_1"),
		events.DealObserved:           deal,
		events.RewardCreated:          reward(events.RewardCreated, "").With("rank", "3"),
		events.RewardAwaitingApproval: reward(events.RewardAwaitingApproval, "pending"),
		events.RewardApproved:         reward(events.RewardApproved, "approved").With("paid_later", "true"),
		events.RewardPaid:             reward(events.RewardPaid, "paid").With("method", "ledger"),
		events.RewardVoided:           reward(events.RewardVoided, "voided").With("reason", "deal lost"),
		events.RewardReversed:         reward(events.RewardReversed, "paid").With("reason", "deal refunded"),
		events.RewardWaiting: reward(events.RewardWaiting, "approved").With("reason", "scheduled").
			With("due", rewards.NextPayoutDay("weekly", at).Format(time.RFC3339)),
		events.RewardFailed:       rewards.Event(events.RewardFailed, rw, "payouts", at).WithStatus("failed").With("rail", rewards.RailStripe),
		events.RewardRearmed:      rewards.Event(events.RewardRearmed, rw, events.ActorAdmin, at).WithStatus("approved").With("generation", "1"),
		events.RewardRailReversal: rewards.Event(events.RewardRailReversal, rw, "payouts", at).WithStatus("paid").With("rail", "stripe").With("outcome", "reversed").With("reference", "trr_1"),
	}
}

// TestEventSchemasAcceptTheEventsTheCodeMakes: the documented schema of
// each type accepts an event of that type as the code marshals it (with
// the id the store gives it), and rejects one that breaks it.
func TestEventSchemasAcceptTheEventsTheCodeMakes(t *testing.T) {
	md := string(read(t, eventsDoc))
	schemas := docSchemas(t, md)
	all := samples()
	for _, typ := range eventTypes(t) {
		ev, ok := all[events.Type(typ)]
		if !ok {
			t.Errorf("no sample event of type %s in %s: add one", typ, "docs/events_test.go")
			continue
		}
		ev.ID = "evt_" + ev.ReferralID + "_20261103T093000.125_000000010a3f"
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		schema := schemas[schemaURN+typ]
		if schema == nil {
			continue // reported by TestEventsDocDescribesEveryEventType
		}
		for _, p := range schemas.validate(schema, decode(t, b), "") {
			t.Errorf("%s: %s", typ, p)
		}
		// Each breaks the shared schema: the check can fail.
		for _, field := range []string{"referral_id", "type", "at"} {
			broken := decode(t, b).(map[string]any)
			delete(broken, field)
			if len(schemas.validate(schema, broken, "")) == 0 {
				t.Errorf("%s: the schema accepts an event without %s", typ, field)
			}
		}
		wrong := decode(t, b).(map[string]any)
		wrong["type"] = "referral.nope"
		if typ != "referral.nope" && len(schemas.validate(schema, wrong, "")) == 0 {
			t.Errorf("%s: the schema accepts an event of another type", typ)
		}
	}
}

// The example of a rule target's input in events.md carries an event its
// type's schema accepts.
func TestEventsDocExampleIsValid(t *testing.T) {
	md := string(read(t, eventsDoc))
	schemas := docSchemas(t, md)
	for _, block := range jsonBlocks(md) {
		if !strings.Contains(block, `"detail-type"`) {
			continue
		}
		var env struct {
			DetailType string          `json:"detail-type"`
			Source     string          `json:"source"`
			Detail     json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal([]byte(block), &env); err != nil {
			t.Fatalf("example: %v", err)
		}
		if env.Source != "referflow" {
			t.Errorf("example source = %q", env.Source)
		}
		schema := schemas[schemaURN+env.DetailType]
		if schema == nil {
			t.Fatalf("example of unknown type %s", env.DetailType)
		}
		for _, p := range schemas.validate(schema, decode(t, env.Detail), "") {
			t.Errorf("example: %s", p)
		}
		return
	}
	t.Fatal("events.md shows no event as a target receives it")
}

// TestSchemaValidatorRejectsWhatItShould shows the hand-written validator
// fails on each keyword the schemas use.
func TestSchemaValidatorRejectsWhatItShould(t *testing.T) {
	set := schemaSet{"urn:base": {"type": "object", "required": []any{"a"}}}
	cases := []struct {
		schema string
		value  string
	}{
		{`{"type":"string"}`, `1`},
		{`{"type":"integer"}`, `1.5`},
		{`{"type":"object"}`, `[]`},
		{`{"const":"x"}`, `"y"`},
		{`{"enum":["x","y"]}`, `"z"`},
		{`{"pattern":"^a"}`, `"ba"`},
		{`{"format":"date-time"}`, `"yesterday"`},
		{`{"minimum":1}`, `0`},
		{`{"required":["a"]}`, `{}`},
		{`{"properties":{"a":{"type":"string"}}}`, `{"a":1}`},
		{`{"additionalProperties":{"type":"string"}}`, `{"b":1}`},
		{`{"allOf":[{"$ref":"urn:base"}]}`, `{}`},
	}
	for _, c := range cases {
		var s map[string]any
		if err := json.Unmarshal([]byte(c.schema), &s); err != nil {
			t.Fatal(err)
		}
		if len(set.validate(s, decode(t, []byte(c.value)), "")) == 0 {
			t.Errorf("%s accepted %s", c.schema, c.value)
		}
	}
	if p := set.validate(map[string]any{"type": "integer", "minimum": json.Number("1")}, decode(t, []byte("2")), ""); len(p) != 0 {
		t.Errorf("2 is an integer >= 1: %v", p)
	}
}

var jsonBlock = regexp.MustCompile("(?s)```json\n(.*?)```")

func jsonBlocks(md string) []string {
	var out []string
	for _, m := range jsonBlock.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	return out
}

// schemaSet holds the documented schemas by $id.
type schemaSet map[string]map[string]any

func docSchemas(t *testing.T, md string) schemaSet {
	t.Helper()
	set := schemaSet{}
	for _, block := range jsonBlocks(md) {
		if !strings.Contains(block, `"$schema"`) {
			continue
		}
		var s map[string]any
		d := json.NewDecoder(strings.NewReader(block))
		d.UseNumber()
		if err := d.Decode(&s); err != nil {
			t.Fatalf("%s: a schema is not JSON: %v\n%s", eventsDoc, err, block)
		}
		if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: schema %v is not draft 2020-12", eventsDoc, s["$id"])
		}
		id, _ := s["$id"].(string)
		if _, dup := set[id]; dup || id == "" {
			t.Errorf("%s: schema $id %q missing or repeated", eventsDoc, id)
		}
		set[id] = s
	}
	if len(set) == 0 {
		t.Fatalf("%s has no JSON Schema", eventsDoc)
	}
	return set
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// validate checks v against schema with the subset of JSON Schema 2020-12
// the documented schemas use, and returns what does not hold. A keyword it
// does not know is itself a problem, so a schema cannot say more than is
// checked.
func (set schemaSet) validate(schema map[string]any, v any, at string) []string {
	var out []string
	fail := func(format string, args ...any) {
		out = append(out, strings.TrimPrefix(at, ".")+": "+fmt.Sprintf(format, args...))
	}
	for k, arg := range schema {
		switch k {
		case "$schema", "$id", "title":
		case "$ref":
			ref := set[arg.(string)]
			if ref == nil {
				fail("$ref %v resolves to nothing", arg)
				continue
			}
			out = append(out, set.validate(ref, v, at)...)
		case "allOf":
			for _, sub := range arg.([]any) {
				out = append(out, set.validate(sub.(map[string]any), v, at)...)
			}
		case "type":
			if !hasType(v, arg.(string)) {
				fail("%v is not of type %s", v, arg)
			}
		case "const":
			if fmt.Sprint(v) != fmt.Sprint(arg) {
				fail("%v is not %v", v, arg)
			}
		case "enum":
			if !slices.ContainsFunc(arg.([]any), func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
				fail("%v is not one of %v", v, arg)
			}
		case "pattern":
			if s, ok := v.(string); ok && !regexp.MustCompile(arg.(string)).MatchString(s) {
				fail("%q does not match %s", s, arg)
			}
		case "format":
			if s, ok := v.(string); ok && arg == "date-time" {
				if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
					fail("%q is not a date-time", s)
				}
			}
		case "minimum":
			n, ok := v.(json.Number)
			lim, _ := strconv.ParseFloat(fmt.Sprint(arg), 64)
			if f, err := n.Float64(); ok && (err != nil || f < lim) {
				fail("%v is below %v", v, arg)
			}
		case "required", "properties", "additionalProperties":
			out = append(out, set.object(k, arg, v, at)...)
		default:
			fail("schema keyword %s is not checked by docs/events_test.go", k)
		}
	}
	return out
}

// object checks the object keywords of a schema.
func (set schemaSet) object(keyword string, arg, v any, at string) []string {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil // "type" says whether it must be an object
	}
	var out []string
	switch keyword {
	case "required":
		for _, r := range arg.([]any) {
			if _, ok := obj[r.(string)]; !ok {
				out = append(out, fmt.Sprintf("%s: %s is required", strings.TrimPrefix(at, "."), r))
			}
		}
	case "properties":
		for name, sub := range arg.(map[string]any) {
			if pv, ok := obj[name]; ok {
				out = append(out, set.validate(sub.(map[string]any), pv, at+"."+name)...)
			}
		}
	case "additionalProperties":
		sub, isSchema := arg.(map[string]any)
		for name, pv := range obj {
			if isSchema {
				out = append(out, set.validate(sub, pv, at+"."+name)...)
			} else if arg == false {
				out = append(out, fmt.Sprintf("%s: %s is not allowed", strings.TrimPrefix(at, "."), name))
			}
		}
	}
	return out
}

func hasType(v any, typ string) bool {
	switch typ {
	case "string":
		_, ok := v.(string)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		_, err := strconv.ParseInt(string(n), 10, 64)
		return ok && err == nil
	case "number":
		_, ok := v.(json.Number)
		return ok
	}
	return false
}
