// Package meter counts what the local stack serves so that cost figures can
// be computed from a run: AWS API operations per caller, per invocation and
// per referral; Lambda invocations, errors, cold starts, init and run
// durations per function; HTTP API requests per route.
package meter

import (
	"encoding/json"
	"sync"
	"time"
)

// StatesCaller is the caller name of AWS requests that arrive on the shared
// AWS endpoint port: the Step Functions interpreter (and tools outside any
// function, such as tests).
const StatesCaller = "states"

// maxInvocations bounds the per-invocation log kept in memory.
const maxInvocations = 10000

// Meter is safe for concurrent use. The zero value is not usable; call New.
type Meter struct {
	mu          sync.Mutex
	since       time.Time
	memory      map[string]int    // function logical id -> MemorySize
	names       map[string]string // function logical id -> function name
	functions   map[string]*FunctionStats
	calls       map[string]map[string]int // caller -> "service/Operation" -> n
	entries     map[string]int            // caller -> EventBridge entries put
	routes      map[string]int
	referrals   map[string]*ReferralStats
	inflight    map[string]*Invocation // request id -> invocation
	invocations []*Invocation
	dropped     int
}

// FunctionStats are the totals of one function.
type FunctionStats struct {
	Name        string         `json:"name"`
	MemoryMB    int            `json:"memory_mb"`
	Invocations int            `json:"invocations"`
	Errors      int            `json:"errors"`
	Timeouts    int            `json:"timeouts"`
	ColdStarts  int            `json:"cold_starts"`
	InitMsTotal float64        `json:"init_ms_total"`
	InitMsMax   float64        `json:"init_ms_max"`
	RunMsTotal  float64        `json:"run_ms_total"`
	RunMsMax    float64        `json:"run_ms_max"`
	BilledMs    int64          `json:"billed_ms"`  // run time rounded up to 1 ms per invocation
	GBSeconds   float64        `json:"gb_seconds"` // billed ms x memory
	AWSCalls    map[string]int `json:"aws_calls"`
}

// ReferralStats are what one referral cost: invocations and AWS operations
// attributed to it through the "referral_id" of invoke payloads.
type ReferralStats struct {
	Invocations map[string]int `json:"invocations"` // function -> n
	RunMs       float64        `json:"run_ms"`
	GBSeconds   float64        `json:"gb_seconds"`
	AWSCalls    map[string]int `json:"aws_calls"`
}

// Invocation is one function invocation.
type Invocation struct {
	Function   string         `json:"function"`
	RequestID  string         `json:"request_id"`
	ReferralID string         `json:"referral_id,omitempty"`
	Cold       bool           `json:"cold"`
	InitMs     float64        `json:"init_ms,omitempty"`
	RunMs      float64        `json:"run_ms"`
	Error      string         `json:"error,omitempty"`
	Start      time.Time      `json:"start"`
	AWSCalls   map[string]int `json:"aws_calls,omitempty"`
}

// Snapshot is the JSON document GET /__referflow/stats serves.
type Snapshot struct {
	Since     time.Time                 `json:"since"`
	Functions map[string]*FunctionStats `json:"functions"`
	AWSCalls  map[string]map[string]int `json:"aws_calls"` // caller -> op -> n
	// EventEntries counts the EventBridge entries each caller put
	// (PutEvents is billed per entry, not per call).
	EventEntries map[string]int            `json:"event_entries"`
	Routes       map[string]int            `json:"routes"`
	Referrals    map[string]*ReferralStats `json:"referrals"`
	Invocations  []*Invocation             `json:"invocations"`
	// InvocationsDropped counts old invocations left out of Invocations.
	InvocationsDropped int `json:"invocations_dropped"`
}

// New returns a meter for the given functions (logical id -> name, memory).
func New(names map[string]string, memoryMB map[string]int) *Meter {
	m := &Meter{names: names, memory: memoryMB}
	m.Reset()
	return m
}

// Reset clears every counter (in-flight invocations are kept).
func (m *Meter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.since = time.Now().UTC()
	m.functions = map[string]*FunctionStats{}
	for id, name := range m.names {
		m.functions[id] = &FunctionStats{Name: name, MemoryMB: m.memory[id], AWSCalls: map[string]int{}}
	}
	m.calls = map[string]map[string]int{}
	m.entries = map[string]int{}
	m.routes = map[string]int{}
	m.referrals = map[string]*ReferralStats{}
	if m.inflight == nil {
		m.inflight = map[string]*Invocation{}
	}
	m.invocations = nil
	m.dropped = 0
}

func (m *Meter) fn(id string) *FunctionStats {
	f, ok := m.functions[id]
	if !ok {
		f = &FunctionStats{Name: m.names[id], MemoryMB: m.memory[id], AWSCalls: map[string]int{}}
		m.functions[id] = f
	}
	return f
}

func (m *Meter) referral(id string) *ReferralStats {
	r, ok := m.referrals[id]
	if !ok {
		r = &ReferralStats{Invocations: map[string]int{}, AWSCalls: map[string]int{}}
		m.referrals[id] = r
	}
	return r
}

// ReferralID returns the top-level "referral_id" string of a JSON object
// payload, or that of its "detail" (an EventBridge event carrying a domain
// event), or "".
func ReferralID(payload []byte) string {
	var v struct {
		ReferralID any `json:"referral_id"`
		Detail     struct {
			ReferralID any `json:"referral_id"`
		} `json:"detail"`
	}
	if json.Unmarshal(payload, &v) != nil {
		return ""
	}
	if s, ok := v.ReferralID.(string); ok {
		return s
	}
	s, _ := v.Detail.ReferralID.(string)
	return s
}

// InvokeStart records that an invocation was dispatched to an instance.
func (m *Meter) InvokeStart(function, requestID, referralID string, cold bool, initDur time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inv := &Invocation{Function: function, RequestID: requestID, ReferralID: referralID, Cold: cold, Start: time.Now().UTC()}
	f := m.fn(function)
	if cold {
		inv.InitMs = ms(initDur)
		f.ColdStarts++
		f.InitMsTotal += inv.InitMs
		f.InitMsMax = max(f.InitMsMax, inv.InitMs)
	}
	m.inflight[requestID] = inv
}

// InvokeEnd records the outcome of an invocation started with InvokeStart.
// errType is "" on success.
func (m *Meter) InvokeEnd(requestID string, run time.Duration, errType string, timedOut bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inv, ok := m.inflight[requestID]
	if !ok {
		return
	}
	delete(m.inflight, requestID)
	inv.RunMs = ms(run)
	inv.Error = errType
	f := m.fn(inv.Function)
	f.Invocations++
	if errType != "" {
		f.Errors++
	}
	if timedOut {
		f.Timeouts++
	}
	billed := int64(run / time.Millisecond)
	if run%time.Millisecond != 0 || billed == 0 {
		billed++
	}
	gbs := float64(billed) / 1000 * float64(f.MemoryMB) / 1024
	f.RunMsTotal += inv.RunMs
	f.RunMsMax = max(f.RunMsMax, inv.RunMs)
	f.BilledMs += billed
	f.GBSeconds += gbs
	if inv.ReferralID != "" {
		r := m.referral(inv.ReferralID)
		r.Invocations[inv.Function]++
		r.RunMs += inv.RunMs
		r.GBSeconds += gbs
	}
	if len(m.invocations) >= maxInvocations {
		m.invocations = m.invocations[1:]
		m.dropped++
	}
	m.invocations = append(m.invocations, inv)
}

// AWSCall counts one AWS API operation ("service/Operation") made by caller
// (a function logical id or StatesCaller) during the invocation requestID
// ("" when none is running).
func (m *Meter) AWSCall(caller, requestID, op string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.calls[caller]
	if !ok {
		c = map[string]int{}
		m.calls[caller] = c
	}
	c[op]++
	if _, isFn := m.names[caller]; isFn {
		m.fn(caller).AWSCalls[op]++
	}
	if inv, ok := m.inflight[requestID]; ok {
		if inv.AWSCalls == nil {
			inv.AWSCalls = map[string]int{}
		}
		inv.AWSCalls[op]++
		if inv.ReferralID != "" {
			m.referral(inv.ReferralID).AWSCalls[op]++
		}
	}
}

// EventEntries counts n EventBridge entries put by caller (the entries of
// a PutEvents call that EventBridge accepted).
func (m *Meter) EventEntries(caller string, n int) {
	if n <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[caller] += n
}

// Route counts one HTTP API request for a route key ("POST /referrals", or
// "404" for requests that matched no route).
func (m *Meter) Route(routeKey string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.routes[routeKey]++
}

// Snapshot returns a deep copy of the current counters.
func (m *Meter) Snapshot() Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	// A JSON round trip is the simplest correct deep copy.
	s := Snapshot{
		Since: m.since, Functions: m.functions, AWSCalls: m.calls, EventEntries: m.entries, Routes: m.routes,
		Referrals: m.referrals, Invocations: m.invocations, InvocationsDropped: m.dropped,
	}
	b, _ := json.Marshal(s)
	var out Snapshot
	_ = json.Unmarshal(b, &out)
	if out.Invocations == nil {
		out.Invocations = []*Invocation{}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
