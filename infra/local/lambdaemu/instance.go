package lambdaemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/referflow/referflow/infra/local/internal/proc"
	"github.com/referflow/referflow/infra/local/meter"
)

const runtimePrefix = "/2018-06-01/runtime/"

// maxResponse is Lambda's synchronous response payload limit.
const maxResponse = 6 << 20

type invocation struct {
	id         string
	payload    []byte
	referralID string
	dispatched chan struct{} // closed when the runtime took the invocation
	// onDispatch runs just before the event is handed to the runtime, so
	// the meter knows the invocation before the function's first AWS call.
	onDispatch func()
	dispatchAt time.Time
	deadline   time.Time
	result     chan Result // buffered 1
}

type instance struct {
	pool    *Pool
	seq     int
	cmd     *exec.Cmd
	started time.Time
	rt      *http.Server
	proxy   *http.Server
	next    chan *invocation
	done    chan struct{} // closed when the process has exited
	stream  string

	mu        sync.Mutex
	cur       *invocation
	initDur   time.Duration
	initDone  bool
	usedOnce  bool
	initError []byte
	exitErr   error
	dead      bool
}

func startInstance(p *Pool, seq int) (*instance, error) {
	rtLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API listener: %w", err)
	}
	pxLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		rtLn.Close()
		return nil, fmt.Errorf("AWS proxy listener: %w", err)
	}
	i := &instance{
		pool:   p,
		seq:    seq,
		next:   make(chan *invocation),
		done:   make(chan struct{}),
		stream: fmt.Sprintf("%s/[$LATEST]%s", time.Now().UTC().Format("2006/01/02"), newRequestID()[:8]+strconv.Itoa(seq)),
	}
	i.rt = &http.Server{Handler: http.HandlerFunc(i.serveRuntime), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = i.rt.Serve(rtLn) }()
	var proxy http.Handler = http.NotFoundHandler()
	if p.opts.Proxy != nil {
		proxy = p.opts.Proxy(p.fn.LogicalID, i.currentRequestID)
	}
	i.proxy = &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = i.proxy.Serve(pxLn) }()

	fn := p.fn
	env := map[string]string{}
	for k, v := range p.opts.BaseEnv {
		env[k] = v
	}
	for k, v := range fn.Env {
		env[k] = v
	}
	for k, v := range map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          rtLn.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemorySize),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      i.stream,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"AWS_ACCESS_KEY_ID":               "testing",
		"AWS_SECRET_ACCESS_KEY":           "testing",
		"AWS_SESSION_TOKEN":               "testing",
		"AWS_ENDPOINT_URL":                "http://" + pxLn.Addr().String(),
		"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
		"_HANDLER":                        "bootstrap",
		"LAMBDA_TASK_ROOT":                filepath.Dir(fn.Binary),
		"LAMBDA_RUNTIME_DIR":              filepath.Dir(fn.Binary),
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
	} {
		env[k] = v
	}
	envList := make([]string, 0, len(env))
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}
	cmd := exec.Command(fn.Binary)
	cmd.Dir = filepath.Dir(fn.Binary)
	cmd.Env = envList
	lw := &lineWriter{w: p.logw}
	cmd.Stdout = lw
	cmd.Stderr = lw
	cmd.SysProcAttr = proc.Attr()
	cmd.WaitDelay = time.Second
	i.cmd = cmd
	i.started = time.Now()
	if err := cmd.Start(); err != nil {
		i.rt.Close()
		i.proxy.Close()
		return nil, fmt.Errorf("start %s: %w", fn.Binary, err)
	}
	go func() {
		err := cmd.Wait()
		lw.flush()
		i.mu.Lock()
		i.exitErr = err
		i.dead = true
		i.mu.Unlock()
		close(i.done)
		_ = i.rt.Close()
		_ = i.proxy.Close()
	}()
	return i, nil
}

func (i *instance) alive() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return !i.dead
}

func (i *instance) currentRequestID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.cur == nil {
		return ""
	}
	return i.cur.id
}

// kill ends the instance's process group at once.
func (i *instance) kill() {
	i.mu.Lock()
	i.dead = true
	i.mu.Unlock()
	if i.cmd.Process != nil {
		_ = syscall.Kill(-i.cmd.Process.Pid, syscall.SIGKILL)
		_ = i.cmd.Process.Kill()
	}
}

// terminate asks the process group to stop (SIGTERM, as Lambda does on
// shutdown), then kills it after a grace period.
func (i *instance) terminate() {
	i.mu.Lock()
	i.dead = true
	i.mu.Unlock()
	if i.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-i.cmd.Process.Pid, syscall.SIGTERM)
	go func() {
		select {
		case <-i.done:
		case <-time.After(2 * time.Second):
		}
		i.kill()
	}()
}

func (i *instance) logf(format string, args ...any) {
	fmt.Fprintf(i.pool.logw, format+"\n", args...)
}

// run dispatches one invocation to this instance and waits for its outcome.
func (i *instance) run(payload []byte) Result {
	fn := i.pool.fn
	inv := &invocation{
		id:         newRequestID(),
		payload:    payload,
		referralID: meter.ReferralID(payload),
		dispatched: make(chan struct{}),
		result:     make(chan Result, 1),
	}
	i.mu.Lock()
	cold := !i.usedOnce
	i.usedOnce = true
	i.cur = inv
	i.mu.Unlock()
	if m := i.pool.opts.Meter; m != nil {
		inv.onDispatch = func() {
			var initDur time.Duration
			if cold {
				i.mu.Lock()
				initDur = i.initDur
				i.mu.Unlock()
			}
			m.InvokeStart(fn.LogicalID, inv.id, inv.referralID, cold, initDur)
		}
	}
	defer func() {
		i.mu.Lock()
		i.cur = nil
		i.mu.Unlock()
	}()
	base := Result{RequestID: inv.id, Cold: cold}

	// Hand the invocation to the runtime's pending GET next.
	initTimer := time.NewTimer(InitTimeout)
	defer initTimer.Stop()
	select {
	case i.next <- inv:
	case <-i.done:
		base.FunctionError = "Unhandled"
		base.Payload = i.exitPayload(inv.id)
		i.logf("START RequestId: %s Version: $LATEST", inv.id)
		i.logf("RequestId: %s Error: %s", inv.id, base.Payload)
		return i.record(base, inv, 0, false)
	case <-initTimer.C:
		i.kill()
		base.FunctionError = "Unhandled"
		base.Payload = errorPayload("Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: Init phase timed out after %.2f seconds", inv.id, InitTimeout.Seconds()))
		return i.record(base, inv, 0, true)
	}
	<-inv.dispatched
	i.mu.Lock()
	if cold {
		base.InitDuration = i.initDur
	}
	i.mu.Unlock()
	i.logf("START RequestId: %s Version: $LATEST", inv.id)
	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	var timedOut bool
	select {
	case r := <-inv.result:
		base.Payload, base.FunctionError = r.Payload, r.FunctionError
	case <-i.done:
		base.FunctionError = "Unhandled"
		base.Payload = i.exitPayload(inv.id)
		i.logf("RequestId: %s Error: %s", inv.id, base.Payload)
	case <-timer.C:
		i.kill()
		timedOut = true
		base.FunctionError = "Unhandled"
		msg := fmt.Sprintf("%s %s Task timed out after %.2f seconds", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, fn.Timeout.Seconds())
		base.Payload = errorPayload("Sandbox.Timedout", msg)
		i.logf("%s", msg)
	}
	return i.record(base, inv, time.Since(inv.dispatchAt), timedOut)
}

func (i *instance) record(r Result, inv *invocation, d time.Duration, timedOut bool) Result {
	r.Duration = d
	m := i.pool.opts.Meter
	if m != nil {
		if inv.dispatchAt.IsZero() {
			m.InvokeStart(i.pool.fn.LogicalID, inv.id, inv.referralID, r.Cold, r.InitDuration)
		}
		m.InvokeEnd(inv.id, d, r.ErrorType(), timedOut)
	}
	i.logf("END RequestId: %s", inv.id)
	report := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB",
		inv.id, float64(d.Microseconds())/1000, (d+time.Millisecond-1)/time.Millisecond, i.pool.fn.MemorySize)
	if r.Cold && r.InitDuration > 0 {
		report += fmt.Sprintf("\tInit Duration: %.2f ms", float64(r.InitDuration.Microseconds())/1000)
	}
	i.logf("%s", report)
	return r
}

func (i *instance) exitPayload(reqID string) []byte {
	<-i.done
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.initError) > 0 {
		return i.initError
	}
	msg := "Runtime exited without providing a reason"
	if i.exitErr != nil {
		msg = "Runtime exited with error: " + i.exitErr.Error()
	}
	return errorPayload("Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: %s", reqID, msg))
}

// serveRuntime implements the Lambda Runtime API for this instance.
func (i *instance) serveRuntime(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, runtimePrefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case path == "invocation/next" && r.Method == http.MethodGet:
		i.serveNext(w, r)
	case path == "init/error" && r.Method == http.MethodPost:
		body := readErrorBody(r)
		i.mu.Lock()
		i.initError = body
		i.mu.Unlock()
		i.logf("INIT_REPORT Init Duration: %.2f ms Phase: init Status: error %s", float64(time.Since(i.started).Microseconds())/1000, body)
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
		i.kill()
	case strings.HasPrefix(path, "invocation/") && r.Method == http.MethodPost:
		rest := strings.TrimPrefix(path, "invocation/")
		id, kind, _ := strings.Cut(rest, "/")
		i.mu.Lock()
		inv := i.cur
		i.mu.Unlock()
		if inv == nil || inv.id != id {
			writeJSON(w, http.StatusBadRequest, map[string]string{"errorType": "InvalidRequestID", "errorMessage": "Invalid request ID"})
			return
		}
		switch kind {
		case "response":
			body, err := io.ReadAll(io.LimitReader(r.Body, maxResponse+1))
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"errorType": "InvalidRequest", "errorMessage": err.Error()})
				return
			}
			res := Result{Payload: body}
			if len(body) > maxResponse {
				res = Result{FunctionError: "Unhandled", Payload: errorPayload("Function.ResponseSizeTooLarge", "Response payload size exceeded maximum allowed payload size (6291556 bytes).")}
			}
			writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
			select {
			case inv.result <- res:
			default:
			}
		case "error":
			body := readErrorBody(r)
			writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
			select {
			case inv.result <- Result{FunctionError: "Unhandled", Payload: body}:
			default:
			}
		default:
			http.NotFound(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}

func (i *instance) serveNext(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	if !i.initDone {
		i.initDone = true
		i.initDur = time.Since(i.started)
	}
	i.mu.Unlock()
	var inv *invocation
	select {
	case inv = <-i.next:
	case <-r.Context().Done():
		return
	case <-i.done:
		return
	}
	fn := i.pool.fn
	inv.dispatchAt = time.Now()
	inv.deadline = inv.dispatchAt.Add(fn.Timeout)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", fn.ARN)
	h.Set("Lambda-Runtime-Trace-Id", traceID())
	if inv.onDispatch != nil {
		inv.onDispatch()
	}
	close(inv.dispatched)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

// readErrorBody returns the error document a runtime posted, normalised to
// a JSON object with errorType and errorMessage (passed through unchanged
// when it already is one).
func readErrorBody(r *http.Request) []byte {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxResponse))
	var doc map[string]any
	if json.Unmarshal(body, &doc) == nil && doc["errorType"] != nil {
		return body
	}
	typ := r.Header.Get("Lambda-Runtime-Function-Error-Type")
	if typ == "" {
		typ = "Unhandled"
	}
	if doc != nil {
		doc["errorType"] = typ
		b, _ := json.Marshal(doc)
		return b
	}
	return errorPayload(typ, string(bytes.TrimSpace(body)))
}

func traceID() string {
	id := strings.ReplaceAll(newRequestID(), "-", "")
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), id[:24], id[16:32])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// lineWriter copies a child's output line by line to w (safe for the
// concurrent writes of stdout and stderr).
type lineWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		n := bytes.IndexByte(l.buf, '\n')
		if n < 0 {
			break
		}
		_, _ = l.w.Write(l.buf[:n+1])
		l.buf = l.buf[n+1:]
	}
	if len(l.buf) > 64<<10 {
		_, _ = l.w.Write(append(l.buf, '\n'))
		l.buf = nil
	}
	return len(p), nil
}

func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		_, _ = l.w.Write(append(l.buf, '\n'))
		l.buf = nil
	}
}

// prefixWriter prefixes every line written to it (one line per Write).
type prefixWriter struct {
	mu     *sync.Mutex
	prefix string
	ws     []io.Writer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := append([]byte(p.prefix), b...)
	for _, w := range p.ws {
		_, _ = w.Write(line)
	}
	return len(b), nil
}

var logMu sync.Mutex

// functionLog returns the writer a function's lines go to: the stack log
// with a "[LogicalId] " prefix, plus LogDir/<LogicalId>.log when set.
func functionLog(opts Options, logicalID string) (io.Writer, io.Closer, error) {
	var ws []io.Writer
	if opts.Log != nil {
		ws = append(ws, &prefixWriter{mu: &logMu, prefix: "[" + logicalID + "] ", ws: []io.Writer{opts.Log}})
	}
	var closer io.Closer
	if opts.LogDir != "" {
		if err := os.MkdirAll(opts.LogDir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("log dir: %w", err)
		}
		f, err := os.OpenFile(filepath.Join(opts.LogDir, logicalID+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("function log: %w", err)
		}
		ws = append(ws, &prefixWriter{mu: &sync.Mutex{}, ws: []io.Writer{f}})
		closer = f
	}
	if len(ws) == 0 {
		return io.Discard, nil, nil
	}
	return io.MultiWriter(ws...), closer, nil
}
