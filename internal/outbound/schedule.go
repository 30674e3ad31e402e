package outbound

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// ScheduleSetting is the environment variable of the retry schedule: the
// delays before each retry after the first attempt, as comma-separated Go
// durations. template.yaml holds the default, the Standard Webhooks (Svix)
// schedule: "5s,5m,30m,2h,5h,10h,10h,24h,24h", the last retry about 75 h
// after the first attempt.
const ScheduleSetting = "REFERFLOW_WEBHOOK_RETRY_SCHEDULE"

// MinSpan is how long, at least, the default schedule keeps retrying after
// the first attempt (a test holds template.yaml's default to it).
const MinSpan = 72 * time.Hour

// Schedule is the delays before each retry: after the first attempt fails
// the delivery waits Schedule[0], after the first retry fails Schedule[1],
// and so on; after the last one fails, the delivery is failed.
type Schedule []time.Duration

// ParseSchedule reads a schedule: comma-separated Go durations, each
// positive, at least one.
func ParseSchedule(s string) (Schedule, error) {
	var out Schedule
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		d, err := time.ParseDuration(part)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("outbound: retry schedule: entry %d %q is not a positive Go duration such as 5m", i+1, part)
		}
		out = append(out, d)
	}
	return out, nil
}

// String is the schedule as ParseSchedule reads it.
func (s Schedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// Delay is the wait after step attempts of the schedule have failed
// (step 1: after the first attempt); false when none is left.
func (s Schedule) Delay(step int) (time.Duration, bool) {
	if step < 1 || step > len(s) {
		return 0, false
	}
	return s[step-1], true
}

// Span is how long after the first attempt the last retry comes, without
// jitter (jitter only adds).
func (s Schedule) Span() time.Duration {
	var total time.Duration
	for _, d := range s {
		total += d
	}
	return total
}

// Jitter returns d plus a random part of up to a tenth of it, so retries
// of many deliveries spread out (never less than d: the schedule's span is
// a minimum).
func Jitter(d time.Duration) time.Duration {
	if d < 10 {
		return d
	}
	return d + rand.N(d/10)
}
