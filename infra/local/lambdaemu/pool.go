// Package lambdaemu runs Lambda functions locally from their built
// `bootstrap` binaries, the way the Lambda service runs a provided.al2023
// function: each instance is a child process speaking the Lambda Runtime API
// to a server of its own, one invocation at a time, with a pool of instances
// per function for concurrency.
package lambdaemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/referflow/referflow/infra/local/meter"
)

// DefaultMaxConcurrency is the default number of instances per function.
const DefaultMaxConcurrency = 10

// InitTimeout is how long an instance may take from process start to asking
// for its first invocation, as on Lambda.
const InitTimeout = 10 * time.Second

// Function is what the emulator needs to know about one function.
type Function struct {
	LogicalID  string
	Name       string
	ARN        string
	Binary     string // path of the built bootstrap
	MemorySize int    // MB
	Timeout    time.Duration
	// Env is the function's environment (template variables plus
	// overrides); the Lambda runtime variables are added to it.
	Env map[string]string
	// MaxConcurrency caps the instances (DefaultMaxConcurrency if 0).
	MaxConcurrency int
}

// ProxyFactory returns the handler of an instance's dedicated AWS endpoint
// port (AWS_ENDPOINT_URL); current reports the request id of the invocation
// the instance runs ("" between invocations).
type ProxyFactory func(function string, current func() (requestID string)) http.Handler

// Options are shared by every pool.
type Options struct {
	// Log receives the functions' output lines, prefixed with the logical id.
	Log io.Writer
	// LogDir, when set, also gets one <LogicalId>.log file per function.
	LogDir string
	// Proxy builds each instance's AWS endpoint.
	Proxy ProxyFactory
	// Meter records invocations (may be nil).
	Meter *meter.Meter
	// BaseEnv holds the few host variables passed through (PATH, HOME, ...).
	BaseEnv map[string]string
}

// Result is the outcome of one invocation.
type Result struct {
	RequestID string
	// Payload is the function's response, or the error document
	// {"errorType","errorMessage",...} when FunctionError is set.
	Payload []byte
	// FunctionError is "Unhandled" for a function error, "" otherwise.
	FunctionError string
	Cold          bool
	InitDuration  time.Duration
	Duration      time.Duration
}

// ErrorType returns the errorType of a function error result ("" if none).
func (r Result) ErrorType() string {
	if r.FunctionError == "" {
		return ""
	}
	var e struct {
		ErrorType string `json:"errorType"`
	}
	_ = json.Unmarshal(r.Payload, &e)
	if e.ErrorType == "" {
		return r.FunctionError
	}
	return e.ErrorType
}

// Pool runs the instances of one function.
type Pool struct {
	fn   Function
	opts Options
	logw io.Writer

	mu      sync.Mutex
	idle    []*instance
	all     map[*instance]bool
	changed chan struct{} // closed and replaced whenever an instance frees up
	closed  bool
	seq     int
	// starting counts instances being started (they hold a slot).
	starting int
	logFile  io.Closer
}

// NewPool returns a pool for fn; instances start on demand.
func NewPool(fn Function, opts Options) (*Pool, error) {
	if fn.MaxConcurrency <= 0 {
		fn.MaxConcurrency = DefaultMaxConcurrency
	}
	if fn.Timeout <= 0 {
		fn.Timeout = 3 * time.Second
	}
	p := &Pool{fn: fn, opts: opts, all: map[*instance]bool{}, changed: make(chan struct{})}
	w, c, err := functionLog(opts, fn.LogicalID)
	if err != nil {
		return nil, err
	}
	p.logw, p.logFile = w, c
	return p, nil
}

// Function returns the pool's function.
func (p *Pool) Function() Function { return p.fn }

// Invoke runs one invocation and waits for its result. A function error is a
// Result with FunctionError set, not an error; err is for failures of the
// emulator itself or a cancelled ctx while waiting for an instance.
func (p *Pool) Invoke(ctx context.Context, payload []byte) (Result, error) {
	inst, err := p.acquire(ctx)
	if err != nil {
		return Result{}, err
	}
	res := inst.run(payload)
	p.release(inst)
	return res, nil
}

func (p *Pool) acquire(ctx context.Context) (*instance, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, errors.New("function pool is stopped")
		}
		for len(p.idle) > 0 {
			inst := p.idle[len(p.idle)-1]
			p.idle = p.idle[:len(p.idle)-1]
			if inst.alive() {
				p.mu.Unlock()
				return inst, nil
			}
			delete(p.all, inst)
		}
		if len(p.all)+p.starting < p.fn.MaxConcurrency {
			p.seq++
			seq := p.seq
			p.starting++ // reserve the slot while the process starts
			p.mu.Unlock()
			inst, err := startInstance(p, seq)
			p.mu.Lock()
			p.starting--
			if err != nil {
				p.mu.Unlock()
				return nil, err
			}
			if p.closed {
				p.mu.Unlock()
				inst.kill()
				return nil, errors.New("function pool is stopped")
			}
			p.all[inst] = true
			p.mu.Unlock()
			return inst, nil
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for an instance of %s: %w", p.fn.LogicalID, ctx.Err())
		}
	}
}

func (p *Pool) release(inst *instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if inst.alive() && !p.closed {
		p.idle = append(p.idle, inst)
	} else {
		delete(p.all, inst)
		inst.kill()
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

// Instances returns the number of running instances.
func (p *Pool) Instances() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.all)
}

// Stop kills every instance and waits (bounded) for them to exit.
func (p *Pool) Stop() {
	p.mu.Lock()
	p.closed = true
	insts := make([]*instance, 0, len(p.all))
	for i := range p.all {
		insts = append(insts, i)
	}
	p.mu.Unlock()
	for _, i := range insts {
		i.terminate()
	}
	for _, i := range insts {
		select {
		case <-i.done:
		case <-time.After(5 * time.Second):
		}
	}
	if p.logFile != nil {
		_ = p.logFile.Close()
	}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func errorPayload(errType, msg string) []byte {
	b, _ := json.Marshal(map[string]string{"errorType": errType, "errorMessage": msg})
	return b
}
