// Package metrics writes CloudWatch Embedded Metric Format lines: one JSON
// log line per data point, turned into metrics by CloudWatch Logs without
// any API call from the function.
package metrics

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of Referflow's business metrics.
const Namespace = "Referflow"

// Emitter writes EMF lines. A nil Emitter discards everything.
type Emitter struct {
	mu      sync.Mutex
	w       io.Writer
	service string
	now     func() time.Time
}

// New returns an Emitter tagging every metric with dimension Service=service.
func New(w io.Writer, service string, now func() time.Time) *Emitter {
	return &Emitter{w: w, service: service, now: now}
}

// NeedsAttention counts referrals moved to needs_attention, by any
// service (CountTotal): template.yaml alarms on its total.
const NeedsAttention = "ReferralsNeedingAttention"

// OldestNeedsAttention is the age in seconds of the referral that has
// waited longest in needs_attention (0 when none waits), published by the
// reconciler every run: template.yaml alarms when it passes a day.
const OldestNeedsAttention = "OldestNeedsAttentionSeconds"

// Units a Gauge may be measured in (CloudWatch's unit names).
const (
	UnitSeconds = "Seconds"
	UnitCount   = "Count"
)

// Count records value for metric name. Extra key/value pairs are written
// as properties (searchable in logs, not dimensions, to keep cost flat).
func (e *Emitter) Count(name string, value int, kv ...string) {
	e.emit(name, value, UnitCount, [][]string{{"Service"}}, kv)
}

// CountTotal is Count, published also without any dimension: one metric
// for all services, which a single alarm can watch whoever emits it.
func (e *Emitter) CountTotal(name string, value int, kv ...string) {
	e.emit(name, value, UnitCount, [][]string{{"Service"}, {}}, kv)
}

// Gauge records the level of metric name at this moment, in unit (UnitSeconds,
// UnitCount): a measurement, not an increment, so its alarm reads the
// Maximum, never the Sum. Dimension and properties are as for Count.
func (e *Emitter) Gauge(name string, value float64, unit string, kv ...string) {
	e.emit(name, value, unit, [][]string{{"Service"}}, kv)
}

func (e *Emitter) emit(name string, value any, unit string, dims [][]string, kv []string) {
	if e == nil {
		return
	}
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": e.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  Namespace,
				"Dimensions": dims,
				"Metrics":    []any{map[string]string{"Name": name, "Unit": unit}},
			}},
		},
		"Service": e.service,
		name:      value,
	}
	for i := 0; i+1 < len(kv); i += 2 {
		line[kv[i]] = kv[i+1]
	}
	b, _ := json.Marshal(line)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.w.Write(append(b, '\n'))
}
