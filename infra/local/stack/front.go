package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"sync/atomic"

	"github.com/referflow/referflow/infra/local/awsapi"
	"github.com/referflow/referflow/infra/local/httpapi"
	"github.com/referflow/referflow/infra/local/lambdaemu"
	"github.com/referflow/referflow/infra/local/meter"
	"github.com/referflow/referflow/infra/local/sam"
)

type front struct {
	http.Handler
	routes []httpapi.Route
	ready  *atomic.Pointer[Ready]
}

// newFront builds the HTTP API front from every function's HttpApi events.
// All apis of the template share the one port; CORS comes from the api the
// routes belong to (the first one with a CorsConfiguration if several).
func newFront(tpl *sam.Template, ep *awsapi.Endpoint, m *meter.Meter, getenv func(string) string, logger *log.Logger, pools []*lambdaemu.Pool, runNow *scheduleRunner) (*front, error) {
	var routes []httpapi.Route
	var api sam.HTTPAPI
	seen := map[string]string{}
	for _, f := range tpl.Functions {
		for _, e := range f.HTTPEvents {
			a, ok := tpl.API(e.APIID)
			if !ok && e.APIID == "" && len(tpl.HTTPAPIs) == 1 {
				a, ok = tpl.HTTPAPIs[0], true
			}
			if !ok {
				return nil, fmt.Errorf("function %s event %s: no HttpApi %q in the template", f.LogicalID, e.Name, e.APIID)
			}
			if api.LogicalID == "" || (api.Cors == nil && a.Cors != nil) {
				api = a
			}
			auth := e.Auth
			if auth == "" {
				auth = a.DefaultAuthorizer
			}
			r := httpapi.Route{Method: e.Method, Path: e.Path, Function: f.LogicalID, IAM: auth == "AWS_IAM"}
			if other, dup := seen[r.Key()]; dup {
				return nil, fmt.Errorf("route %s is defined by %s and %s", r.Key(), other, f.LogicalID)
			}
			seen[r.Key()] = f.LogicalID
			routes = append(routes, r)
		}
	}
	var cors *httpapi.CORS
	if api.Cors != nil {
		c := httpapi.CORS(*api.Cors)
		cors = &c
	}
	admin := settingValues(getenv)["REFERFLOW_ADMIN_TOKEN"]
	ready := &atomic.Pointer[Ready]{}
	router := httpapi.NewRouter(routes)
	srv := httpapi.NewServer(httpapi.Config{
		Router:     router,
		APIID:      api.ID,
		AccountID:  sam.AccountID,
		CORS:       cors,
		AdminToken: admin,
		Meter:      m,
		Log:        logger,
		Internal:   internalHandler(m, pools, ready, ep, runNow),
		Invoke: func(ctx context.Context, function string, payload []byte) (lambdaemu.Result, error) {
			p, ok := ep.Pool(function)
			if !ok {
				return lambdaemu.Result{}, fmt.Errorf("no function %s", function)
			}
			res, err := p.Invoke(ctx, payload)
			if err != nil {
				return res, err
			}
			return ep.AfterInvoke(p.Function().LogicalID, res), nil
		},
	})
	return &front{Handler: srv, routes: router.Routes(), ready: ready}, nil
}

// internalHandler serves POST /__referflow/schedules/{function}/run (fire
// a function's schedules now), /__referflow/stats, /__referflow/stats/reset,
// /__referflow/health and /__referflow/ready (the READY document, for tools
// such as `make demo` that attach to a running stack).
func internalHandler(m *meter.Meter, pools []*lambdaemu.Pool, ready *atomic.Pointer[Ready], ep *awsapi.Endpoint, runNow *scheduleRunner) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /__referflow/schedules/{function}/run", func(w http.ResponseWriter, r *http.Request) {
		n := runNow.run(r.PathValue("function"))
		if n == 0 {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no scheduled function " + r.PathValue("function")})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]int{"fired": n})
	})
	mux.HandleFunc("GET /__referflow/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"injected": ep.Faults.Hits()})
	})
	mux.HandleFunc("GET /__referflow/ready", func(w http.ResponseWriter, r *http.Request) {
		doc := ready.Load()
		if doc == nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
			return
		}
		writeJSON(w, http.StatusOK, doc)
	})
	mux.HandleFunc("GET /__referflow/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, m.Snapshot())
	})
	mux.HandleFunc("POST /__referflow/stats/reset", func(w http.ResponseWriter, r *http.Request) {
		m.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /__referflow/health", func(w http.ResponseWriter, r *http.Request) {
		inst := map[string]int{}
		for _, p := range pools {
			inst[p.Function().LogicalID] = p.Instances()
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "instances": inst})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
