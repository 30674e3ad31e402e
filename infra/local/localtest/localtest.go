// Package localtest starts the Docker-free local stack (referflow-local) from
// Go tests. The stack binary and the function binaries are built once per
// test process; each Start runs a fresh stack on free ports and stops it
// (SIGTERM, then a check that no child process is left) in t.Cleanup.
//
//	func TestIntake(t *testing.T) {
//		st := localtest.Start(t, localtest.Options{})
//		resp, err := http.Post(st.API+"/referrals", "application/json", body)
//		...
//		db := dynamodb.NewFromConfig(st.AWSConfig())
//	}
package localtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/referflow/referflow/infra/local/build"
	"github.com/referflow/referflow/infra/local/internal/proc"
	"github.com/referflow/referflow/infra/local/meter"
	"github.com/referflow/referflow/infra/local/sam"
	"github.com/referflow/referflow/infra/local/stack"
)

// ReadyTimeout bounds the wait for the READY line.
const ReadyTimeout = 60 * time.Second

// Options configure Start.
type Options struct {
	// Template is the SAM template (default: template.yaml in the repo root).
	Template string
	// Env is added to the stack's environment: settings
	// (REFERFLOW_ADMIN_TOKEN, ...), REFERFLOW_LOCAL_ENV_<NAME> overrides of
	// function variables, REFERFLOW_LOCAL_SCHEDULE_SECONDS. Nothing else
	// named REFERFLOW_* reaches the stack: the test process's own such
	// variables are dropped and every setting is given its local default
	// (Settings) unless Env says otherwise.
	Env map[string]string
	// AllowEgress keeps the cleanup from failing the test when functions
	// tried to reach hosts outside the machine (for tests of the guard).
	AllowEgress bool
	// LogDir is passed as -log-dir when set.
	LogDir string
	// SkipSeed passes -seed=false: no example programs are loaded (for
	// templates other than the repo's, such as test fixtures).
	SkipSeed bool
}

// Stack is a running local stack.
type Stack struct {
	stack.Ready
	// Pid is the referflow-local process (also its process group id).
	Pid int

	t       testing.TB
	cmd     *exec.Cmd
	exited  chan struct{}
	log     *capped
	stopped bool
	mu      sync.Mutex
	// allowEgress: Stop does not fail the test on a non-empty egress record.
	allowEgress bool
}

type builds struct {
	once sync.Once
	dir  string
	err  error
}

var (
	buildMu  sync.Mutex
	buildDir string
	local    builds
	perTpl   = map[string]*builds{}
	hello    builds

	lastMu  sync.Mutex
	lastAWS string
)

func root() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	return build.RepoRoot(wd)
}

func workDir() (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir == "" {
		d, err := os.MkdirTemp("", "referflow-localtest-")
		if err != nil {
			return "", fmt.Errorf("build dir: %w", err)
		}
		buildDir = d
	}
	return buildDir, nil
}

// RemoveBuilds deletes the binaries built by this process; call it from
// TestMain after m.Run.
func RemoveBuilds() {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir != "" {
		os.RemoveAll(buildDir)
		buildDir = ""
	}
}

// LocalBinary builds the referflow-local command once per process.
func LocalBinary() (string, error) {
	local.once.Do(func() {
		r, err := root()
		if err != nil {
			local.err = err
			return
		}
		d, err := workDir()
		if err != nil {
			local.err = err
			return
		}
		bin := filepath.Join(d, "referflow-local")
		cmd := exec.Command("go", "build", "-o", bin, "./infra/local")
		cmd.Dir = r
		if out, err := cmd.CombinedOutput(); err != nil {
			local.err = fmt.Errorf("go build ./infra/local: %w\n%s", err, out)
			return
		}
		local.dir = bin
	})
	return local.dir, local.err
}

// FunctionBinaries builds every function of template once per process (with
// the Makefile contract of sam build) and returns the -bin-dir to use.
func FunctionBinaries(template string) (string, error) {
	abs, err := filepath.Abs(template)
	if err != nil {
		return "", fmt.Errorf("template path: %w", err)
	}
	buildMu.Lock()
	b, ok := perTpl[abs]
	if !ok {
		b = &builds{}
		perTpl[abs] = b
	}
	n := len(perTpl)
	buildMu.Unlock()
	b.once.Do(func() {
		tpl, err := sam.Load(abs, sam.Options{})
		if err != nil {
			b.err = err
			return
		}
		d, err := workDir()
		if err != nil {
			b.err = err
			return
		}
		dir := filepath.Join(d, "bin"+strconv.Itoa(n))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if _, err := build.Functions(ctx, tpl.Functions, dir); err != nil {
			b.err = err
			return
		}
		b.dir = dir
	})
	return b.dir, b.err
}

// HelloBinary builds the minimal aws-lambda-go hello function (the bench's
// baseline) once per process and returns its bootstrap path.
func HelloBinary() (string, error) {
	hello.once.Do(func() {
		r, err := root()
		if err != nil {
			hello.err = err
			return
		}
		d, err := workDir()
		if err != nil {
			hello.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		hello.dir, hello.err = build.Hello(ctx, r, filepath.Join(d, "hello"))
	})
	return hello.dir, hello.err
}

// Start builds what is needed (once), starts a stack on free ports and
// waits for READY. The stack stops in t.Cleanup.
func Start(t testing.TB, opts Options) *Stack {
	t.Helper()
	r, err := root()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Template == "" {
		opts.Template = filepath.Join(r, "template.yaml")
	}
	bin, err := LocalBinary()
	if err != nil {
		t.Fatal(err)
	}
	binDir, err := FunctionBinaries(opts.Template)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-template", opts.Template, "-port", "0", "-bin-dir", binDir}
	if opts.LogDir != "" {
		args = append(args, "-log-dir", opts.LogDir)
	}
	if opts.SkipSeed {
		args = append(args, "-seed=false")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = r
	cmd.Env = stackEnv(os.Environ(), opts.Env)
	cmd.SysProcAttr = proc.Attr()
	s := &Stack{t: t, cmd: cmd, exited: make(chan struct{}), log: &capped{max: 1 << 20}, allowEgress: opts.AllowEgress}
	s.log.keepAll()
	cmd.Stderr = s.log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start referflow-local: %v", err)
	}
	s.Pid = cmd.Process.Pid
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "READY "); ok {
				select {
				case ready <- rest:
				default:
				}
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("referflow-local log (last %d bytes):\n%s", s.log.Len(), s.log.String())
			if p := s.log.Path(); p != "" {
				t.Logf("referflow-local's whole log is kept in %s", p)
			}
		}
		s.log.finish(t.Failed())
	})
	select {
	case line := <-ready:
		if err := json.Unmarshal([]byte(line), &s.Ready); err != nil {
			t.Fatalf("READY line %q: %v", line, err)
		}
	case <-s.exited:
		t.Fatalf("referflow-local exited before READY:\n%s", s.log.String())
	case <-time.After(ReadyTimeout):
		t.Fatalf("no READY line within %s:\n%s", ReadyTimeout, s.log.String())
	}
	lastMu.Lock()
	lastAWS = s.AWS
	lastMu.Unlock()
	return s
}

// Log returns the stack's log so far (bounded).
func (s *Stack) Log() string { return s.log.String() }

// AWSConfig returns an SDK configuration pointed at this stack's AWS
// endpoint with static "testing" credentials.
func (s *Stack) AWSConfig() aws.Config { return stack.AWSConfig(s.AWS) }

// AWSConfig returns an SDK configuration pointed at the AWS endpoint of the
// stack started last in this process, with static "testing" credentials.
func AWSConfig() aws.Config {
	lastMu.Lock()
	defer lastMu.Unlock()
	return stack.AWSConfig(lastAWS)
}

// Stats returns the stack's metering counters.
func (s *Stack) Stats() (meter.Snapshot, error) {
	var snap meter.Snapshot
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(s.API + "/__referflow/stats")
	if err != nil {
		return snap, fmt.Errorf("stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return snap, fmt.Errorf("stats: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		return snap, fmt.Errorf("stats: %w", err)
	}
	return snap, nil
}

// ResetStats zeroes the stack's metering counters.
func (s *Stack) ResetStats() error {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Post(s.API+"/__referflow/stats/reset", "", nil)
	if err != nil {
		return fmt.Errorf("reset stats: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("reset stats: %s", resp.Status)
	}
	return nil
}

// Descendants lists the process ids below the stack process (Linux /proc).
func (s *Stack) Descendants() []int { return descendants(s.Pid) }

// Stop fails the test if a function tried to leave the machine (unless
// Options.AllowEgress), sends SIGTERM, waits for the stack to exit, and
// checks that none of its child processes (moto, function instances) is
// left. It is idempotent.
func (s *Stack) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	select {
	case <-s.exited: // nothing to ask any more
	default:
		if s.API != "" && !s.allowEgress {
			s.checkEgress()
		}
	}
	kids := descendants(s.Pid)
	_ = syscall.Kill(s.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-s.Pid, syscall.SIGKILL)
		<-s.exited
		return errors.New("referflow-local did not exit within 20s of SIGTERM")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []int
		for _, pid := range append(kids, s.Pid) {
			if alive(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 && syscall.Kill(-s.Pid, 0) != nil {
			return nil
		}
		if time.Now().After(deadline) {
			for _, pid := range left {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			return fmt.Errorf("processes left after the stack stopped: %v", left)
		}
		time.Sleep(50 * time.Millisecond) // polling /proc for exited children
	}
}
