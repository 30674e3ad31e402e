package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/program/programtest"
	"github.com/referflow/referflow/internal/store"
)

// experimentsHandler is a signed-in console whose program b2b runs an
// experiment where B converts 1.8x.
func experimentsHandler(t *testing.T) (*Handler, *sectionSessions, *programtest.Versions) {
	t.Helper()
	h, ss := sectionHandler(t)
	st := programtest.ExperimentStore()
	st.Err = store.ErrConflict
	h.Programs, h.KPIs = st, &kpis.Service{Store: st}
	return h, ss, st.Versions
}

func TestExperimentsPageShowsTheVerdictAndAFormPerVariant(t *testing.T) {
	h, _, _ := experimentsHandler(t)
	resp := get(t, h, "/console/experiments", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	contains(t, resp.Body, "B2B partners (b2b): experiment double", "Running under version 1",
		"variant B converts 1.8x, 95% interval 1.3x–2.5x, 412 referrals",
		`id="run-b2b-exp-double-chart"`, "<caption>Experiment double:",
		`<form method="post" action="/console/experiments/end"`, `name="csrf" value="`,
		`<input type="hidden" name="version" value="1">`,
		`<label for="why-b2b-A">Why keep A</label>`, `<button type="submit" name="keep" value="B">End and keep variant B</button>`,
		`href="/console/experiments" aria-current="page">Experiments</a>`)
	if strings.Contains(resp.Body, "<script") {
		t.Error("the page has a script")
	}
}

func TestEndingAnExperimentPublishesTheKeptVariantAndAuditsIt(t *testing.T) {
	h, ss, mem := experimentsHandler(t)
	form := func(keep, version, why string) url.Values {
		return url.Values{"program": {"b2b"}, "keep": {keep}, "version": {version}, "reason": {why}}
	}
	for _, c := range []struct {
		name   string
		form   url.Values
		status int
	}{
		{"no reason", form("B", "1", ""), http.StatusBadRequest},
		{"no such variant", form("Z", "1", "wins"), http.StatusBadRequest},
		{"a version the operator did not see", form("B", "7", "wins"), http.StatusConflict},
		{"no version", form("B", "", "wins"), http.StatusBadRequest},
	} {
		if resp := post(t, h, "/console/experiments/end", c.form); resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
	}
	if n := mem.Count("b2b"); n != 1 {
		t.Fatalf("a refused end published: %d versions", n)
	}
	resp := post(t, h, "/console/experiments/end", form("B", "1", "B converts 1.8x"))
	if resp.StatusCode != http.StatusSeeOther || resp.Headers["location"] != "/console/experiments?ended=b2b&kept=B&version=2" {
		t.Fatalf("end: %d %v", resp.StatusCode, resp.Headers)
	}
	cur, _ := mem.CurrentProgram(context.Background(), "b2b")
	if cur.Version != 2 || cur.Experiment != nil || len(cur.Tiers) != 1 || cur.Tiers[0].MultiplierBP != 20000 {
		t.Fatalf("version 2: experiment %+v tiers %+v", cur.Experiment, cur.Tiers)
	}
	last := ss.audit[len(ss.audit)-1]
	if last.Action != "experiment.end" || last.Outcome != "ok" || last.Note != "B converts 1.8x" ||
		strings.Join(last.Targets, ",") != "program,b2b,experiment,double,variant,B,version,2" {
		t.Fatalf("audit %+v", last)
	}
	page := get(t, h, "/console/experiments", map[string]string{"ended": "b2b", "kept": "B", "version": "2"})
	contains(t, page.Body, "version 2 keeps variant B", "No program runs an experiment now.")

	again := post(t, h, "/console/experiments/end", form("A", "2", "changed my mind"))
	if again.StatusCode != http.StatusConflict || mem.Count("b2b") != 2 {
		t.Fatalf("ending twice: %d, %d versions", again.StatusCode, mem.Count("b2b"))
	}
	if last := ss.audit[len(ss.audit)-1]; !strings.HasPrefix(last.Outcome, "refused: ") {
		t.Errorf("the refusal is not audited: %+v", last)
	}
}

func TestEndingAnExperimentNeedsTheCSRFToken(t *testing.T) {
	h, _, mem := experimentsHandler(t)
	req := anonymous("/console/experiments/end")
	req.RequestContext.HTTP.Method = "POST"
	req.Cookies = []string{SessionCookie + "=" + testSessionID}
	req.Headers["content-type"] = "application/x-www-form-urlencoded"
	req.Body = url.Values{"program": {"b2b"}, "keep": {"B"}, "version": {"1"}, "reason": {"x"}, "csrf": {"wrong"}}.Encode()
	if r, _ := h.Handle(context.Background(), req); r.StatusCode != http.StatusForbidden {
		t.Errorf("wrong token: %d", r.StatusCode)
	}
	if mem.Count("b2b") != 1 {
		t.Error("published without the token")
	}
}

// The KPI page shows the experiments through the report's figures.
func TestKPIPageShowsTheExperiment(t *testing.T) {
	h, _, _ := experimentsHandler(t)
	resp := get(t, h, "/console/kpis", map[string]string{"program": "b2b", "period": "month", "at": "2026-03-01"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	contains(t, resp.Body, `<h2 id="kpi-exp-double-h">Experiment double</h2>`, "variant B converts 1.8x", `id="kpi-exp-double-chart"`)
}
