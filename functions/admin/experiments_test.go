package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/referflow/referflow/internal/program/programtest"
	"github.com/referflow/referflow/internal/store"
)

func experimentVersions() *programtest.Versions {
	v := programtest.NewVersions(programtest.Experiment())
	v.Err = store.ErrConflict
	return v
}

func endReq(programID, body string) lambdaevents.APIGatewayV2HTTPRequest {
	return request(http.MethodPost, "/admin/programs/{program}/experiment/end", map[string]string{"program": programID}, body)
}

func TestEndExperimentAnswersTheContract(t *testing.T) {
	for _, c := range []struct {
		name     string
		program  string
		body     string
		conflict bool
		status   int
		code     string
		field    string
	}{
		{"not JSON", "b2b", `keep=B`, false, 400, "invalid_request", "body"},
		{"no variant named", "b2b", `{}`, false, 400, "invalid_request", "keep"},
		{"no such variant", "b2b", `{"keep":"Z"}`, false, 400, "invalid_request", "keep"},
		{"negative version", "b2b", `{"keep":"B","version":-1}`, false, 400, "invalid_request", "version"},
		{"unknown program", "nope", `{"keep":"B"}`, false, 404, "not_found", ""},
		{"not the version the caller saw", "b2b", `{"keep":"B","version":3}`, false, 409, "program_changed", ""},
		{"published concurrently", "b2b", `{"keep":"B"}`, true, 409, "program_changed", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			pv := experimentVersions()
			pv.Conflict = c.conflict
			h := &Handler{Programs: pv, Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			a := call(t, h, endReq(c.program, c.body))
			if a.status != c.status || errCode(a) != c.code {
				t.Fatalf("%d %v, want %d %s", a.status, a.body, c.status, c.code)
			}
			if c.field != "" {
				fields, _ := a.body["error"].(map[string]any)["fields"].(map[string]any)
				if fields[c.field] == nil {
					t.Errorf("fields %v lack %s", fields, c.field)
				}
			}
			if n := pv.Count("b2b"); n != 1 {
				t.Errorf("a refused end published version %d", n)
			}
		})
	}
}

func TestEndExperimentPublishesTheKeptVariant(t *testing.T) {
	pv := experimentVersions()
	h := &Handler{Programs: pv, Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	a := call(t, h, endReq("b2b", `{"keep":"B","version":1}`))
	if a.status != 200 || a.body["version"] != float64(2) || a.body["experiment"] != "double" || a.body["kept"] != "B" || a.body["program"] != "b2b" {
		t.Fatalf("%d %v", a.status, a.body)
	}
	cur, _ := pv.CurrentProgram(context.Background(), "b2b")
	if cur.Version != 2 || cur.Experiment != nil || len(cur.Tiers) != 1 || cur.Tiers[0].MultiplierBP != 20000 {
		t.Fatalf("version 2: %+v %+v", cur.Experiment, cur.Tiers)
	}
	again := call(t, h, endReq("b2b", `{"keep":"B"}`))
	if again.status != 409 || errCode(again) != "no_experiment" {
		t.Fatalf("ending twice: %d %v", again.status, again.body)
	}
}
