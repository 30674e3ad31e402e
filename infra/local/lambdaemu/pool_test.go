package lambdaemu

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/build"
	"github.com/referflow/referflow/infra/local/meter"
)

func TestPoolHello(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	root, err := build.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, err := build.Hello(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := meter.New(map[string]string{"Hello": "hello"}, map[string]int{"Hello": 128})
	logDir := t.TempDir()
	p, err := NewPool(Function{LogicalID: "Hello", Name: "hello", ARN: "arn:aws:lambda:us-east-1:123456789012:function:hello",
		Binary: bin, MemorySize: 128, Timeout: 3 * time.Second, MaxConcurrency: 2}, Options{Meter: m, LogDir: logDir, BaseEnv: map[string]string{"PATH": os.Getenv("PATH")}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	r, err := p.Invoke(ctx, []byte(`{"referral_id":"r1"}`))
	if err != nil || string(r.Payload) != `"hello"` || r.FunctionError != "" || !r.Cold || r.InitDuration <= 0 {
		t.Fatalf("cold invoke: %+v %v", r, err)
	}
	r, err = p.Invoke(ctx, []byte(`{}`))
	if err != nil || r.Cold {
		t.Fatalf("warm invoke: %+v %v", r, err)
	}
	// Three at once with a cap of two: two instances, the third waits.
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := p.Invoke(ctx, []byte(`{}`)); err != nil || r.FunctionError != "" {
				t.Errorf("%+v %v", r, err)
			}
		}()
	}
	wg.Wait()
	if n := p.Instances(); n < 1 || n > 2 {
		t.Errorf("instances = %d, want at most 2", n)
	}
	s := m.Snapshot()
	if f := s.Functions["Hello"]; f.Invocations != 5 || f.ColdStarts < 1 || f.Errors != 0 || s.Referrals["r1"].Invocations["Hello"] != 1 {
		t.Errorf("stats %+v", f)
	}
	if b, err := os.ReadFile(filepath.Join(logDir, "Hello.log")); err != nil || len(b) == 0 {
		t.Errorf("function log file: %v", err)
	}
}
