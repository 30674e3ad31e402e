package template

import (
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// path is template.yaml, seen from this package's directory.
const path = "../../template.yaml"

// value is a template node with CloudFormation's short-form intrinsics
// (!Ref X, !GetAtt A.B, !Sub s) read as their long forms ({"Ref": "X"},
// {"Fn::GetAtt": ...}, {"Fn::Sub": s}).
type value = any

func decode(n *yaml.Node) value {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return decode(n.Content[0])
	}
	var v value
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]value{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = decode(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		var l []value
		for _, c := range n.Content {
			l = append(l, decode(c))
		}
		v = l
	case yaml.AliasNode:
		return decode(n.Alias)
	default:
		v = n.Value
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		fn := strings.TrimPrefix(n.Tag, "!")
		if fn != "Ref" && fn != "Condition" {
			fn = "Fn::" + fn
		}
		return map[string]value{fn: v}
	}
	return v
}

type tmpl struct {
	globals   map[string]value // Globals.Function
	params    map[string]value
	resources map[string]map[string]value
}

func load(t *testing.T) tmpl {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	root, _ := decode(&doc).(map[string]value)
	out := tmpl{globals: asMap(get(root["Globals"], "Function")), params: asMap(root["Parameters"]), resources: map[string]map[string]value{}}
	for name, r := range asMap(root["Resources"]) {
		out.resources[name] = asMap(r)
	}
	if len(out.resources) == 0 {
		t.Fatal("template.yaml has no Resources: the test no longer reads it")
	}
	return out
}

func asMap(v value) map[string]value {
	m, _ := v.(map[string]value)
	return m
}

// get follows keys through nested mappings.
func get(v value, keys ...string) value {
	for _, k := range keys {
		v = asMap(v)[k]
	}
	return v
}

// ref is the logical id a {"Ref": id} or {"Fn::GetAtt": "id.Attr"} names.
func ref(v value) string {
	m := asMap(v)
	if s, ok := m["Ref"].(string); ok {
		return s
	}
	switch g := m["Fn::GetAtt"].(type) {
	case string:
		return strings.SplitN(g, ".", 2)[0]
	case []value:
		if len(g) > 0 {
			s, _ := g[0].(string)
			return s
		}
	}
	return ""
}

func (tp tmpl) ofType(types ...string) []string {
	var out []string
	for name, r := range tp.resources {
		if typ, _ := r["Type"].(string); slices.Contains(types, typ) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// strings returns v as a list of strings (a string is a list of one).
func stringList(v value) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []value:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Function logs never expire unless their log group is declared with a
// retention: Lambda creates /aws/lambda/<name> without one on first use.
// Every function must log to a group the template declares (LoggingConfig
// LogGroup, or a group named /aws/lambda/${Function}) whose retention is
// the LogRetentionDays parameter, and so must every other log group.
func TestEveryFunctionLogsToADeclaredGroupWithRetention(t *testing.T) {
	tp := load(t)
	if tp.params["LogRetentionDays"] == nil {
		t.Fatal("no LogRetentionDays parameter")
	}
	groups := map[string]string{} // log group → the function it is named after
	for _, g := range tp.ofType("AWS::Logs::LogGroup") {
		props := asMap(tp.resources[g]["Properties"])
		if ref(props["RetentionInDays"]) != "LogRetentionDays" {
			t.Errorf("log group %s: RetentionInDays is %v, want !Ref LogRetentionDays", g, props["RetentionInDays"])
		}
		if sub, ok := get(props, "LogGroupName", "Fn::Sub").(string); ok && strings.HasPrefix(sub, "/aws/lambda/${") {
			groups[g] = strings.TrimSuffix(strings.TrimPrefix(sub, "/aws/lambda/${"), "}")
		}
	}
	fns := tp.ofType("AWS::Serverless::Function", "AWS::Lambda::Function")
	if len(fns) == 0 {
		t.Fatal("no functions in template.yaml")
	}
	for _, fn := range fns {
		lg := ref(get(tp.resources[fn], "Properties", "LoggingConfig", "LogGroup"))
		if lg == "" {
			for g, named := range groups {
				if named == fn {
					lg = g
				}
			}
		}
		if lg == "" {
			t.Errorf("function %s logs to a group the template does not declare (set LoggingConfig.LogGroup: !Ref <a log group with RetentionInDays>)", fn)
			continue
		}
		if typ := tp.resources[lg]["Type"]; typ != "AWS::Logs::LogGroup" {
			t.Errorf("function %s logs to %s, a %v, not an AWS::Logs::LogGroup", fn, lg, typ)
		}
	}
}

// CloudWatch alarms publish to SNS as cloudwatch.amazonaws.com. An
// encrypted topic must use a customer managed key whose policy lets that
// service use it: with the AWS managed key (alias/aws/sns) the alarm's
// notifications fail and nobody is told.
func TestAlarmTopicsUseAKeyCloudWatchCanUse(t *testing.T) {
	tp := load(t)
	topics := map[string]bool{}
	for _, a := range tp.ofType("AWS::CloudWatch::Alarm") {
		props := asMap(tp.resources[a]["Properties"])
		for _, k := range []string{"AlarmActions", "OKActions", "InsufficientDataActions"} {
			l, _ := props[k].([]value)
			for _, act := range l {
				if id := ref(act); id != "" && tp.resources[id]["Type"] == "AWS::SNS::Topic" {
					topics[id] = true
				}
			}
		}
	}
	if len(topics) == 0 {
		t.Fatal("no alarm publishes to a topic of the template")
	}
	for topic := range topics {
		key := get(tp.resources[topic], "Properties", "KmsMasterKeyId")
		if key == nil {
			continue // not encrypted: CloudWatch can publish
		}
		id := ref(key)
		if id == "" || tp.resources[id]["Type"] != "AWS::KMS::Key" {
			t.Errorf("topic %s is encrypted with %v: not a customer managed key of this template, CloudWatch cannot use it", topic, key)
			continue
		}
		if !grantsCloudWatch(get(tp.resources[id], "Properties", "KeyPolicy")) {
			t.Errorf("the key policy of %s does not allow cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*", id)
		}
	}
}

func grantsCloudWatch(policy value) bool {
	stmts, _ := get(policy, "Statement").([]value)
	need := map[string]bool{"kms:Decrypt": false, "kms:GenerateDataKey*": false}
	for _, st := range stmts {
		if get(st, "Effect") != "Allow" || !slices.Contains(stringList(get(st, "Principal", "Service")), "cloudwatch.amazonaws.com") {
			continue
		}
		for _, a := range stringList(get(st, "Action")) {
			if a == "kms:*" {
				return true
			}
			if _, ok := need[a]; ok {
				need[a] = true
			}
		}
	}
	return need["kms:Decrypt"] && need["kms:GenerateDataKey*"]
}

// Closed referrals' personal data expires after the deployment's retention
// (PersonalDataRetentionDays), which intake records on each referral; the
// functions that hash emails into keys read the key-hash secret from SSM.
func TestPrivacySettingsReachTheFunctions(t *testing.T) {
	tp := load(t)
	if tp.params["PersonalDataRetentionDays"] == nil {
		t.Fatal("no PersonalDataRetentionDays parameter")
	}
	env := get(tp.resources["IntakeFunction"], "Properties", "Environment", "Variables", "REFERFLOW_PERSONAL_DATA_RETENTION_DAYS")
	if ref(env) != "PersonalDataRetentionDays" {
		t.Errorf("IntakeFunction REFERFLOW_PERSONAL_DATA_RETENTION_DAYS = %v, want !Ref PersonalDataRetentionDays", env)
	}
	for _, fn := range []string{"IntakeFunction", "WebhookFunction", "AdminFunction"} {
		if !allows(tp.resources[fn], "ssm:GetParameter") {
			t.Errorf("%s cannot read the key-hash secret (ssm:GetParameter)", fn)
		}
	}
	// Closing a referral as rejected, and erasing a person, delete keys.
	for _, fn := range []string{"VerifyFunction", "AdminFunction", "CompleteFunction"} {
		if !allows(tp.resources[fn], "dynamodb:DeleteItem") {
			t.Errorf("%s cannot delete the dedupe keys of a rejected referral (dynamodb:DeleteItem)", fn)
		}
	}
	if !allows(tp.resources["IntakeFunction"], "dynamodb:ConditionCheckItem") {
		t.Error("IntakeFunction cannot check dedupe keys made under older secrets (dynamodb:ConditionCheckItem)")
	}
}

// allows reports whether one of a function's inline policy statements
// allows action.
func allows(fn map[string]value, action string) bool {
	pols, _ := get(fn, "Properties", "Policies").([]value)
	for _, p := range pols {
		stmts, _ := get(p, "Statement").([]value)
		for _, st := range stmts {
			if get(st, "Effect") == "Allow" && slices.Contains(stringList(get(st, "Action")), action) {
				return true
			}
		}
	}
	return false
}
