package stripe_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/rewards/stripe"
)

// startStripeMock starts stripe-mock (`make stripe-mock` installs it) on a
// free loopback port and returns its URL. It fails when stripe-mock is
// missing, unless REFERFLOW_SKIP_STRIPE_MOCK=1.
func startStripeMock(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("stripe-mock")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		bin = filepath.Join(string(trim(gopath)), "bin", "stripe-mock")
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("REFERFLOW_SKIP_STRIPE_MOCK") == "1" {
			t.Skip("stripe-mock is missing and REFERFLOW_SKIP_STRIPE_MOCK=1")
		}
		t.Fatalf("stripe-mock is missing (%s): run `make stripe-mock`", bin)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	cmd := exec.Command(bin, "-http-addr", addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for range 100 {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			_ = c.Close()
			return "http://" + addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("stripe-mock did not listen on %s", addr)
	return ""
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// TestRequestShapesAgainstStripeMock sends every kind of reward and looks
// each up against stripe-mock, which validates every request against
// Stripe's OpenAPI spec (it is stateless: idempotency is the fake's).
func TestRequestShapesAgainstStripeMock(t *testing.T) {
	url := startStripeMock(t)
	rail, err := stripe.New(stripe.Config{APIURL: url, APIKey: "sk_test_123", HTTPClient: &http.Client{Timeout: 10 * time.Second}}, testPayees)
	if err != nil {
		t.Fatal(err)
	}
	for kind, party := range map[string]string{"cash": "referrer", "credit": "referee", "discount": "referee"} {
		r := reward(kind, party)
		if tr, err := rail.Send(context.Background(), r); err != nil || tr.Reference == "" {
			t.Errorf("%s: send: %+v %v", kind, tr, err)
		}
		if _, _, err := rail.Find(context.Background(), r); err != nil {
			t.Errorf("%s: find: %v", kind, fmt.Errorf("%w", err))
		}
	}
}
