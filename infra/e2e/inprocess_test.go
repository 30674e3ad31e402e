package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/referflow/referflow/infra/local/build"
	"github.com/referflow/referflow/infra/local/localtest"
	"github.com/referflow/referflow/infra/local/stack"
	"github.com/referflow/referflow/infra/seed"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/programs"
)

// lockedBuffer collects the stack's stdout.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runInProcess runs the repo's stack in this process (stack.Run, with the
// test settings and no other environment) with seedHook as its seed, waits
// for READY, and stops it in t.Cleanup after checking that no function
// tried to leave the machine.
func runInProcess(t *testing.T, seedHook func(ctx context.Context, s *stack.Stack) error) *stack.Stack {
	t.Helper()
	root, err := build.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	tpl := filepath.Join(root, "template.yaml")
	bins, err := localtest.FunctionBinaries(tpl)
	if err != nil {
		t.Fatal(err)
	}
	vars := stackVars(nil)
	ctx, cancel := context.WithCancel(context.Background())
	stacks := make(chan *stack.Stack, 1)
	done := make(chan error, 1)
	var out, logs lockedBuffer
	go func() {
		done <- stack.Run(ctx, stack.Config{
			Template: tpl, RepoRoot: root, BinDir: bins, Quiet: true,
			Getenv: func(k string) string { return vars[k] },
			Stdout: &out, Log: &logs,
			Seed: func(ctx context.Context, s *stack.Stack) error {
				stacks <- s
				return seedHook(ctx, s)
			},
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stack.Run: %v", err)
		}
		if t.Failed() {
			t.Logf("stack log:\n%s", logs.String())
		}
	})
	var s *stack.Stack
	deadline := time.After(localtest.ReadyTimeout)
	for !strings.Contains(out.String(), "READY ") {
		select {
		case s = <-stacks:
		case err := <-done:
			done <- err
			t.Fatalf("stack.Run ended before READY: %v\n%s", err, logs.String())
		case <-deadline:
			t.Fatalf("no READY within %s:\n%s", localtest.ReadyTimeout, logs.String())
		case <-time.After(50 * time.Millisecond): // polling stdout for READY
		}
	}
	if s == nil {
		s = <-stacks // sent before READY
	}
	t.Cleanup(func() { assertNoEgress(t, s.APIURL) })
	return s
}

// assertNoEgress fails t when the stack's egress guard refused anything.
func assertNoEgress(t *testing.T, api string) {
	resp, err := http.Get(api + "/__referflow/egress")
	if err != nil {
		t.Errorf("egress record: %v", err)
		return
	}
	defer resp.Body.Close()
	var rec struct {
		Attempts []map[string]any `json:"attempts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rec); err != nil || len(rec.Attempts) != 0 {
		t.Errorf("egress record: %+v (%v)", rec.Attempts, err)
	}
}

// seedDemo loads the default program and the demo referrer, as the
// command's seed hook does.
func seedDemo(ctx context.Context, s *stack.Stack) error {
	// Partners are filed for sign-in under the keyed hash of their email.
	st := store.New(dynamodb.NewFromConfig(s.AWS), s.Tables["Table"]).WithKeys(localKeys)
	now := time.Now()
	def, err := seed.PublishProgram(ctx, st, programs.Default(), seed.Overrides{HoldSeconds: 2, DeadlineSeconds: 600, ReviewDeadlineSeconds: 120}, now)
	if err != nil {
		return err
	}
	return seed.AddReferrer(ctx, st, referral.Referrer{ProgramID: def.ID, Code: demoCode, Email: "partner@demo-referrer.example"}, now)
}

// postDemoReferral submits a referral from the demo referrer.
func postDemoReferral(api, tag string) (int, []byte, http.Header) {
	body := fmt.Sprintf(`{"referrer_code":%q,"referee_email":"jane@%s-%d.example","referee_name":"Jane Doe","referee_company":"Acme %s"}`,
		demoCode, tag, time.Now().UnixNano(), tag)
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Post(api+"/referrals", "application/json", strings.NewReader(body))
	if err != nil {
		return 0, []byte(err.Error()), http.Header{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}
