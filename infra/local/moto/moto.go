// Package moto starts and stops the moto server that backs the local stack's
// AWS services (DynamoDB, Step Functions, SSM, ...), with the work-around
// for the moto 5.2.1 StartExecution defect applied by an embedded launcher.
package moto

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/referflow/referflow/infra/local/internal/proc"
)

//go:embed launcher.py
var launcher []byte

// ErrMissing is returned when python3 or moto is not installed.
var ErrMissing = errors.New(`moto is missing: pip install "moto[server]" cfn-lint (Python 3 with moto 5.x; cfn-lint checks template.yaml)`)

// Options configure the server.
type Options struct {
	// Port is moto's own port (A).
	Port int
	// LambdaPort is MOTO_PORT (B): where moto's Step Functions interpreter
	// sends Lambda invokes and other service integrations.
	LambdaPort int
	// Log receives moto's output (nil discards it).
	Log io.Writer
	// StartTimeout bounds the wait until moto answers (default 30 s).
	StartTimeout time.Duration
	// Env is added to moto's environment (the egress guard's proxy).
	Env map[string]string
}

// Server is a running moto server.
type Server struct {
	URL  string
	cmd  *exec.Cmd
	dir  string
	done chan struct{}
}

// Python returns the python3 interpreter to use, checking that moto's server
// imports.
func Python(ctx context.Context) (string, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return "", fmt.Errorf("%w: python3 not on PATH", ErrMissing)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", "import moto, moto.server, moto.stepfunctions.models; print(moto.__version__)").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w (%s: %s)", ErrMissing, py, lastLine(out))
	}
	return py, nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// Start runs moto on 127.0.0.1:opts.Port, waits until it answers and turns on
// Step Functions execution.
func Start(ctx context.Context, opts Options) (*Server, error) {
	py, err := Python(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "referflow-moto-")
	if err != nil {
		return nil, fmt.Errorf("moto temp dir: %w", err)
	}
	script := filepath.Join(dir, "launcher.py")
	if err := os.WriteFile(script, launcher, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("write moto launcher: %w", err)
	}
	cmd := exec.Command(py, script, "-H", "127.0.0.1", "-p", strconv.Itoa(opts.Port))
	cmd.Dir = dir
	cmd.Env = environ(os.Environ(), opts)
	if opts.Log != nil {
		cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	}
	cmd.SysProcAttr = proc.Attr()
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start moto: %w", err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", opts.Port), cmd: cmd, dir: dir, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if err := s.waitReady(ctx, timeout); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.configure(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("moto exited during start-up (see its log)")
		case <-ctx.Done():
			return fmt.Errorf("waiting for moto: %w", ctx.Err())
		default:
		}
		resp, err := client.Get(s.URL + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond) // polling interval of the readiness check
	}
	return fmt.Errorf("moto did not answer on %s within %s", s.URL, timeout)
}

// configure turns on real execution of state machine definitions.
func (s *Server) configure(ctx context.Context) error {
	body := []byte(`{"stepfunctions":{"execute_state_machine":true}}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/moto-api/config", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("moto config: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("moto config: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("moto config: %s: %s", resp.Status, b)
	}
	return nil
}

// Done is closed when the moto process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Pid is the moto process id (its process group id as well).
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop terminates moto's process group (SIGTERM, then SIGKILL after 3 s)
// and removes the launcher.
func (s *Server) Stop() {
	defer os.RemoveAll(s.dir)
	pid := s.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		select {
		case <-s.done:
		case <-time.After(3 * time.Second):
		}
	}
}

// environ is moto's environment: the parent's without the caller's
// REFERFLOW_*, AWS_*, MOTO_* and proxy variables (they would change how
// moto behaves or where boto3 in its interpreter sends the Lambda calls),
// then the local stack's own values and opts.Env.
func environ(parent []string, opts Options) []string {
	out := make([]string, 0, len(parent)+len(opts.Env)+5)
	for _, kv := range parent {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		if strings.HasPrefix(upper, "REFERFLOW_") || strings.HasPrefix(upper, "AWS_") || strings.HasPrefix(upper, "MOTO_") ||
			strings.HasSuffix(upper, "_PROXY") {
			continue
		}
		out = append(out, kv)
	}
	out = append(out,
		"MOTO_PORT="+strconv.Itoa(opts.LambdaPort),
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"PYTHONUNBUFFERED=1",
	)
	for k, v := range opts.Env {
		out = append(out, k+"="+v)
	}
	return out
}
