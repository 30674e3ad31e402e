package sam

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Function is a resolved AWS::Serverless::Function (Globals merged in).
type Function struct {
	LogicalID     string
	Name          string // FunctionName or the logical id
	ARN           string
	CodeURI       string // as written, relative to the template directory
	CodeDir       string // absolute directory of CodeURI
	Handler       string
	Runtime       string
	BuildMethod   string // Metadata.BuildMethod
	MemorySize    int    // MB, default 128
	Timeout       int    // seconds, default 3
	Architectures []string
	Environment   map[string]string
	HTTPEvents    []HTTPEvent
	Schedules     []ScheduleEvent
	// Streams are DynamoDB stream event sources; Rules EventBridge rules
	// targeting the function.
	Streams []StreamEvent
	Rules   []RuleEvent
	// AsyncRetries is EventInvokeConfig.MaximumRetryAttempts: how often
	// Lambda retries a failed asynchronous invocation (default 2).
	AsyncRetries int
}

// HTTPEvent is a function event of Type HttpApi.
type HTTPEvent struct {
	Name   string // event name in the template
	Path   string // e.g. /referrals/{id}; "$default" for the catch-all route
	Method string // upper case; ANY for every method
	APIID  string // logical id of the HttpApi, "" for the implicit one
	// Auth is the route's authorizer (e.g. AWS_IAM, NONE); "" means the
	// api's default applies.
	Auth string
}

// RouteKey is the API Gateway route key, e.g. "POST /referrals".
func (e HTTPEvent) RouteKey() string {
	if e.Path == "$default" {
		return "$default"
	}
	return e.Method + " " + e.Path
}

// ScheduleEvent is a function event of Type Schedule (or ScheduleV2).
type ScheduleEvent struct {
	Name     string
	Schedule string // rate(...) or cron(...)
	Input    string // JSON given to the function; "" for the scheduled event
	Enabled  bool
}

// Table is a resolved DynamoDB table (AWS::DynamoDB::Table or
// AWS::Serverless::SimpleTable converted to the same shape).
type Table struct {
	LogicalID              string
	Name                   string
	ARN                    string
	KeySchema              []KeyElement
	AttributeDefinitions   []AttributeDefinition
	GlobalSecondaryIndexes []SecondaryIndex
	LocalSecondaryIndexes  []SecondaryIndex
	BillingMode            string // PAY_PER_REQUEST or PROVISIONED
	ProvisionedThroughput  *Throughput
	StreamViewType         string // "" when streams are off
	TimeToLive             *TimeToLive
}

// KeyElement is one entry of a KeySchema.
type KeyElement struct{ AttributeName, KeyType string }

// AttributeDefinition is one entry of AttributeDefinitions.
type AttributeDefinition struct{ AttributeName, AttributeType string }

// SecondaryIndex is a global or local secondary index.
type SecondaryIndex struct {
	IndexName             string
	KeySchema             []KeyElement
	ProjectionType        string
	NonKeyAttributes      []string
	ProvisionedThroughput *Throughput
}

// Throughput is a ProvisionedThroughput setting.
type Throughput struct{ ReadCapacityUnits, WriteCapacityUnits int64 }

// TimeToLive is a TimeToLiveSpecification.
type TimeToLive struct {
	AttributeName string
	Enabled       bool
}

// StateMachine is a resolved AWS::Serverless::StateMachine.
type StateMachine struct {
	LogicalID string
	Name      string
	ARN       string
	Type      string // STANDARD or EXPRESS
	// DefinitionPath is the absolute path of DefinitionUri ("" if inline).
	DefinitionPath string
	// Definition is the inline Definition rendered as JSON ("" if a file).
	Definition string
	// Substitutions are the resolved DefinitionSubstitutions.
	Substitutions map[string]string
}

// RenderDefinition returns the ASL with every ${Name} replaced from the
// DefinitionSubstitutions; a placeholder without a value is an error.
func (sm StateMachine) RenderDefinition() (string, error) {
	def := sm.Definition
	if sm.DefinitionPath != "" {
		b, err := os.ReadFile(sm.DefinitionPath)
		if err != nil {
			return "", fmt.Errorf("state machine %s: %w", sm.LogicalID, err)
		}
		def = string(b)
	}
	return Substitute(def, sm.Substitutions)
}

// Substitute replaces every ${Name} in s with subs[Name]. It fails when a
// placeholder has no value.
func Substitute(s string, subs map[string]string) (string, error) {
	var b strings.Builder
	var missing []string
	rest := s
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		j := strings.Index(rest[i:], "}")
		if j < 0 {
			b.WriteString(rest[i:])
			break
		}
		name := rest[i+2 : i+j]
		rest = rest[i+j+1:]
		v, ok := subs[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		b.WriteString(v)
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("unresolved definition substitutions: %s", strings.Join(missing, ", "))
	}
	return b.String(), nil
}

// HTTPAPI is a resolved AWS::Serverless::HttpApi (or the implicit one SAM
// creates for HttpApi events without ApiId).
type HTTPAPI struct {
	LogicalID string
	ID        string
	// DefaultAuthorizer is Auth.DefaultAuthorizer, e.g. AWS_IAM ("" = none).
	DefaultAuthorizer string
	Cors              *Cors // nil when CORS is not configured
}

// Cors is an HttpApi CorsConfiguration.
type Cors struct {
	AllowOrigins     []string
	AllowMethods     []string
	AllowHeaders     []string
	ExposeHeaders    []string
	MaxAge           int
	AllowCredentials bool
}

// ImplicitAPI is the logical id SAM gives the HttpApi it creates for events
// without ApiId.
const ImplicitAPI = "ServerlessHttpApi"

// API returns the HttpApi with the given logical id ("" = the implicit one,
// or the only one there is).
func (t *Template) API(logicalID string) (HTTPAPI, bool) {
	if logicalID == "" {
		logicalID = ImplicitAPI
	}
	for _, a := range t.HTTPAPIs {
		if a.LogicalID == logicalID {
			return a, true
		}
	}
	return HTTPAPI{}, false
}

// SettingsPrefix returns the first REFERFLOW_SETTINGS_PREFIX found in a
// function's environment, or "".
func (t *Template) SettingsPrefix() string {
	for _, f := range t.Functions {
		if p := f.Environment["REFERFLOW_SETTINGS_PREFIX"]; p != "" {
			return p
		}
	}
	return ""
}

func (t *Template) buildViews() error {
	ids := sortedKeys(t.resources)
	implicitAPI := false
	for _, id := range ids {
		r := t.resources[id]
		var err error
		switch r.Type {
		case "AWS::Serverless::Function":
			var f Function
			f, err = t.function(r)
			if err == nil {
				t.Functions = append(t.Functions, f)
				for _, e := range f.HTTPEvents {
					if e.APIID == "" {
						implicitAPI = true
					}
				}
			}
		case "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable":
			var tb Table
			tb, err = t.table(r)
			if err == nil {
				t.Tables = append(t.Tables, tb)
			}
		case "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine":
			var sm StateMachine
			sm, err = t.stateMachine(r)
			if err == nil {
				t.StateMachines = append(t.StateMachines, sm)
			}
		case "AWS::Serverless::HttpApi":
			var a HTTPAPI
			a, err = t.httpAPI(r.LogicalID, r.Properties)
			if err == nil {
				t.HTTPAPIs = append(t.HTTPAPIs, a)
			}
		case "AWS::Events::EventBus":
			var b EventBus
			b, err = t.eventBus(r)
			if err == nil {
				t.EventBuses = append(t.EventBuses, b)
			}
		}
		if err != nil {
			return fmt.Errorf("resource %s: %w", id, err)
		}
	}
	if implicitAPI {
		if _, ok := t.resources[ImplicitAPI]; !ok {
			a, err := t.httpAPI(ImplicitAPI, mergeGlobals(asMap(t.globals["HttpApi"]), map[string]any{}))
			if err != nil {
				return fmt.Errorf("implicit HttpApi: %w", err)
			}
			t.HTTPAPIs = append(t.HTTPAPIs, a)
		}
	}
	return nil
}

func (t *Template) resolvedProps(r *resource) (map[string]any, error) {
	v, err := t.Resolve(r.Properties)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

func (t *Template) function(r *resource) (Function, error) {
	p, err := t.resolvedProps(r)
	if err != nil {
		return Function{}, err
	}
	nameV, err := t.resourceRef(r, 0)
	if err != nil {
		return Function{}, err
	}
	f := Function{
		LogicalID:     r.LogicalID,
		Name:          toString(nameV),
		Handler:       toString(p["Handler"]),
		Runtime:       toString(p["Runtime"]),
		BuildMethod:   toString(asMap(r.Metadata)["BuildMethod"]),
		Architectures: asStrings(p["Architectures"]),
		Environment:   map[string]string{},
	}
	f.ARN = FunctionARN(f.Name)
	if s, ok := p["CodeUri"].(string); ok {
		f.CodeURI = s
	} else {
		f.CodeURI = "."
	}
	f.CodeDir = filepath.Join(t.Dir, f.CodeURI)
	if f.MemorySize, err = asInt(p["MemorySize"], 128); err != nil {
		return Function{}, fmt.Errorf("MemorySize: %w", err)
	}
	if f.Timeout, err = asInt(p["Timeout"], 3); err != nil {
		return Function{}, fmt.Errorf("Timeout: %w", err)
	}
	for k, v := range asMap(asMap(p["Environment"])["Variables"]) {
		f.Environment[k] = toString(v)
	}
	if f.AsyncRetries, err = asInt(asMap(p["EventInvokeConfig"])["MaximumRetryAttempts"], 2); err != nil {
		return Function{}, fmt.Errorf("EventInvokeConfig.MaximumRetryAttempts: %w", err)
	}
	if err := t.functionEvents(r, p, &f); err != nil {
		return Function{}, err
	}
	return f, nil
}

// functionEvents reads a function's Events into f.
func (t *Template) functionEvents(r *resource, p map[string]any, f *Function) error {
	events := asMap(p["Events"])
	for _, name := range sortedKeys(events) {
		ev := asMap(events[name])
		ep := asMap(ev["Properties"])
		switch toString(ev["Type"]) {
		case "HttpApi":
			e := HTTPEvent{
				Name:   name,
				Path:   toString(ep["Path"]),
				Method: strings.ToUpper(toString(ep["Method"])),
				Auth:   toString(asMap(ep["Auth"])["Authorizer"]),
			}
			if e.Path == "" {
				e.Path = "$default"
			}
			if e.Method == "" || e.Method == "X-AMAZON-APIGATEWAY-ANY-METHOD" {
				e.Method = "ANY"
			}
			if id, ok := r.Properties["Events"].(map[string]any); ok {
				// ApiId is a !Ref to the api: keep the logical id, not the
				// resolved api id.
				raw := asMap(asMap(asMap(id[name])["Properties"])["ApiId"])
				if ref, ok := raw["Ref"].(string); ok {
					e.APIID = ref
				}
			}
			f.HTTPEvents = append(f.HTTPEvents, e)
		case "Schedule", "ScheduleV2":
			e := ScheduleEvent{
				Name:     name,
				Schedule: toString(ep["Schedule"]),
				Input:    toString(ep["Input"]),
				Enabled:  true,
			}
			if e.Schedule == "" {
				e.Schedule = toString(ep["ScheduleExpression"])
			}
			if v, ok := ep["Enabled"]; ok {
				e.Enabled = asBool(v, true)
			}
			if s := toString(ep["State"]); s == "DISABLED" {
				e.Enabled = false
			}
			f.Schedules = append(f.Schedules, e)
		case "DynamoDB":
			e, err := streamEvent(name, ep)
			if err != nil {
				return err
			}
			f.Streams = append(f.Streams, e)
		case "EventBridgeRule", "CloudWatchEvent":
			e, err := ruleEvent(name, ep)
			if err != nil {
				return err
			}
			f.Rules = append(f.Rules, e)
		}
	}
	return nil
}

func (t *Template) table(r *resource) (Table, error) {
	p, err := t.resolvedProps(r)
	if err != nil {
		return Table{}, err
	}
	nameV, err := t.resourceRef(r, 0)
	if err != nil {
		return Table{}, err
	}
	tb := Table{LogicalID: r.LogicalID, Name: toString(nameV)}
	tb.ARN = fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", Region, AccountID, tb.Name)
	if r.Type == "AWS::Serverless::SimpleTable" {
		pk := asMap(p["PrimaryKey"])
		name, typ := toString(pk["Name"]), toString(pk["Type"])
		if name == "" {
			name, typ = "id", "String"
		}
		short := map[string]string{"String": "S", "Number": "N", "Binary": "B"}[typ]
		if short == "" {
			short = typ
		}
		tb.KeySchema = []KeyElement{{name, "HASH"}}
		tb.AttributeDefinitions = []AttributeDefinition{{name, short}}
		tb.BillingMode = "PAY_PER_REQUEST"
		if pt := asMap(p["ProvisionedThroughput"]); pt != nil {
			tb.BillingMode = "PROVISIONED"
			tb.ProvisionedThroughput, err = throughput(pt)
		}
		return tb, err
	}
	// Round-trip through JSON into the typed shape: the CloudFormation
	// property names are those of the DynamoDB API.
	var raw struct {
		KeySchema               []KeyElement
		AttributeDefinitions    []AttributeDefinition
		GlobalSecondaryIndexes  []map[string]any
		LocalSecondaryIndexes   []map[string]any
		BillingMode             string
		StreamSpecification     struct{ StreamViewType string }
		TimeToLiveSpecification *struct {
			AttributeName string
			Enabled       any
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return Table{}, fmt.Errorf("table properties: %w", err)
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Table{}, fmt.Errorf("table properties: %w", err)
	}
	tb.KeySchema = raw.KeySchema
	tb.AttributeDefinitions = raw.AttributeDefinitions
	tb.BillingMode = raw.BillingMode
	if tb.BillingMode == "" {
		tb.BillingMode = "PROVISIONED"
	}
	if pt := asMap(p["ProvisionedThroughput"]); pt != nil {
		if tb.ProvisionedThroughput, err = throughput(pt); err != nil {
			return Table{}, err
		}
	}
	tb.StreamViewType = raw.StreamSpecification.StreamViewType
	if raw.TimeToLiveSpecification != nil {
		tb.TimeToLive = &TimeToLive{
			AttributeName: raw.TimeToLiveSpecification.AttributeName,
			Enabled:       asBool(raw.TimeToLiveSpecification.Enabled, false),
		}
	}
	for _, list := range []struct {
		in  []map[string]any
		out *[]SecondaryIndex
	}{{raw.GlobalSecondaryIndexes, &tb.GlobalSecondaryIndexes}, {raw.LocalSecondaryIndexes, &tb.LocalSecondaryIndexes}} {
		for _, gi := range list.in {
			idx := SecondaryIndex{IndexName: toString(gi["IndexName"])}
			for _, k := range asList(gi["KeySchema"]) {
				km := asMap(k)
				idx.KeySchema = append(idx.KeySchema, KeyElement{toString(km["AttributeName"]), toString(km["KeyType"])})
			}
			proj := asMap(gi["Projection"])
			idx.ProjectionType = toString(proj["ProjectionType"])
			if idx.ProjectionType == "" {
				idx.ProjectionType = "ALL"
			}
			idx.NonKeyAttributes = asStrings(proj["NonKeyAttributes"])
			if pt := asMap(gi["ProvisionedThroughput"]); pt != nil {
				if idx.ProvisionedThroughput, err = throughput(pt); err != nil {
					return Table{}, err
				}
			}
			*list.out = append(*list.out, idx)
		}
	}
	return tb, nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func throughput(pt map[string]any) (*Throughput, error) {
	r, err := asInt(pt["ReadCapacityUnits"], 5)
	if err != nil {
		return nil, fmt.Errorf("ReadCapacityUnits: %w", err)
	}
	w, err := asInt(pt["WriteCapacityUnits"], 5)
	if err != nil {
		return nil, fmt.Errorf("WriteCapacityUnits: %w", err)
	}
	return &Throughput{int64(r), int64(w)}, nil
}

func (t *Template) stateMachine(r *resource) (StateMachine, error) {
	p, err := t.resolvedProps(r)
	if err != nil {
		return StateMachine{}, err
	}
	arnV, err := t.resourceRef(r, 0)
	if err != nil {
		return StateMachine{}, err
	}
	arn := toString(arnV)
	sm := StateMachine{
		LogicalID:     r.LogicalID,
		ARN:           arn,
		Name:          arn[strings.LastIndex(arn, ":")+1:],
		Type:          strings.ToUpper(toString(p["Type"])),
		Substitutions: map[string]string{},
	}
	if r.Type == "AWS::StepFunctions::StateMachine" {
		sm.Type = strings.ToUpper(toString(p["StateMachineType"]))
		if s, ok := p["DefinitionString"].(string); ok {
			sm.Definition = s
		}
		if d, ok := p["Definition"]; ok && sm.Definition == "" {
			b, err := json.Marshal(d)
			if err != nil {
				return StateMachine{}, fmt.Errorf("Definition: %w", err)
			}
			sm.Definition = string(b)
		}
		if uri, ok := p["DefinitionS3Location"].(string); ok {
			sm.DefinitionPath = filepath.Join(t.Dir, uri)
		}
	} else {
		if uri, ok := p["DefinitionUri"].(string); ok {
			sm.DefinitionPath = filepath.Join(t.Dir, uri)
		} else if d, ok := p["Definition"]; ok {
			b, err := json.Marshal(d)
			if err != nil {
				return StateMachine{}, fmt.Errorf("Definition: %w", err)
			}
			sm.Definition = string(b)
		} else {
			return StateMachine{}, fmt.Errorf("no DefinitionUri (local path) or Definition")
		}
	}
	if sm.Type == "" {
		sm.Type = "STANDARD"
	}
	for k, v := range asMap(p["DefinitionSubstitutions"]) {
		sm.Substitutions[k] = toString(v)
	}
	return sm, nil
}

func (t *Template) httpAPI(id string, props map[string]any) (HTTPAPI, error) {
	v, err := t.Resolve(props)
	if err != nil {
		return HTTPAPI{}, err
	}
	p := asMap(v)
	a := HTTPAPI{LogicalID: id, ID: apiID(id)}
	a.DefaultAuthorizer = toString(asMap(p["Auth"])["DefaultAuthorizer"])
	switch c := p["CorsConfiguration"].(type) {
	case bool:
		if c {
			a.Cors = &Cors{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}}
		}
	case string:
		if asBool(c, false) {
			a.Cors = &Cors{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}}
		}
	case map[string]any:
		a.Cors = &Cors{
			AllowOrigins:     asStrings(c["AllowOrigins"]),
			AllowMethods:     upper(asStrings(c["AllowMethods"])),
			AllowHeaders:     asStrings(c["AllowHeaders"]),
			ExposeHeaders:    asStrings(c["ExposeHeaders"]),
			AllowCredentials: asBool(c["AllowCredentials"], false),
		}
		if a.Cors.MaxAge, err = asInt(c["MaxAge"], 0); err != nil {
			return HTTPAPI{}, fmt.Errorf("CorsConfiguration.MaxAge: %w", err)
		}
	}
	return a, nil
}

func upper(l []string) []string {
	for i := range l {
		l[i] = strings.ToUpper(l[i])
	}
	return l
}
