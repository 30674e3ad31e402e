// Package eventbus completes the local stack's EventBridge: moto stores
// what PutEvents sends but never delivers it to a Lambda target, so the
// stack hands every accepted entry to a Bus as well. The Bus keeps each
// event for GET /_local/events and delivers it to every function whose
// EventBridgeRule (template.yaml) matches, asynchronously and with retries,
// the way EventBridge invokes a Lambda target.
package eventbus

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"strings"
	"sync"
	"time"

	"github.com/referflow/referflow/infra/local/sam"
)

// Rule is one EventBridge rule whose target is a function.
type Rule struct {
	// Name is "<Function>.<Event>" (the template's function and event).
	Name string
	// Bus is the name of the bus the rule is on.
	Bus     string
	Pattern *Pattern
	// Target is the function's logical id.
	Target string
	// Input replaces the event given to the target when set; InputPath
	// ($ or $.a.b) selects part of it.
	Input, InputPath string
	// Retries is the rule's RetryPolicy.MaximumRetryAttempts: how often a
	// delivery the target could not take (no instance) is retried, capped
	// locally at MaxLocalRetries; MaxAge is MaximumEventAgeInSeconds.
	Retries int
	MaxAge  time.Duration
	// AsyncRetries is how often Lambda retries an asynchronous invocation
	// that ended in a function error (the function's EventInvokeConfig,
	// default 2).
	AsyncRetries int
	// DeadLetter is the rule's DeadLetterConfig queue ARN, shown on a
	// delivery that failed for good (locally nothing is sent there).
	DeadLetter string
}

// MaxLocalRetries caps a rule's RetryPolicy locally (185 by default on AWS).
const MaxLocalRetries = 10

// Rules returns the EventBridgeRule events of a template's functions.
func Rules(tpl *sam.Template) ([]Rule, error) {
	var out []Rule
	for _, f := range tpl.Functions {
		for _, e := range f.Rules {
			if !e.Enabled {
				continue
			}
			p, err := Compile(e.Pattern)
			if err != nil {
				return nil, fmt.Errorf("function %s event %s: %w", f.LogicalID, e.Name, err)
			}
			out = append(out, Rule{
				Name: f.LogicalID + "." + e.Name, Bus: e.EventBus, Pattern: p, Target: f.LogicalID,
				Input: e.Input, InputPath: e.InputPath, Retries: e.MaximumRetryAttempts,
				MaxAge: time.Duration(e.MaximumEventAgeSeconds) * time.Second, AsyncRetries: f.AsyncRetries,
				DeadLetter: e.DeadLetter,
			})
		}
	}
	return out, nil
}

// Invoker invokes a function (by logical id) with payload and returns its
// function error ("" when it succeeded), or err when the invocation could
// not be made (no instance free in time, the stack stopping).
type Invoker func(ctx context.Context, function string, payload []byte) (functionError string, err error)

// Event is one event the bus accepted, as GET /_local/events shows it.
type Event struct {
	ID         string          `json:"id"`
	EventBus   string          `json:"event_bus"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail_type"`
	Detail     json.RawMessage `json:"detail"`
	Time       time.Time       `json:"time"`
	Resources  []string        `json:"resources,omitempty"`
	Deliveries []Delivery      `json:"deliveries"`
}

// Delivery is the delivery of an event to one rule's target.
type Delivery struct {
	Rule     string `json:"rule"`
	Target   string `json:"target"`
	Status   string `json:"status"` // pending, delivered or failed
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`
	// DeadLetter is the rule's dead-letter queue, on a failed delivery.
	DeadLetter string `json:"dead_letter,omitempty"`
}

// Delivery statuses.
const (
	Pending   = "pending"
	Delivered = "delivered"
	Failed    = "failed"
)

// Options configure a Bus.
type Options struct {
	Rules  []Rule
	Invoke Invoker
	Log    *log.Logger
	// Keep bounds the events kept for GET /_local/events (default 10000;
	// the oldest go first).
	Keep int
	// Backoff is the wait before retry n (from 1); default 1 s doubled
	// each time, at most 30 s (AWS waits minutes; locally seconds).
	Backoff func(n int) time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Bus is the local event bus. It is safe for concurrent use.
type Bus struct {
	opts   Options
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	events  []*Event // oldest first
	dropped int
	closed  bool
}

// New returns a bus delivering to opts.Rules; Close stops its deliveries.
func New(opts Options) *Bus {
	if opts.Keep <= 0 {
		opts.Keep = 10000
	}
	if opts.Backoff == nil {
		opts.Backoff = func(n int) time.Duration { return min(time.Second<<min(n-1, 5), 30*time.Second) }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = log.New(discard{}, "", 0)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Bus{opts: opts, ctx: ctx, cancel: cancel}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// Close stops retrying and waits (at most 5 s) for running deliveries.
func (b *Bus) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// Entry is one event put on a bus.
type Entry struct {
	ID, EventBus, Source, DetailType string
	Detail                           json.RawMessage
	Time                             time.Time
	Resources                        []string
}

// Put records an accepted entry and starts its deliveries to the rules
// of its bus that match it.
func (b *Bus) Put(e Entry) {
	if e.Time.IsZero() {
		e.Time = b.opts.Now()
	}
	ev := &Event{ID: e.ID, EventBus: e.EventBus, Source: e.Source, DetailType: e.DetailType, Detail: e.Detail,
		Time: e.Time.UTC(), Resources: e.Resources, Deliveries: []Delivery{}}
	envelope := Envelope(e)
	var matched []Rule
	for _, r := range b.opts.Rules {
		if r.Bus == e.EventBus && r.Pattern.Match(envelope) {
			matched = append(matched, r)
			ev.Deliveries = append(ev.Deliveries, Delivery{Rule: r.Name, Target: r.Target, Status: Pending})
		}
	}
	b.mu.Lock()
	if len(b.events) >= b.opts.Keep {
		b.events = b.events[1:]
		b.dropped++
	}
	b.events = append(b.events, ev)
	closed := b.closed
	if !closed {
		b.wg.Add(len(matched))
	}
	b.mu.Unlock()
	for i, r := range matched {
		if closed {
			b.finish(ev, i, Failed, 0, "the local stack stopped")
			continue
		}
		payload, err := targetInput(r, envelope)
		if err != nil {
			b.wg.Done()
			b.finish(ev, i, Failed, 0, err.Error())
			continue
		}
		go func() {
			defer b.wg.Done()
			b.deliver(ev, i, r, payload)
		}()
	}
}

// Envelope is the event as EventBridge gives it to a target and matches
// it against patterns.
func Envelope(e Entry) []byte {
	resources := e.Resources
	if resources == nil {
		resources = []string{}
	}
	detail := e.Detail
	if len(detail) == 0 {
		detail = json.RawMessage("{}")
	}
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": e.ID, "detail-type": e.DetailType, "source": e.Source,
		"account": sam.AccountID, "time": e.Time.UTC().Format(time.RFC3339), "region": sam.Region,
		"resources": resources, "detail": detail,
	})
	return b
}

// targetInput is what the rule's target is given: Input, the part of the
// envelope InputPath selects, or the envelope.
func targetInput(r Rule, envelope []byte) ([]byte, error) {
	if r.Input != "" {
		return []byte(r.Input), nil
	}
	if r.InputPath == "" || r.InputPath == "$" {
		return envelope, nil
	}
	var v any
	if err := json.Unmarshal(envelope, &v); err != nil {
		return nil, err
	}
	for _, k := range strings.Split(strings.TrimPrefix(r.InputPath, "$."), ".") {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return json.Marshal(v)
}

// deliver invokes the rule's target until it succeeds or its retries run
// out: function errors are retried AsyncRetries times (Lambda's
// asynchronous invocation), invocations that could not be made up to the
// rule's RetryPolicy (at most MaxLocalRetries, within MaxAge).
func (b *Bus) deliver(ev *Event, i int, r Rule, payload []byte) {
	functionErrors, refused := 0, 0
	started := b.opts.Now()
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		ferr, err := b.opts.Invoke(ctx, r.Target, payload)
		cancel()
		why := ""
		switch {
		case err == nil && ferr == "":
			b.finish(ev, i, Delivered, attempt, "")
			return
		case err != nil:
			refused++
			why = err.Error()
		default:
			functionErrors++
			why = ferr
		}
		b.update(ev, i, attempt, why)
		if functionErrors > r.AsyncRetries || refused > min(r.Retries, MaxLocalRetries) ||
			(r.MaxAge > 0 && b.opts.Now().Sub(started) > r.MaxAge) {
			b.opts.Log.Printf("event %s (%s) to %s failed after %d attempts: %s", ev.ID, ev.DetailType, r.Target, attempt, why)
			b.finish(ev, i, Failed, attempt, why)
			return
		}
		select {
		case <-time.After(b.opts.Backoff(attempt)):
		case <-b.ctx.Done():
			b.finish(ev, i, Failed, attempt, "the local stack stopped: "+why)
			return
		}
	}
}

func (b *Bus) update(ev *Event, i, attempts int, why string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := &ev.Deliveries[i]
	d.Attempts, d.Error = attempts, truncate(why, 300)
}

func (b *Bus) finish(ev *Event, i int, status string, attempts int, why string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := &ev.Deliveries[i]
	d.Status, d.Attempts, d.Error = status, attempts, truncate(why, 300)
	if status == Failed {
		for _, r := range b.opts.Rules {
			if r.Name == d.Rule {
				d.DeadLetter = r.DeadLetter
			}
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Filter selects events for Events.
type Filter struct {
	// DetailTypes and Sources keep events with one of them (none: all).
	DetailTypes, Sources []string
	// ReferralID keeps events whose detail.referral_id is it.
	ReferralID string
	// Limit bounds the answer (0: every event kept).
	Limit int
}

// Events returns copies of the events kept that pass f, newest first.
func (b *Bus) Events(f Filter) []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []Event{}
	for i := len(b.events) - 1; i >= 0 && (f.Limit <= 0 || len(out) < f.Limit); i-- {
		ev := b.events[i]
		if !f.keeps(ev) {
			continue
		}
		c := *ev
		c.Deliveries = append([]Delivery{}, ev.Deliveries...)
		out = append(out, c)
	}
	return out
}

func (f Filter) keeps(ev *Event) bool {
	in := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return len(list) == 0
	}
	if !in(f.DetailTypes, ev.DetailType) || !in(f.Sources, ev.Source) {
		return false
	}
	if f.ReferralID == "" {
		return true
	}
	var d struct {
		ReferralID string `json:"referral_id"`
	}
	return json.Unmarshal(ev.Detail, &d) == nil && d.ReferralID == f.ReferralID
}

// Dropped is how many old events were let go to keep Options.Keep.
func (b *Bus) Dropped() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// Rules returns the bus's rules.
func (b *Bus) Rules() []Rule { return b.opts.Rules }
