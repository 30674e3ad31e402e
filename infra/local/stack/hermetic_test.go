package stack

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/referflow/referflow/internal/crm/hubspot"
)

func startHermeticT(t *testing.T, env map[string]string) *hermetic {
	t.Helper()
	h, err := startHermetic(func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// A faked API's URL setting points at the fake in SSM and in every
// function environment that names it (the template's https://api.hubapi.com
// included); REFERFLOW_LOCAL_ENV_<NAME> still wins; the proxy variables are
// the guard's whatever the template or the overrides say.
func TestFunctionEnvPointsAtTheFakesAndTheGuard(t *testing.T) {
	h := startHermeticT(t, map[string]string{
		hubspot.SettingAPIURL:                      "https://api.hubapi.com",
		EnvOverridePrefix + "HTTPS_PROXY":          "http://corp.example:3128",
		EnvOverridePrefix + "REFERFLOW_PUBLIC_URL": "http://127.0.0.1:1",
	})
	fake := h.fakes.URLs()["hubspot"]
	if !strings.HasPrefix(fake, "http://127.0.0.1:") || h.settings[hubspot.SettingAPIURL] != fake {
		t.Fatalf("fake %q, setting %q", fake, h.settings[hubspot.SettingAPIURL])
	}
	env := h.functionEnv("WebhookFunction", map[string]string{
		hubspot.SettingAPIURL: "https://api.hubapi.com", "HTTPS_PROXY": "http://corp.example:3128", "REFERFLOW_PUBLIC_URL": "https://x.example", "KEEP": "v",
	}, func(k string) string {
		return map[string]string{EnvOverridePrefix + "HTTPS_PROXY": "http://corp.example:3128", EnvOverridePrefix + "REFERFLOW_PUBLIC_URL": "http://127.0.0.1:1"}[k]
	})
	want := map[string]string{
		hubspot.SettingAPIURL: fake, "REFERFLOW_PUBLIC_URL": "http://127.0.0.1:1", "KEEP": "v",
		"HTTPS_PROXY": h.guard.ProxyURL("WebhookFunction"), "HTTP_PROXY": h.guard.ProxyURL("WebhookFunction"), "NO_PROXY": "127.0.0.1,localhost,::1",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	over := h.functionEnv("WebhookFunction", map[string]string{hubspot.SettingAPIURL: "https://api.hubapi.com"}, func(k string) string {
		if k == EnvOverridePrefix+hubspot.SettingAPIURL {
			return "http://127.0.0.1:9/own-fake"
		}
		return ""
	})
	if over[hubspot.SettingAPIURL] != "http://127.0.0.1:9/own-fake" {
		t.Errorf("override lost: %q", over[hubspot.SettingAPIURL])
	}
}

func get(t *testing.T, h http.Handler, method, path string) (int, http.Header, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader("{}")))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, rec.Header(), string(b)
}

// Until READY every API route answers 503 temporarily_unavailable in the
// API's error shape; the stack's own endpoints and the fakes answer.
func TestFrontAnswers503UntilReady(t *testing.T) {
	h := startHermeticT(t, nil)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "api "+r.URL.Path) })
	ready := &atomic.Pointer[Ready]{}
	front := h.handler(api, ready)
	code, hdr, body := get(t, front, http.MethodPost, "/referrals")
	if code != http.StatusServiceUnavailable || hdr.Get("Content-Type") != "application/json" || hdr.Get("Retry-After") == "" ||
		!strings.HasPrefix(body, `{"error":{"code":"temporarily_unavailable","message":`) {
		t.Errorf("before ready: %d %v %s", code, hdr, body)
	}
	for _, path := range []string{"/__referflow/ready", "/__referflow/health"} {
		if code, _, body := get(t, front, http.MethodGet, path); code != 200 || body != "api "+path {
			t.Errorf("%s before ready = %d %s", path, code, body)
		}
	}
	if code, _, body := get(t, front, http.MethodGet, "/_local/hubspot/"); code != 200 || !strings.Contains(body, `"requests":0`) {
		t.Errorf("fake before ready = %d %s", code, body)
	}
	if code, _, body := get(t, front, http.MethodGet, "/__referflow/egress"); code != 200 || !strings.Contains(body, `"attempts":[]`) {
		t.Errorf("egress = %d %s", code, body)
	}
	ready.Store(&Ready{})
	if code, _, body := get(t, front, http.MethodPost, "/referrals"); code != 200 || body != "api /referrals" {
		t.Errorf("after ready: %d %s", code, body)
	}
}
