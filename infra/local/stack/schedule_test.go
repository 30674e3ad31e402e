package stack

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for expr, want := range map[string]time.Duration{
		"rate(1 minute)": time.Minute, "rate(5 minutes)": 5 * time.Minute, "rate(2 hours)": 2 * time.Hour,
		"rate(1 hour)": time.Hour, "rate(1 day)": 24 * time.Hour,
	} {
		got, ok, err := ParseRate(expr)
		if err != nil || !ok || got != want {
			t.Errorf("%s: %v %v %v", expr, got, ok, err)
		}
	}
	if d, ok, err := ParseRate("cron(0 12 * * ? *)"); err != nil || ok || d != time.Minute {
		t.Errorf("cron: %v %v %v", d, ok, err)
	}
	for _, bad := range []string{"rate(x minutes)", "rate(5 weeks)", "every 5 minutes", "rate(0 minutes)"} {
		if _, _, err := ParseRate(bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func TestScheduledEvent(t *testing.T) {
	var ev map[string]any
	if err := json.Unmarshal(ScheduledEvent("arn:aws:events:us-east-1:123456789012:rule/r", time.Unix(0, 0)), &ev); err != nil {
		t.Fatal(err)
	}
	if ev["detail-type"] != "Scheduled Event" || ev["source"] != "aws.events" || ev["time"] != "1970-01-01T00:00:00Z" {
		t.Errorf("%v", ev)
	}
}

func TestSettingValues(t *testing.T) {
	v := settingValues(func(k string) string {
		if k == "REFERFLOW_ADMIN_TOKEN" {
			return "from-env"
		}
		return ""
	})
	if v["REFERFLOW_ADMIN_TOKEN"] != "from-env" || v["REFERFLOW_PIPEDRIVE_USER"] != "pipedrive" || len(v) != len(Settings) {
		t.Errorf("%v", v)
	}
}
