package template

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/referflow/referflow/internal/metrics"
)

// runbook is docs/runbook.md, seen from this package's directory.
const runbook = "../../docs/runbook.md"

// Every function's failures reach a person: an alarm on its Lambda Errors,
// from the first one, to the alarm topic. A function added without one
// fails here.
func TestEveryFunctionHasAnErrorsAlarm(t *testing.T) {
	tp := load(t)
	alarmed := map[string]string{}
	for _, name := range tp.ofType("AWS::CloudWatch::Alarm") {
		p := asMap(tp.resources[name]["Properties"])
		if p["Namespace"] != "AWS/Lambda" || p["MetricName"] != "Errors" {
			continue
		}
		dims, _ := p["Dimensions"].([]value)
		if len(dims) != 1 || get(dims[0], "Name") != "FunctionName" {
			t.Errorf("%s: dimensions %v, want FunctionName only", name, dims)
			continue
		}
		if p["Statistic"] != "Sum" || p["Threshold"] != "1" || p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" {
			t.Errorf("%s: %v %v %v, want Sum >= 1 (one error is news)", name, p["Statistic"], p["ComparisonOperator"], p["Threshold"])
		}
		if actions, _ := p["AlarmActions"].([]value); len(actions) == 0 || ref(actions[0]) != "AlarmTopic" {
			t.Errorf("%s: alarm actions %v", name, p["AlarmActions"])
		}
		alarmed[ref(get(dims[0], "Value"))] = name
	}
	fns := tp.ofType("AWS::Serverless::Function")
	if len(fns) < 10 {
		t.Fatalf("only %d functions found: the test no longer reads the template", len(fns))
	}
	for _, fn := range fns {
		if alarmed[fn] == "" {
			t.Errorf("%s has no alarm on its Errors", fn)
		}
	}
}

// dashboard is the dashboard's body as CloudFormation will send it, with
// every ${X} of its !Sub replaced by X, and the names it substitutes.
func dashboard(t *testing.T, tp tmpl) (map[string]any, []string) {
	t.Helper()
	ds := tp.ofType("AWS::CloudWatch::Dashboard")
	if len(ds) != 1 {
		t.Fatalf("dashboards %v, want one", ds)
	}
	body, ok := get(tp.resources[ds[0]], "Properties", "DashboardBody", "Fn::Sub").(string)
	if !ok {
		t.Fatalf("%s: DashboardBody is not a !Sub string", ds[0])
	}
	var subs []string
	plain := regexp.MustCompile(`\$\{([^}]+)\}`).ReplaceAllStringFunc(body, func(s string) string {
		name := s[2 : len(s)-1]
		subs = append(subs, name)
		return name
	})
	var d map[string]any
	if err := json.Unmarshal([]byte(plain), &d); err != nil {
		t.Fatalf("DashboardBody is not JSON once substituted: %v", err)
	}
	return d, subs
}

// The dashboard is valid JSON after !Sub, substitutes only what the
// template declares, and its widgets tile a 24-column grid without
// overlapping (CloudWatch would otherwise move them about).
func TestDashboardParsesAndTiles(t *testing.T) {
	tp := load(t)
	d, subs := dashboard(t, tp)
	for _, s := range subs {
		id := strings.SplitN(s, ".", 2)[0]
		if !strings.HasPrefix(s, "AWS::") && tp.resources[id] == nil && tp.params[id] == nil {
			t.Errorf("dashboard substitutes ${%s}: no such resource or parameter", s)
		}
	}
	widgets, _ := d["widgets"].([]any)
	if len(widgets) == 0 {
		t.Fatal("dashboard has no widgets")
	}
	taken := map[[2]int]int{}
	for i, w := range widgets {
		var x, y, wd, ht int
		for k, p := range map[string]*int{"x": &x, "y": &y, "width": &wd, "height": &ht} {
			f, ok := asMap(w)[k].(float64)
			if !ok {
				t.Fatalf("widget %d has no %s", i, k)
			}
			*p = int(f)
		}
		if x < 0 || wd < 1 || x+wd > 24 || y < 0 || ht < 1 {
			t.Errorf("widget %d at x=%d width=%d is off the 24-column grid", i, x, wd)
		}
		for c := x; c < x+wd; c++ {
			for r := y; r < y+ht; r++ {
				if j, ok := taken[[2]int{c, r}]; ok {
					t.Fatalf("widgets %d and %d overlap at column %d row %d", j, i, c, r)
				}
				taken[[2]int{c, r}] = i
			}
		}
		if get(w, "type") == "metric" && get(w, "properties", "region") != "AWS::Region" {
			t.Errorf("widget %d: metric widgets need the region", i)
		}
	}
}

// series lists, for each metric widget, its metrics as "Namespace/Name
// dim=value ... stat" (the widget's stat unless the metric names its own).
func series(d map[string]any) map[string][]string {
	out := map[string][]string{}
	for _, w := range d["widgets"].([]any) {
		props := asMap(w)["properties"]
		title, _ := get(props, "title").(string)
		stat, _ := get(props, "stat").(string)
		ms, _ := get(props, "metrics").([]any)
		for _, m := range ms {
			l, _ := m.([]any)
			var parts []string
			st := stat
			for i, v := range l {
				switch v := v.(type) {
				case string:
					switch {
					case i == 0:
						parts = append(parts, v)
					case i == 1:
						parts[0] += "/" + v
					case i%2 == 0:
						parts = append(parts, v)
					default:
						parts[len(parts)-1] += "=" + v
					}
				case map[string]any:
					if s, ok := v["stat"].(string); ok {
						st = s
					}
				}
			}
			if len(parts) > 0 {
				out[title] = append(out[title], strings.Join(append(parts, st), " "))
			}
		}
	}
	return out
}

// has reports whether any widget shows the series want.
func has(s map[string][]string, want string) bool {
	for _, l := range s {
		if slices.Contains(l, want) {
			return true
		}
	}
	return false
}

// The dashboard shows every function's errors and its p50 and p95
// durations, the workflow's failed, timed out and aborted executions, the
// publish lag and dead letters, the business metrics the alarms watch, and
// every alarm's state.
func TestDashboardNamesEveryFunction(t *testing.T) {
	tp := load(t)
	d, _ := dashboard(t, tp)
	s := series(d)
	for _, fn := range tp.ofType("AWS::Serverless::Function") {
		for _, want := range []string{"Errors FunctionName=%s Sum", "Duration FunctionName=%s p50", "Duration FunctionName=%s p95"} {
			if w := "AWS/Lambda/" + fmt.Sprintf(want, fn); !has(s, w) {
				t.Errorf("dashboard does not show %s", w)
			}
		}
	}
	for _, want := range []string{
		"AWS/States/ExecutionsFailed StateMachineArn=ReferralWorkflow Sum",
		"AWS/States/ExecutionsTimedOut StateMachineArn=ReferralWorkflow Sum",
		"AWS/States/ExecutionsAborted StateMachineArn=ReferralWorkflow Sum",
		"AWS/Lambda/IteratorAge FunctionName=PublishFunction Maximum",
		"AWS/SQS/ApproximateNumberOfMessagesVisible QueueName=PublishFailures.QueueName Maximum",
		metrics.Namespace + "/" + metrics.NeedsAttention + " Sum",
		metrics.Namespace + "/" + metrics.OldestNeedsAttention + " Service=reconcile Maximum",
		metrics.Namespace + "/ReferralsReceived Service=intake Sum",
		metrics.Namespace + "/WebhookEvents Service=webhook Sum",
		metrics.Namespace + "/WebhookSignatureFailures Service=webhook Sum",
		metrics.Namespace + "/WebhookSignatureFailures Service=billing Sum",
		metrics.Namespace + "/PayoutsFailed Sum",
		metrics.Namespace + "/RailReversalsRefused Sum",
		metrics.Namespace + "/RewardsPaid Service=payouts Sum",
	} {
		if !has(s, want) {
			t.Errorf("dashboard does not show %s", want)
		}
	}
	var shown []string
	for _, w := range d["widgets"].([]any) {
		if get(w, "type") == "alarm" {
			for _, a := range get(w, "properties", "alarms").([]any) {
				shown = append(shown, strings.TrimSuffix(a.(string), ".Arn"))
			}
		}
	}
	for _, a := range tp.ofType("AWS::CloudWatch::Alarm") {
		if !slices.Contains(shown, a) {
			t.Errorf("the dashboard's alarm widget does not show %s", a)
		}
	}
}

// anchors are the GitHub anchors of docs/runbook.md's headings.
func anchors(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(runbook)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, l := range strings.Split(string(src), "\n") {
		h := strings.TrimLeft(l, "#")
		if len(h) == len(l) || !strings.HasPrefix(h, " ") {
			continue
		}
		slug := strings.Map(func(r rune) rune {
			switch {
			case r == ' ':
				return '-'
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				return unicode.ToLower(r)
			}
			return -1
		}, strings.TrimSpace(h))
		out[slug] = true
	}
	return out
}

// Whoever is woken by an alarm reads what it means and follows its link
// to the runbook section that says what to do; the description fits
// CloudWatch's 1,024 characters once the link is filled in.
func TestAlarmDescriptionsLinkTheirRunbookSection(t *testing.T) {
	tp := load(t)
	sections := anchors(t)
	base, _ := get(tp.params, "RunbookUrl", "Default").(string)
	if !strings.HasPrefix(base, "https://") || !strings.HasSuffix(base, "/docs/runbook.md") {
		t.Fatalf("RunbookUrl defaults to %q, want the repository's docs/runbook.md", base)
	}
	link := regexp.MustCompile(`\$\{RunbookUrl\}#([a-z0-9_-]+)`)
	for _, name := range tp.ofType("AWS::CloudWatch::Alarm") {
		desc, _ := get(tp.resources[name], "Properties", "AlarmDescription", "Fn::Sub").(string)
		m := link.FindStringSubmatch(desc)
		switch {
		case m == nil:
			t.Errorf("%s: description %q does not link ${RunbookUrl}#section", name, desc)
		case !sections[m[1]]:
			t.Errorf("%s links #%s: docs/runbook.md has no such heading", name, m[1])
		case len(strings.ReplaceAll(desc, "${RunbookUrl}", base)) > 1024:
			t.Errorf("%s: description over 1,024 characters", name)
		case len(strings.TrimSpace(link.ReplaceAllString(desc, ""))) < 60:
			t.Errorf("%s: the description does not say what the alarm means: %q", name, desc)
		}
	}
}

// A referral left in needs_attention is noticed however long ago it was
// marked: the reconciler's gauge, read as its Maximum, above a day; and
// the gauge going silent (the reconciler not running) alarms too.
func TestOldestNeedsAttentionRaisesAnAlarm(t *testing.T) {
	tp := load(t)
	var found []string
	for _, name := range tp.ofType("AWS::CloudWatch::Alarm") {
		p := asMap(tp.resources[name]["Properties"])
		if p["MetricName"] != metrics.OldestNeedsAttention {
			continue
		}
		found = append(found, name)
		dims, _ := p["Dimensions"].([]value)
		if p["Namespace"] != metrics.Namespace || len(dims) != 1 || get(dims[0], "Value") != "reconcile" {
			t.Errorf("%s: %v %v, want %s with Service=reconcile", name, p["Namespace"], dims, metrics.Namespace)
		}
		if p["Statistic"] != "Maximum" || p["Threshold"] != "86400" || p["ComparisonOperator"] != "GreaterThanThreshold" || p["TreatMissingData"] != "breaching" {
			t.Errorf("%s: %v", name, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("alarms on %s: %v, want one", metrics.OldestNeedsAttention, found)
	}
}

// A burst of signature failures on either signed door (CRM webhooks,
// Stripe's) raises an alarm of its own, besides the steady one on CRM
// webhooks.
func TestSignatureFailureSpikeRaisesAnAlarm(t *testing.T) {
	tp := load(t)
	for _, name := range tp.ofType("AWS::CloudWatch::Alarm") {
		p := asMap(tp.resources[name]["Properties"])
		ms, _ := p["Metrics"].([]value)
		services := map[string]bool{}
		for _, m := range ms {
			metric := get(m, "MetricStat", "Metric")
			if get(metric, "MetricName") != "WebhookSignatureFailures" || get(m, "MetricStat", "Period") != "60" {
				continue
			}
			for _, d := range get(metric, "Dimensions").([]value) {
				services[fmt.Sprint(get(d, "Value"))] = true
			}
		}
		if services["webhook"] && services["billing"] {
			if p["Threshold"] != "20" || p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" {
				t.Errorf("%s: %v %v", name, p["ComparisonOperator"], p["Threshold"])
			}
			return
		}
	}
	t.Fatal("no alarm on a minute's signature failures of both the webhook and billing services")
}
