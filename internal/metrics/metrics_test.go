package metrics

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// CloudWatch turns a log line into a metric only when the _aws block names
// the namespace, the dimension set and a metric whose value is a top-level
// member; otherwise the line is silently just a log line.
func TestCountWritesOneEMFLine(t *testing.T) {
	var buf bytes.Buffer
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	New(&buf, "webhook", func() time.Time { return at }).Count("WebhookEvents", 3, "provider", "hubspot", "outcome")
	var line struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Service       string
		WebhookEvents int
		Provider      string `json:"provider"`
	}
	if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("want exactly one line, got %q", buf.String())
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	m := line.AWS.CloudWatchMetrics
	if line.AWS.Timestamp != at.UnixMilli() || len(m) != 1 || m[0].Namespace != Namespace ||
		len(m[0].Dimensions) != 1 || m[0].Dimensions[0][0] != "Service" || m[0].Metrics[0].Name != "WebhookEvents" || m[0].Metrics[0].Unit != "Count" {
		t.Fatalf("_aws block = %+v", line.AWS)
	}
	if line.Service != "webhook" || line.WebhookEvents != 3 || line.Provider != "hubspot" {
		t.Fatalf("members = %+v (an odd trailing key is dropped)", line)
	}
}

func TestNilEmitterDiscards(t *testing.T) {
	var e *Emitter
	e.Count("X", 1) // must not panic
}

// CountTotal publishes the metric per service and, through an empty
// dimension set, once for all services (the alarm's metric).
func TestCountTotalAddsAnEmptyDimensionSet(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, "reconcile", time.Now).CountTotal(NeedsAttention, 1, "referral_id", "ref_1")
	var line struct {
		AWS struct {
			CloudWatchMetrics []struct {
				Dimensions [][]string
				Metrics    []struct{ Name string }
			}
		} `json:"_aws"`
		Value int `json:"ReferralsNeedingAttention"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	m := line.AWS.CloudWatchMetrics
	if len(m) != 1 || len(m[0].Dimensions) != 2 || len(m[0].Dimensions[0]) != 1 || len(m[0].Dimensions[1]) != 0 ||
		m[0].Metrics[0].Name != NeedsAttention || line.Value != 1 {
		t.Fatalf("%s", buf.String())
	}
	var e *Emitter
	e.CountTotal("X", 1) // must not panic
}

// A gauge is a level in its own unit (an age in seconds), published per
// service like Count, and may be fractional.
func TestGaugeWritesItsUnit(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, unit string
		value      float64
	}{
		{OldestNeedsAttention, UnitSeconds, 90061},
		{"QueueDepth", UnitCount, 0},
		{"Ratio", UnitCount, 0.25},
	} {
		var buf bytes.Buffer
		New(&buf, "reconcile", func() time.Time { return at }).Gauge(tc.name, tc.value, tc.unit, "referral_id", "ref_1")
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		aws, _ := json.Marshal(line["_aws"])
		want := `{"CloudWatchMetrics":[{"Dimensions":[["Service"]],"Metrics":[{"Name":"` + tc.name + `","Unit":"` + tc.unit + `"}],"Namespace":"Referflow"}],"Timestamp":` + "1795338000000}"
		if string(aws) != want {
			t.Errorf("%s: _aws = %s, want %s", tc.name, aws, want)
		}
		if line[tc.name] != tc.value || line["Service"] != "reconcile" || line["referral_id"] != "ref_1" {
			t.Errorf("%s: members %v", tc.name, line)
		}
	}
	var e *Emitter
	e.Gauge("X", 1, UnitSeconds) // must not panic
}
