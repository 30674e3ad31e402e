package stack

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/referflow/referflow/infra/local/awsapi"
	"github.com/referflow/referflow/infra/local/sam"
)

// scheduleRunner fires a function's schedules now, on request
// (POST /__referflow/schedules/{function}/run: a monthly summary need not
// wait for the 1st).
type scheduleRunner struct {
	mu    sync.Mutex
	fires map[string][]func(time.Time)
}

func (r *scheduleRunner) add(function string, fire func(time.Time)) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fires == nil {
		r.fires = map[string][]func(time.Time){}
	}
	r.fires[function] = append(r.fires[function], fire)
}

// run fires every schedule of function (a logical id) and reports how many.
func (r *scheduleRunner) run(function string) int {
	r.mu.Lock()
	fires := r.fires[function]
	r.mu.Unlock()
	for _, f := range fires {
		f(time.Now())
	}
	return len(fires)
}

// ParseRate returns the period of an EventBridge schedule expression:
// rate(N minute[s]|hour[s]|day[s]). cron(...) is not evaluated locally and
// gives one minute (ok is false so the caller can say so).
func ParseRate(expr string) (d time.Duration, ok bool, err error) {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "cron(") {
		return time.Minute, false, nil
	}
	inner, found := strings.CutPrefix(expr, "rate(")
	if !found || !strings.HasSuffix(inner, ")") {
		return 0, false, fmt.Errorf("schedule %q is neither rate(...) nor cron(...)", expr)
	}
	fields := strings.Fields(strings.TrimSuffix(inner, ")"))
	if len(fields) != 2 {
		return 0, false, fmt.Errorf("schedule %q: want rate(N unit)", expr)
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n <= 0 {
		return 0, false, fmt.Errorf("schedule %q: bad number", expr)
	}
	unit := map[string]time.Duration{
		"minute": time.Minute, "minutes": time.Minute,
		"hour": time.Hour, "hours": time.Hour,
		"day": 24 * time.Hour, "days": 24 * time.Hour,
	}[fields[1]]
	if unit == 0 {
		return 0, false, fmt.Errorf("schedule %q: unknown unit %q", expr, fields[1])
	}
	return time.Duration(n) * unit, true, nil
}

// ScheduledEvent is the EventBridge "Scheduled Event" a rule sends.
func ScheduledEvent(ruleArn string, now time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"version":     "0",
		"id":          newUUID(),
		"detail-type": "Scheduled Event",
		"source":      "aws.events",
		"account":     sam.AccountID,
		"time":        now.UTC().Format(time.RFC3339),
		"region":      sam.Region,
		"resources":   []string{ruleArn},
		"detail":      map[string]any{},
	})
	return b
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// startSchedules invokes every function with Schedule events on its rate
// (REFERFLOW_LOCAL_SCHEDULE_SECONDS overrides every rate) or at its cron
// times, and registers each schedule with runNow. The returned
// func stops them and waits for running invocations.
func startSchedules(ctx context.Context, tpl *sam.Template, ep *awsapi.Endpoint, getenv func(string) string, logger *log.Logger, runNow *scheduleRunner) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	override := time.Duration(0)
	if s := getenv(ScheduleSecondsEnv); s != "" {
		if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 {
			override = time.Duration(f * float64(time.Second))
		} else {
			logger.Printf("ignoring %s=%q: not a positive number", ScheduleSecondsEnv, s)
		}
	}
	for _, f := range tpl.Functions {
		pool, ok := ep.Pool(f.LogicalID)
		if !ok {
			continue
		}
		for _, s := range f.Schedules {
			if !s.Enabled {
				continue
			}
			period, isRate, err := ParseRate(s.Schedule)
			if err != nil {
				logger.Printf("function %s schedule %s: %v (not scheduled)", f.LogicalID, s.Name, err)
				continue
			}
			var cron *Cron
			if !isRate {
				// A cron schedule fires when EventBridge would (the override is
				// for rates): a monthly summary stays monthly.
				if cron, err = ParseCron(s.Schedule); err != nil {
					logger.Printf("function %s schedule %s: %v (not scheduled)", f.LogicalID, s.Name, err)
					continue
				}
			} else if override > 0 {
				period = override
			}
			rule := fmt.Sprintf("arn:aws:events:%s:%s:rule/%s-%s%s", sam.Region, sam.AccountID, sam.StackName, f.LogicalID, s.Name)
			fn, input := f.LogicalID, s.Input
			fire := func(now time.Time) {
				payload := []byte(input)
				if input == "" {
					payload = ScheduledEvent(rule, now)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					ictx, icancel := context.WithTimeout(ctx, 15*time.Minute)
					defer icancel()
					res, err := pool.Invoke(ictx, payload)
					if err != nil {
						logger.Printf("scheduled invoke of %s: %v", fn, err)
					} else if res.FunctionError != "" {
						logger.Printf("scheduled invoke of %s failed: %s", fn, res.Payload)
					}
				}()
			}
			runNow.add(fn, fire)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					wait := period
					if cron != nil {
						next := cron.Next(time.Now())
						if next.IsZero() {
							return
						}
						wait = time.Until(next)
					}
					t := time.NewTimer(wait)
					select {
					case <-ctx.Done():
						t.Stop()
						return
					case now := <-t.C:
						fire(now)
					}
				}
			}()
		}
	}
	return func() {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}
}
