package sam

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const intrinsicsTemplate = `
Parameters:
  Stage: {Type: String, Default: local}
  Origins: {Type: CommaDelimitedList, Default: "https://a.example,https://b.example"}
  Size: {Type: Number, Default: 256}
Conditions:
  IsLocal: !Equals [!Ref Stage, local]
  NotLocal: !Not [!Condition IsLocal]
  Both: !And [!Condition IsLocal, !Equals ["1", 1]]
  Either: {"Fn::Or": [{"Condition": NotLocal}, {"Condition": IsLocal}]}
Mappings:
  Env: {local: {Level: debug}}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {FunctionName: !Sub "${AWS::StackName}-fn"}
  Plain:
    Type: AWS::Serverless::Function
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {KeySchema: [{AttributeName: pk, KeyType: HASH}], AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]}
  Named:
    Type: AWS::DynamoDB::Table
    Properties: {TableName: !Sub "${Stage}-named"}
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties: {Name: flow, Definition: {StartAt: A, States: {A: {Type: Succeed}}}}
  Role: {Type: AWS::IAM::Role}
  Topic: {Type: AWS::SNS::Topic}
  Gone:
    Type: AWS::SNS::Topic
    Condition: NotLocal
`

func TestIntrinsics(t *testing.T) {
	tpl, err := Parse([]byte(intrinsicsTemplate), "/tmp", Options{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		yaml string
		want any
	}{
		{"ref param", `!Ref Stage`, "local"},
		{"ref list param", `!Ref Origins`, []any{"https://a.example", "https://b.example"}},
		{"ref number param", `!Ref Size`, "256"},
		{"region", `!Ref AWS::Region`, "us-east-1"},
		{"account", `{"Ref": "AWS::AccountId"}`, "123456789012"},
		{"stack", `!Ref AWS::StackName`, "referflow-local"},
		{"partition", `!Ref AWS::Partition`, "aws"},
		{"suffix", `!Ref AWS::URLSuffix`, "amazonaws.com"},
		{"novalue in map", `{a: 1, b: !Ref AWS::NoValue}`, map[string]any{"a": 1}},
		{"novalue in list", `[1, !Ref AWS::NoValue]`, []any{1}},
		{"ref function", `!Ref Fn`, "referflow-local-fn"},
		{"ref function default", `!Ref Plain`, "Plain"},
		{"fn arn", `!GetAtt Fn.Arn`, "arn:aws:lambda:us-east-1:123456789012:function:referflow-local-fn"},
		{"fn arn list", `{"Fn::GetAtt": [Plain, Arn]}`, "arn:aws:lambda:us-east-1:123456789012:function:Plain"},
		{"table ref", `!Ref Table`, "referflow-local-Table"},
		{"table named", `!Ref Named`, "local-named"},
		{"table arn", `!GetAtt Named.Arn`, "arn:aws:dynamodb:us-east-1:123456789012:table/local-named"},
		{"table stream", `!GetAtt Table.StreamArn`, "arn:aws:dynamodb:us-east-1:123456789012:table/referflow-local-Table/stream/1970-01-01T00:00:00.000"},
		{"sm ref", `!Ref Machine`, "arn:aws:states:us-east-1:123456789012:stateMachine:flow"},
		{"sm name", `!GetAtt Machine.Name`, "flow"},
		{"role arn", `!GetAtt Role.Arn`, "arn:aws:iam::123456789012:role/referflow-local-Role"},
		{"topic ref", `!Ref Topic`, "arn:aws:sns:us-east-1:123456789012:referflow-local-Topic"},
		{"unknown resource", `!GetAtt FnRole.Arn`, "arn:aws:cloudformation:us-east-1:123456789012:referflow-local-FnRole"},
		{"sub string", `!Sub "${AWS::StackName}/${Stage}/${Fn.Arn}/${!Literal}"`, "referflow-local/local/arn:aws:lambda:us-east-1:123456789012:function:referflow-local-fn/${Literal}"},
		{"sub map", `!Sub ["${A}-${Stage}", {A: !Ref Table}]`, "referflow-local-Table-local"},
		{"sub long", `{"Fn::Sub": "x-${Stage}"}`, "x-local"},
		{"join", `!Join [",", [a, !Ref Stage]]`, "a,local"},
		{"join list param", `!Join ["|", !Ref Origins]`, "https://a.example|https://b.example"},
		{"select", `!Select [1, !Ref Origins]`, "https://b.example"},
		{"select split", `!Select ["0", !Split [".", "a.b.c"]]`, "a"},
		{"split", `!Split [",", "x,y"]`, []any{"x", "y"}},
		{"if true", `!If [IsLocal, yes, no]`, "yes"},
		{"if false", `{"Fn::If": [NotLocal, yes, no]}`, "no"},
		{"if novalue", `{k: !If [NotLocal, v, !Ref AWS::NoValue]}`, map[string]any{}},
		{"and", `!If [Both, 1, 2]`, 1},
		{"or", `!If [Either, 1, 2]`, 1},
		{"equals", `!Equals [a, a]`, true},
		{"not", `!Not [!Equals [a, b]]`, true},
		{"find in map", `!FindInMap [Env, !Ref Stage, Level]`, "debug"},
		{"base64", `!Base64 hi`, "aGk="},
		{"nested", `!Sub ["${X}", {X: !Select [0, !Split ["/", !Sub "${Stage}/b"]]}]`, "local"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := parseValue(c.yaml)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Resolve(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %#v, want %#v", got, c.want)
			}
		})
	}
	if _, ok := tpl.resources["Gone"]; ok {
		t.Error("resource with a false Condition was kept")
	}
}

func TestIntrinsicErrors(t *testing.T) {
	tpl, err := Parse([]byte(intrinsicsTemplate), "/tmp", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, y := range []string{`!If [Nope, a, b]`, `!Select [5, [a]]`, `!Sub "${Unclosed"`, `!Join [",", notalist]`, `{"Fn::Bogus": 1}`} {
		raw, err := parseValue(y)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tpl.Resolve(raw); err == nil {
			t.Errorf("%s: want an error", y)
		}
	}
}

func TestParameterOverride(t *testing.T) {
	tpl, err := Parse([]byte(intrinsicsTemplate), "/tmp", Options{Parameters: map[string]string{"Stage": "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tpl.resources["Gone"]; !ok {
		t.Error("Condition NotLocal should hold with Stage=prod")
	}
}

func TestFixtureViews(t *testing.T) {
	tpl, err := Load("../testdata/template.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tpl.Functions) != 3 || len(tpl.Tables) != 1 || len(tpl.StateMachines) != 1 || len(tpl.HTTPAPIs) != 1 {
		t.Fatalf("views: %d functions, %d tables, %d state machines, %d apis", len(tpl.Functions), len(tpl.Tables), len(tpl.StateMachines), len(tpl.HTTPAPIs))
	}
	echo := tpl.Functions[0]
	if echo.LogicalID != "EchoFunction" || echo.Name != "referflow-local-echo" || echo.MemorySize != 256 || echo.Timeout != 2 ||
		echo.Handler != "bootstrap" || echo.Runtime != "provided.al2023" || echo.BuildMethod != "makefile" ||
		!reflect.DeepEqual(echo.Architectures, []string{"arm64"}) {
		t.Errorf("echo: %+v", echo)
	}
	wantEnv := map[string]string{
		"TABLE_NAME": "referflow-local-data", "REFERFLOW_SETTINGS_PREFIX": "/referflow/referflow-local/",
		"STAGE": "dev-local", "ECHO_MODE": "verbose", "FAKE_URL": "http://unused.invalid",
	}
	if !reflect.DeepEqual(echo.Environment, wantEnv) {
		t.Errorf("echo env (Globals merged) = %v", echo.Environment)
	}
	wantEvents := []HTTPEvent{
		{Name: "Admin", Path: "/admin/echo", Method: "GET", APIID: "Api"},
		{Name: "Echo", Path: "/echo/{id}", Method: "POST", APIID: "Api", Auth: "NONE"},
		{Name: "EchoAny", Path: "/files/{proxy+}", Method: "ANY", APIID: "Api", Auth: "NONE"},
	}
	if !reflect.DeepEqual(echo.HTTPEvents, wantEvents) {
		t.Errorf("events %+v", echo.HTTPEvents)
	}
	writer := tpl.Functions[2]
	if writer.MemorySize != 512 || len(writer.Schedules) != 1 || writer.Schedules[0].Schedule != "rate(5 minutes)" || writer.Schedules[0].Input != `{"source":"tick"}` {
		t.Errorf("writer: %+v", writer)
	}
	tb := tpl.Tables[0]
	if tb.Name != "referflow-local-data" || tb.BillingMode != "PAY_PER_REQUEST" || len(tb.KeySchema) != 2 || len(tb.AttributeDefinitions) != 3 ||
		len(tb.GlobalSecondaryIndexes) != 1 || tb.GlobalSecondaryIndexes[0].ProjectionType != "KEYS_ONLY" ||
		tb.TimeToLive == nil || tb.TimeToLive.AttributeName != "expires_at" || !tb.TimeToLive.Enabled {
		t.Errorf("table: %+v", tb)
	}
	sm := tpl.StateMachines[0]
	wantSubs := map[string]string{"TaskFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:TaskFunction", "TableName": "referflow-local-data"}
	if sm.Name != "referflow-local-workflow" || sm.Type != "STANDARD" || !reflect.DeepEqual(sm.Substitutions, wantSubs) {
		t.Errorf("state machine: %+v", sm)
	}
	def, err := sm.RenderDefinition()
	if err != nil {
		t.Fatal(err)
	}
	if want := `"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:TaskFunction"`; !contains(def, want) {
		t.Errorf("definition lacks %s", want)
	}
	api := tpl.HTTPAPIs[0]
	wantCors := &Cors{
		AllowOrigins: []string{"https://app.example.com", "https://*.example.org"}, AllowMethods: []string{"GET", "POST"},
		AllowHeaders: []string{"content-type", "x-api-key"}, ExposeHeaders: []string{"x-request-id"}, MaxAge: 600, AllowCredentials: true,
	}
	if api.DefaultAuthorizer != "AWS_IAM" || !reflect.DeepEqual(api.Cors, wantCors) {
		t.Errorf("api: %+v %+v", api, api.Cors)
	}
	if tpl.SettingsPrefix() != "/referflow/referflow-local/" {
		t.Errorf("settings prefix %q", tpl.SettingsPrefix())
	}
}

func TestSubstituteUnresolved(t *testing.T) {
	if _, err := Substitute(`{"a":"${A}","b":"${B}"}`, map[string]string{"A": "1"}); err == nil {
		t.Error("want an error for ${B}")
	}
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "d.json"), []byte(`"${A}"`), 0o644)
	got, err := StateMachine{DefinitionPath: filepath.Join(dir, "d.json"), Substitutions: map[string]string{"A": "x"}}.RenderDefinition()
	if err != nil || got != `"x"` {
		t.Errorf("%q %v", got, err)
	}
}

func TestGlobalsMerge(t *testing.T) {
	tpl, err := Parse([]byte(`
Globals:
  Function:
    Timeout: 10
    Layers: [g]
    Environment: {Variables: {A: global, B: global}}
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Layers: [f]
      Environment: {Variables: {B: mine, C: mine}}
`), "/x", Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := tpl.Functions[0]
	if f.Timeout != 10 || !reflect.DeepEqual(f.Environment, map[string]string{"A": "global", "B": "mine", "C": "mine"}) {
		t.Errorf("%+v", f)
	}
	props, _ := tpl.ResourceProperties("F")
	if !reflect.DeepEqual(props["Layers"], []any{"g", "f"}) {
		t.Errorf("layers %v", props["Layers"])
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestRepoTemplate resolves the repo's template.yaml: every function,
// table, state machine and definition substitution must resolve.
func TestRepoTemplate(t *testing.T) {
	tpl, err := Load("../../../template.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sm := range tpl.StateMachines {
		if _, err := sm.RenderDefinition(); err != nil {
			t.Error(err)
		}
	}
	for _, f := range tpl.Functions {
		t.Logf("function %s (%s) %d MB %d s, %d routes, %d schedules", f.LogicalID, f.Name, f.MemorySize, f.Timeout, len(f.HTTPEvents), len(f.Schedules))
	}
	if len(tpl.Functions) == 0 {
		t.Error("no functions")
	}
}
