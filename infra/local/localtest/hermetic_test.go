package localtest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/referflow/referflow/infra/local/localtest"
)

type fetched struct {
	Proxy   string `json:"proxy"`
	Fetched bool   `json:"fetched"`
	Status  int    `json:"status"`
	Error   string `json:"error"`
}

func fetch(t *testing.T, st *localtest.Stack) fetched {
	t.Helper()
	resp, body := do(t, newReq(t, "GET", st.API+"/files/fetch", ""))
	var f fetched
	if err := json.Unmarshal(body, &f); resp.StatusCode != 200 || err != nil {
		t.Fatalf("fetch = %d %s (%v)", resp.StatusCode, body, err)
	}
	return f
}

// A function's request for a host outside the machine goes to the egress
// guard (the function runs with its proxy variables), which refuses it
// without connecting and records it under the function's logical id. The
// host is a reserved .invalid name, and the fixture refuses to try at all
// without the proxy variables.
func TestEgressGuardRecordsAFunctionLeaving(t *testing.T) {
	st := localtest.Start(t, localtest.Options{
		Template: fixture(t), SkipSeed: true, AllowEgress: true,
		Env: map[string]string{"REFERFLOW_LOCAL_ENV_FAKE_URL": "https://api.leak.invalid/crm/v3/objects/deals/1"},
	})
	f := fetch(t, st)
	if !strings.HasPrefix(f.Proxy, "http://EchoFunction@127.0.0.1:") || !f.Fetched {
		t.Fatalf("the function runs without the guard's proxy: %+v", f)
	}
	if !strings.Contains(f.Error, "Forbidden") {
		t.Errorf("the request was not refused: %+v", f)
	}
	attempts, err := st.Egress()
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 1 || attempts[0].Caller != "EchoFunction" || attempts[0].Method != "CONNECT" || attempts[0].Host != "api.leak.invalid:443" {
		t.Errorf("egress record = %+v", attempts)
	}
	if !strings.Contains(st.Log(), "egress refused: CONNECT api.leak.invalid:443") {
		t.Errorf("the refusal is not logged:\n%s", st.Log())
	}
}

// Loopback is direct: the request reaches 127.0.0.1 (nothing listens on
// port 9, so it is refused by the kernel, not by the guard) and is not
// recorded; the cleanup's check of the record passes.
func TestLoopbackIsDirect(t *testing.T) {
	st := localtest.Start(t, localtest.Options{
		Template: fixture(t), SkipSeed: true,
		Env: map[string]string{"REFERFLOW_LOCAL_ENV_FAKE_URL": "http://127.0.0.1:9/fake"},
	})
	f := fetch(t, st)
	if !f.Fetched || !strings.Contains(f.Error, "connection refused") || strings.Contains(f.Error, "Forbidden") {
		t.Errorf("loopback fetch = %+v", f)
	}
	if a, err := st.Egress(); err != nil || len(a) != 0 {
		t.Errorf("egress record = %+v, %v", a, err)
	}
}
