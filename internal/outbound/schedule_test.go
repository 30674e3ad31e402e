package outbound_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/outbound"
)

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		in   string
		want outbound.Schedule
		ok   bool
	}{
		{"5s,5m,30m,2h,5h,10h,10h,24h,24h", outbound.Schedule{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour, 24 * time.Hour, 24 * time.Hour}, true},
		{" 1s , 2s ", outbound.Schedule{time.Second, 2 * time.Second}, true},
		{"500ms", outbound.Schedule{500 * time.Millisecond}, true},
		{"", nil, false},
		{"5s,,5m", nil, false},
		{"5s,0s", nil, false},
		{"-1s", nil, false},
		{"5", nil, false},
		{"soon", nil, false},
	}
	for _, tt := range tests {
		got, err := outbound.ParseSchedule(tt.in)
		if (err == nil) != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("ParseSchedule(%q) = %v, %v", tt.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "positive Go duration") {
			t.Errorf("ParseSchedule(%q): error %q does not say what is wanted", tt.in, err)
		}
	}
}

func TestScheduleDelays(t *testing.T) {
	s := outbound.Schedule{5 * time.Second, time.Minute}
	for step, want := range map[int]time.Duration{0: -1, 1: 5 * time.Second, 2: time.Minute, 3: -1} {
		d, ok := s.Delay(step)
		if (want < 0) == ok || (ok && d != want) {
			t.Errorf("Delay(%d) = %s, %v", step, d, ok)
		}
	}
	if s.Span() != 65*time.Second || s.String() != "5s,1m0s" {
		t.Errorf("span %s, string %s", s.Span(), s)
	}
	for range 1000 {
		if j := outbound.Jitter(time.Hour); j < time.Hour || j >= time.Hour+6*time.Minute {
			t.Fatalf("Jitter(1h) = %s, want within [1h, 1h6m)", j)
		}
	}
}

// The schedule deployed (template.yaml, the only place it is written) is
// the Standard Webhooks schedule and keeps retrying at least three days.
func TestTheDeployedScheduleRetriesForThreeDays(t *testing.T) {
	src, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s+` + outbound.ScheduleSetting + `:\s*"?([^"\n]+)"?\s*$`).FindSubmatch(src)
	if m == nil {
		t.Fatalf("template.yaml does not set %s", outbound.ScheduleSetting)
	}
	s, err := outbound.ParseSchedule(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	if s.Span() < outbound.MinSpan {
		t.Fatalf("the schedule %s retries for %s, less than %s", s, s.Span(), outbound.MinSpan)
	}
	want := outbound.Schedule{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	if !slices.Equal(s[:len(want)], want) {
		t.Fatalf("the schedule %s does not start like Standard Webhooks' (5s, 5m, 30m, 2h, 5h, 10h, 10h)", s)
	}
}

// Every event type internal/events declares can be subscribed to.
func TestEveryDeclaredEventTypeCanBeSubscribedTo(t *testing.T) {
	src, err := os.ReadFile("../events/events.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := regexp.MustCompile(`(?m)^\s+\w+\s+Type = "([a-z_.]+)"`).FindAllSubmatch(src, -1)
	if len(declared) < 10 {
		t.Fatalf("found %d event types in internal/events: the pattern no longer matches", len(declared))
	}
	for _, m := range declared {
		if !slices.Contains(outbound.Types, events.Type(m[1])) {
			t.Errorf("outbound.Types lacks %q", m[1])
		}
	}
	if len(outbound.Types) != len(declared) {
		t.Errorf("outbound.Types has %d types, internal/events declares %d", len(outbound.Types), len(declared))
	}
}

func TestDeliveryIDs(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 0, 0, 123_456_789, time.UTC)
	a := outbound.DeliveryID("ep_1", "evt_1", at)
	if !strings.HasPrefix(a, "msg_20261122T090000123_") || !outbound.ValidDeliveryID(a) || a != outbound.DeliveryID("ep_1", "evt_1", at) {
		t.Fatalf("id %s", a)
	}
	for _, other := range []string{outbound.DeliveryID("ep_2", "evt_1", at), outbound.DeliveryID("ep_1", "evt_2", at)} {
		if other == a {
			t.Fatal("two deliveries share an id")
		}
	}
	if later := outbound.DeliveryID("ep_1", "evt_0", at.Add(time.Millisecond)); later <= a || outbound.SinceKey(at) > a || outbound.SinceKey(at.Add(time.Millisecond)) < a {
		t.Fatal("ids do not sort by the event's time")
	}
	for _, bad := range []string{"", "msg_", a + "x", strings.Replace(a, "T", "X", 1), strings.Replace(a, "msg_", "evt_", 1), a[:len(a)-1] + "z"} {
		if outbound.ValidDeliveryID(bad) {
			t.Errorf("ValidDeliveryID(%q)", bad)
		}
	}
}
