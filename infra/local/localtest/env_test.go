package localtest

import (
	"slices"
	"strings"
	"testing"
)

// A caller's REFERFLOW_* variables (exported for `make run`) never reach a
// test stack; every setting is explicit; the test's own Env wins.
func TestStackEnvDropsTheCallersSettings(t *testing.T) {
	parent := []string{"PATH=/bin", "HOME=/h", "PORT=3000", "REFERFLOW_HUBSPOT_CLIENT_SECRET=mine", "REFERFLOW_LOCAL_FAULTS={}",
		"REFERFLOW_LOCAL_ENV_REFERFLOW_HUBSPOT_API_URL=https://api.hubapi.com", "referflow_admin_token=x"}
	got := stackEnv(parent, map[string]string{"REFERFLOW_ADMIN_TOKEN": "test-token"})
	for _, want := range []string{"PATH=/bin", "HOME=/h", "REFERFLOW_HUBSPOT_CLIENT_SECRET=local-hubspot-client-secret", "REFERFLOW_ADMIN_TOKEN=test-token"} {
		if !slices.Contains(got, want) {
			t.Errorf("lacks %s: %q", want, got)
		}
	}
	for _, kv := range got {
		if strings.Contains(kv, "mine") || strings.HasPrefix(kv, "PORT=") || strings.HasPrefix(kv, "REFERFLOW_LOCAL_") || strings.HasPrefix(kv, "referflow_") {
			t.Errorf("keeps %s", kv)
		}
	}
	for name := range Settings() {
		n := 0
		for _, kv := range got {
			if strings.HasPrefix(kv, name+"=") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("setting %s given %d times", name, n)
		}
	}
}
