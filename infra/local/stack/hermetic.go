package stack

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/referflow/referflow/infra/local/egress"
	"github.com/referflow/referflow/infra/local/eventbus"
	"github.com/referflow/referflow/infra/local/fakes"
	"github.com/referflow/referflow/infra/local/httpapi"
	"github.com/referflow/referflow/infra/local/mailbox"
	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/config"
)

// hermetic is what keeps the stack on this machine: a fake of every
// outside API the functions call (from the provider registry, see package
// fakes) and the egress guard every function and moto send their HTTP(S)
// through, which refuses and records any destination off loopback.
type hermetic struct {
	guard *egress.Guard
	fakes *fakes.Set
	// settings are the values stored in SSM: the stack's environment or
	// local defaults (settingValues), with every faked API's URL setting
	// pointing at its fake.
	settings map[string]string
	// events serves GET /_local/events: the local EventBridge bus (nil: none).
	events http.Handler
	// mail serves /_local/mail: the local mailbox (nil: none).
	mail http.Handler
	// apiURL is the local HTTP API: functions whose template gives the
	// API's own execute-api URL as REFERFLOW_PUBLIC_BASE_URL get it.
	apiURL string
}

// startHermetic starts the egress guard and the fakes. The fakes accept the
// credentials the functions are given (settingValues of getenv).
func startHermetic(getenv func(string) string, logger *log.Logger) (*hermetic, error) {
	guard, err := egress.Start(logger)
	if err != nil {
		return nil, err
	}
	values := settingValues(getenv)
	set, err := fakes.StartAll(values)
	if err != nil {
		guard.Close()
		return nil, err
	}
	for name, url := range set.Settings() {
		values[name] = url
	}
	return &hermetic{guard: guard, fakes: set, settings: values}, nil
}

// Close stops the fakes and the guard.
func (h *hermetic) Close() {
	h.fakes.Close()
	h.guard.Close()
}

// functionEnv is a function's environment: its template Environment, where
// a faked API's URL setting points at the fake and REFERFLOW_LOCAL_ENV_<NAME>
// replaces <NAME> (tests pointing a function at a fake of their own), then
// the egress guard's proxy variables, which nothing replaces.
func (h *hermetic) functionEnv(logicalID string, template map[string]string, getenv func(string) string) map[string]string {
	faked := h.fakes.Settings()
	env := make(map[string]string, len(template)+8)
	for k, v := range template {
		if u, ok := faked[k]; ok {
			v = u
		}
		if k == config.PublicBaseURL && h.apiURL != "" && strings.Contains(v, ".execute-api.") {
			v = h.apiURL // on AWS the API's own URL; locally the stack's front
		}
		if o := getenv(EnvOverridePrefix + k); o != "" {
			v = o
		}
		env[k] = v
	}
	for k, v := range h.guard.Env(logicalID) {
		env[k] = v
	}
	return env
}

// handler wraps the HTTP API front: the fakes' control APIs under
// /_local/, the guard's record at /__referflow/egress, and until the stack
// is ready (ready holds the READY document) every API route answers 503
// temporarily_unavailable in the API's JSON error shape.
func (h *hermetic) handler(api http.Handler, ready *atomic.Pointer[Ready]) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(fakes.Prefix, h.fakes.Handler())
	if h.events != nil {
		mux.Handle("GET "+eventbus.Path, h.events)
	}
	if h.mail != nil {
		mux.Handle(mailbox.Path, h.mail)
		mux.Handle(mailbox.Path+"/", h.mail)
	}
	mux.HandleFunc("GET "+httpapi.InternalPrefix+"egress", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"attempts": h.guard.Attempts(), "dropped": h.guard.Dropped(), "proxy": h.guard.URL})
	})
	mux.HandleFunc("POST "+httpapi.InternalPrefix+"egress/reset", func(w http.ResponseWriter, r *http.Request) {
		h.guard.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		if ready.Load() == nil && !strings.HasPrefix(r.URL.Path, httpapi.InternalPrefix) {
			notReady(w)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// printSummary adds the fakes and the guard to the human summary.
func (h *hermetic) printSummary(w io.Writer, api string) {
	urls := h.fakes.URLs()
	for _, name := range sortedKeys(urls) {
		fmt.Fprintf(w, "  fake %-8s %s   (control: %s%s%s/)\n", name, urls[name], api, fakes.Prefix, name)
	}
	if h.mail != nil {
		fmt.Fprintf(w, "  mailbox       %s%s   (every email the functions sent, newest first; JSON with Accept: application/json)\n", api, mailbox.Path)
	}
	fmt.Fprintf(w, "  egress guard  %s   (every function's HTTP(S) proxy; refused hosts: %s%segress)\n", h.guard.URL, api, httpapi.InternalPrefix)
}

// notReady answers like internal/apigw's Unavailable, with a message saying
// why.
func notReady(w http.ResponseWriter) {
	res := apigw.Error(http.StatusServiceUnavailable, "temporarily_unavailable", "the local stack is starting; retry after READY", nil)
	res.Headers["retry-after"] = apigw.Unavailable().Headers["retry-after"]
	for k, v := range res.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write([]byte(res.Body))
}
