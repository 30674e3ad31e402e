package template

import (
	"slices"
	"testing"

	"github.com/referflow/referflow/internal/metrics"
)

// The recovery metric raises an alarm whatever service emits it: the alarm
// watches the metric without dimensions (metrics.CountTotal publishes it so).
func TestNeedsAttentionRaisesAnAlarm(t *testing.T) {
	tp := load(t)
	found := false
	for _, name := range tp.ofType("AWS::CloudWatch::Alarm") {
		p := asMap(tp.resources[name]["Properties"])
		if p["MetricName"] != metrics.NeedsAttention {
			continue
		}
		found = true
		if p["Namespace"] != metrics.Namespace || p["Dimensions"] != nil || p["Statistic"] != "Sum" || p["Threshold"] != "1" {
			t.Errorf("%s: %v", name, p)
		}
		if actions, _ := p["AlarmActions"].([]value); len(actions) == 0 || ref(actions[0]) != "AlarmTopic" {
			t.Errorf("%s: alarm actions %v", name, p["AlarmActions"])
		}
	}
	if !found {
		t.Fatalf("no alarm on %s", metrics.NeedsAttention)
	}
}

// Whoever starts executions to resume referrals can look executions up:
// the reconciler and the admin API.
func TestResumersCanStartAndDescribeExecutions(t *testing.T) {
	tp := load(t)
	for _, fn := range []string{"ReconcileFunction", "AdminFunction"} {
		var actions []string
		for _, p := range get(tp.resources[fn], "Properties", "Policies").([]value) {
			st, _ := get(p, "Statement").([]value)
			for _, s := range st {
				actions = append(actions, stringList(get(s, "Action"))...)
			}
		}
		for _, want := range []string{"states:StartExecution", "states:DescribeExecution", "dynamodb:GetItem", "dynamodb:UpdateItem"} {
			if !slices.Contains(actions, want) {
				t.Errorf("%s may not %s: %v", fn, want, actions)
			}
		}
		if get(tp.resources[fn], "Properties", "Environment", "Variables", "REFERFLOW_STATE_MACHINE_ARN") == nil {
			t.Errorf("%s has no REFERFLOW_STATE_MACHINE_ARN", fn)
		}
	}
}
