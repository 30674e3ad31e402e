package sam

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
)

// Pseudo parameter values of the local stack.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
	StackName = "referflow-local"
	Partition = "aws"
	URLSuffix = "amazonaws.com"
)

// noValue is what AWS::NoValue resolves to; it is removed from the
// enclosing map or list.
type noValueT struct{}

var noValue = noValueT{}

// maxDepth bounds recursion through Refs between resources.
const maxDepth = 64

// Resolve returns v with every intrinsic function replaced by its value.
// AWS::NoValue entries are dropped from maps and lists.
func (t *Template) Resolve(v any) (any, error) {
	out, err := t.resolve(v, 0)
	if err != nil {
		return nil, err
	}
	if out == noValue {
		return nil, nil
	}
	return out, nil
}

func (t *Template) resolve(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("intrinsic nesting deeper than %d (cycle?)", maxDepth)
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
					r, err := t.intrinsic(k, arg, depth+1)
					if err != nil {
						return nil, fmt.Errorf("%s: %w", k, err)
					}
					return r, nil
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := t.resolve(e, depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s.%w", k, err)
			}
			if r == noValue {
				continue
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for i, e := range x {
			r, err := t.resolve(e, depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if r == noValue {
				continue
			}
			out = append(out, r)
		}
		return out, nil
	default:
		return v, nil
	}
}

func (t *Template) intrinsic(name string, arg any, depth int) (any, error) {
	switch name {
	case "Ref":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("argument must be a string, got %T", arg)
		}
		return t.ref(s, depth)
	case "Condition":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("argument must be a string, got %T", arg)
		}
		return t.condition(s, depth)
	case "Fn::GetAtt":
		var res, attr string
		switch a := arg.(type) {
		case string:
			var ok bool
			res, attr, ok = strings.Cut(a, ".")
			if !ok {
				return nil, fmt.Errorf("%q is not Resource.Attribute", a)
			}
		case []any:
			l, err := t.resolveList(a, 2, depth)
			if err != nil {
				return nil, err
			}
			res, attr = toString(l[0]), toString(l[1])
		default:
			return nil, fmt.Errorf("unexpected argument %T", arg)
		}
		return t.getAtt(res, attr, depth)
	case "Fn::Sub":
		return t.sub(arg, depth)
	case "Fn::Join":
		l, ok := arg.([]any)
		if !ok || len(l) != 2 {
			return nil, fmt.Errorf("want [delimiter, list]")
		}
		delim, err := t.resolveString(l[0], depth)
		if err != nil {
			return nil, err
		}
		il, err := t.resolveItems(l[1], depth)
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(il))
		for i, it := range il {
			parts[i] = toString(it)
		}
		return strings.Join(parts, delim), nil
	case "Fn::Select":
		l, ok := arg.([]any)
		if !ok || len(l) != 2 {
			return nil, fmt.Errorf("want [index, list]")
		}
		idxV, err := t.resolve(l[0], depth)
		if err != nil {
			return nil, err
		}
		idx, err := strconv.Atoi(toString(idxV))
		if err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		il, err := t.resolveItems(l[1], depth)
		if err != nil {
			return nil, err
		}
		if idx < 0 || idx >= len(il) {
			return nil, fmt.Errorf("index %d out of range (%d items)", idx, len(il))
		}
		return il[idx], nil
	case "Fn::Split":
		l, ok := arg.([]any)
		if !ok || len(l) != 2 {
			return nil, fmt.Errorf("want [delimiter, string]")
		}
		delim, err := t.resolveString(l[0], depth)
		if err != nil {
			return nil, err
		}
		s, err := t.resolveString(l[1], depth)
		if err != nil {
			return nil, err
		}
		parts := strings.Split(s, delim)
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	case "Fn::If":
		l, ok := arg.([]any)
		if !ok || len(l) != 3 {
			return nil, fmt.Errorf("want [condition, then, else]")
		}
		cond, ok := l[0].(string)
		if !ok {
			return nil, fmt.Errorf("condition name must be a string")
		}
		b, err := t.condition(cond, depth)
		if err != nil {
			return nil, err
		}
		if b {
			return t.resolve(l[1], depth)
		}
		return t.resolve(l[2], depth)
	case "Fn::Equals":
		l, err := t.resolveList(arg, 2, depth)
		if err != nil {
			return nil, err
		}
		return equalValues(l[0], l[1]), nil
	case "Fn::Not":
		l, err := t.resolveList(arg, 1, depth)
		if err != nil {
			return nil, err
		}
		b, ok := l[0].(bool)
		if !ok {
			return nil, fmt.Errorf("argument must be a condition, got %T", l[0])
		}
		return !b, nil
	case "Fn::And", "Fn::Or":
		l, ok := arg.([]any)
		if !ok || len(l) < 1 {
			return nil, fmt.Errorf("want a list of conditions")
		}
		acc := name == "Fn::And"
		for _, e := range l {
			r, err := t.resolve(e, depth)
			if err != nil {
				return nil, err
			}
			b, ok := r.(bool)
			if !ok {
				return nil, fmt.Errorf("argument must be a condition, got %T", r)
			}
			if name == "Fn::And" {
				acc = acc && b
			} else {
				acc = acc || b
			}
		}
		return acc, nil
	case "Fn::FindInMap":
		l, err := t.resolveList(arg, 3, depth)
		if err != nil {
			return nil, err
		}
		m1, _ := t.mappings[toString(l[0])].(map[string]any)
		m2, _ := m1[toString(l[1])].(map[string]any)
		v, ok := m2[toString(l[2])]
		if !ok {
			return nil, fmt.Errorf("no mapping %v", l)
		}
		return t.resolve(v, depth)
	case "Fn::Base64":
		s, err := t.resolveString(arg, depth)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "Fn::GetAZs":
		return []any{Region + "a", Region + "b", Region + "c"}, nil
	case "Fn::ImportValue":
		s, err := t.resolveString(arg, depth)
		if err != nil {
			return nil, err
		}
		return "imported-" + s, nil
	case "Fn::ToJsonString":
		r, err := t.resolve(arg, depth)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("marshal: %w", err)
		}
		return string(b), nil
	case "Fn::Length":
		r, err := t.resolve(arg, depth)
		if err != nil {
			return nil, err
		}
		l, ok := r.([]any)
		if !ok {
			return nil, fmt.Errorf("argument must resolve to a list")
		}
		return len(l), nil
	}
	return nil, fmt.Errorf("unsupported intrinsic function %s", name)
}

func (t *Template) resolveList(arg any, n int, depth int) ([]any, error) {
	r, err := t.resolve(arg, depth)
	if err != nil {
		return nil, err
	}
	l, ok := r.([]any)
	if !ok || len(l) != n {
		return nil, fmt.Errorf("want a list of %d arguments, got %v", n, r)
	}
	return l, nil
}

func (t *Template) resolveString(arg any, depth int) (string, error) {
	r, err := t.resolve(arg, depth)
	if err != nil {
		return "", err
	}
	switch r.(type) {
	case map[string]any, []any:
		return "", fmt.Errorf("want a string, got %T", r)
	}
	return toString(r), nil
}

// condition evaluates the named entry of the template's Conditions section.
func (t *Template) condition(name string, depth int) (bool, error) {
	if b, ok := t.condCache[name]; ok {
		return b, nil
	}
	def, ok := t.conditions[name]
	if !ok {
		return false, fmt.Errorf("unknown condition %q", name)
	}
	r, err := t.resolve(def, depth)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := r.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s does not evaluate to a boolean (%T)", name, r)
	}
	t.condCache[name] = b
	return b, nil
}

// sub implements Fn::Sub in its string and [string, map] forms.
func (t *Template) sub(arg any, depth int) (any, error) {
	var format string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		format = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("want [string, map]")
		}
		s, ok := a[0].(string)
		if !ok {
			return nil, fmt.Errorf("first argument must be a string")
		}
		format = s
		m, ok := a[1].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("second argument must be a map")
		}
		for k, v := range m {
			r, err := t.resolve(v, depth)
			if err != nil {
				return nil, fmt.Errorf("variable %s: %w", k, err)
			}
			vars[k] = r
		}
	default:
		return nil, fmt.Errorf("unexpected argument %T", arg)
	}
	var b strings.Builder
	rest := format
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		j := strings.Index(rest[i:], "}")
		if j < 0 {
			return nil, fmt.Errorf("unterminated ${ in %q", format)
		}
		name := rest[i+2 : i+j]
		rest = rest[i+j+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		name = strings.TrimSpace(name)
		if v, ok := vars[name]; ok {
			b.WriteString(toString(v))
			continue
		}
		var v any
		var err error
		if res, attr, ok := strings.Cut(name, "."); ok {
			v, err = t.getAtt(res, attr, depth)
		} else {
			v, err = t.ref(name, depth)
		}
		if err != nil {
			return nil, fmt.Errorf("${%s}: %w", name, err)
		}
		if l, ok := v.([]any); ok {
			parts := make([]string, len(l))
			for i, e := range l {
				parts[i] = toString(e)
			}
			v = strings.Join(parts, ",")
		}
		b.WriteString(toString(v))
	}
	return b.String(), nil
}

// ref implements Ref for pseudo parameters, parameters and resources.
func (t *Template) ref(name string, depth int) (any, error) {
	switch name {
	case "AWS::Region":
		return Region, nil
	case "AWS::AccountId":
		return AccountID, nil
	case "AWS::StackName":
		return StackName, nil
	case "AWS::StackId":
		return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/00000000-0000-0000-0000-000000000000", Region, AccountID, StackName), nil
	case "AWS::Partition":
		return Partition, nil
	case "AWS::URLSuffix":
		return URLSuffix, nil
	case "AWS::NoValue":
		return noValue, nil
	case "AWS::NotificationARNs":
		return []any{}, nil
	}
	if p, ok := t.params[name]; ok {
		return p, nil
	}
	r, ok := t.resources[name]
	if !ok {
		// A resource SAM generates (FunctionRole, ServerlessHttpApi, ...) or
		// one we do not know: a plausible id keeps resolution going.
		return name, nil
	}
	return t.resourceRef(r, depth)
}

// physicalName resolves the named property of r, or returns def.
func (t *Template) physicalName(r *resource, prop, def string, depth int) (string, error) {
	if v, ok := r.Properties[prop]; ok {
		s, err := t.resolveString(v, depth+1)
		if err != nil {
			return "", fmt.Errorf("%s.%s: %w", r.LogicalID, prop, err)
		}
		if s != "" {
			return s, nil
		}
	}
	return def, nil
}

func (t *Template) resourceRef(r *resource, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("reference cycle through %s", r.LogicalID)
	}
	id := r.LogicalID
	switch r.Type {
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		return t.physicalName(r, "FunctionName", id, depth)
	case "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable":
		return t.physicalName(r, "TableName", StackName+"-"+id, depth)
	case "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine":
		name, err := t.physicalName(r, "Name", id, depth)
		if err != nil {
			return nil, err
		}
		if r.Type == "AWS::StepFunctions::StateMachine" {
			name, err = t.physicalName(r, "StateMachineName", name, depth)
			if err != nil {
				return nil, err
			}
		}
		return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", Region, AccountID, name), nil
	case "AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api", "AWS::Serverless::Api", "AWS::ApiGateway::RestApi":
		return apiID(id), nil
	case "AWS::SNS::Topic":
		name, err := t.physicalName(r, "TopicName", StackName+"-"+id, depth)
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("arn:aws:sns:%s:%s:%s", Region, AccountID, name), nil
	case "AWS::SQS::Queue":
		name, err := t.physicalName(r, "QueueName", StackName+"-"+id, depth)
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", Region, AccountID, name), nil
	case "AWS::SSM::Parameter":
		return t.physicalName(r, "Name", StackName+"-"+id, depth)
	case "AWS::Logs::LogGroup":
		return t.physicalName(r, "LogGroupName", StackName+"-"+id, depth)
	case "AWS::IAM::Role":
		return t.physicalName(r, "RoleName", StackName+"-"+id, depth)
	case "AWS::CloudWatch::Alarm":
		return t.physicalName(r, "AlarmName", StackName+"-"+id, depth)
	case "AWS::S3::Bucket":
		return t.physicalName(r, "BucketName", strings.ToLower(StackName+"-"+id), depth)
	case "AWS::Events::EventBus":
		return t.physicalName(r, "Name", StackName+"-"+id, depth)
	}
	return StackName + "-" + id, nil
}

// getAtt implements Fn::GetAtt.
func (t *Template) getAtt(resName, attr string, depth int) (any, error) {
	r, ok := t.resources[resName]
	if !ok {
		return t.plausibleArn(resName, attr), nil
	}
	refV, err := t.resourceRef(r, depth+1)
	if err != nil {
		return nil, err
	}
	ref := toString(refV)
	switch r.Type {
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		if attr == "Arn" {
			return FunctionARN(ref), nil
		}
	case "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable":
		arn := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", Region, AccountID, ref)
		switch attr {
		case "Arn":
			return arn, nil
		case "StreamArn":
			return arn + "/stream/1970-01-01T00:00:00.000", nil
		}
	case "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine":
		switch attr {
		case "Arn":
			return ref, nil
		case "Name":
			return ref[strings.LastIndex(ref, ":")+1:], nil
		}
	case "AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api":
		if attr == "ApiEndpoint" {
			return fmt.Sprintf("https://%s.execute-api.%s.%s", ref, Region, URLSuffix), nil
		}
	case "AWS::SNS::Topic":
		if attr == "TopicArn" {
			return ref, nil
		}
		if attr == "TopicName" {
			return ref[strings.LastIndex(ref, ":")+1:], nil
		}
	case "AWS::SQS::Queue":
		name := ref[strings.LastIndex(ref, "/")+1:]
		switch attr {
		case "Arn":
			return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", Region, AccountID, name), nil
		case "QueueName":
			return name, nil
		case "QueueUrl":
			return ref, nil
		}
	case "AWS::IAM::Role":
		if attr == "Arn" {
			return fmt.Sprintf("arn:aws:iam::%s:role/%s", AccountID, ref), nil
		}
		if attr == "RoleId" {
			return "AROA" + strings.ToUpper(apiID(ref)), nil
		}
	case "AWS::Logs::LogGroup":
		if attr == "Arn" {
			return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", Region, AccountID, ref), nil
		}
	case "AWS::Events::EventBus":
		switch attr {
		case "Arn":
			return EventBusARN(ref), nil
		case "Name":
			return ref, nil
		}
	case "AWS::SSM::Parameter":
		switch attr {
		case "Value":
			return t.physicalName(r, "Value", "", depth)
		case "Type":
			return t.physicalName(r, "Type", "String", depth)
		}
	}
	return t.plausibleArn(resName, attr), nil
}

// plausibleArn is the value of an attribute the local stack does not model.
func (t *Template) plausibleArn(resName, attr string) string {
	if attr == "Arn" || strings.HasSuffix(attr, "Arn") {
		svc := "cloudformation"
		if r, ok := t.resources[resName]; ok {
			parts := strings.Split(r.Type, "::")
			if len(parts) >= 2 {
				svc = strings.ToLower(parts[1])
			}
		}
		if svc == "iam" {
			return fmt.Sprintf("arn:aws:iam::%s:role/%s-%s", AccountID, StackName, resName)
		}
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s-%s", svc, Region, AccountID, StackName, resName)
	}
	return fmt.Sprintf("%s-%s-%s", StackName, resName, attr)
}

// FunctionARN is the unqualified ARN of the named Lambda function.
func FunctionARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", Region, AccountID, name)
}

// apiID is a stable 10-character id derived from a logical id, shaped like
// an API Gateway id.
func apiID(logicalID string) string {
	h := fnv.New64a()
	h.Write([]byte(logicalID))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	n := h.Sum64()
	b := make([]byte, 10)
	for i := range b {
		b[i] = alphabet[n%uint64(len(alphabet))]
		n /= uint64(len(alphabet))
	}
	return string(b)
}

func equalValues(a, b any) bool {
	ja, _ := json.Marshal(normalizeScalars(a))
	jb, _ := json.Marshal(normalizeScalars(b))
	return string(ja) == string(jb)
}

// normalizeScalars turns scalars into strings so "1" equals 1, as in
// CloudFormation where every parameter value is a string.
func normalizeScalars(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalizeScalars(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeScalars(e)
		}
		return out
	default:
		return toString(v)
	}
}

// toString renders a resolved scalar as CloudFormation would.
func toString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case noValueT:
		return ""
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = toString(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resolveItems resolves the list argument (any length) of Fn::Join and
// Fn::Select.
func (t *Template) resolveItems(v any, depth int) ([]any, error) {
	items, err := t.resolve(v, depth)
	if err != nil {
		return nil, err
	}
	il, ok := items.([]any)
	if !ok {
		return nil, fmt.Errorf("second argument must resolve to a list, got %T", items)
	}
	return il, nil
}
