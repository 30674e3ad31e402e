package console

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/report"
)

// KPIReader computes a program's KPIs over a period (kpis.Service: the
// same read as GET /admin/kpis).
type KPIReader interface {
	Report(ctx context.Context, id string, per kpis.Period) (kpis.Report, error)
}

func init() {
	Register(Section{Prefix: "/kpis", Nav: "KPIs", Serve: (*Handler).kpisPage})
}

// kpisData is what templates/kpis.html shows.
type kpisData struct {
	Program, Period, At, From, To string
	Programs                      []string
	Fields                        map[string]string // picker values that cannot be read
	View                          *report.View
	Figures                       template.HTML
	// ReportHref and CSVHref download the period's report file and CSV.
	ReportHref, CSVHref template.URL
}

// sectionStyles is the CSS of the KPI figures and of this file's pages,
// served within the console's stylesheet (render.go).
var sectionStyles = report.FigureStyles + `
.picker { display: flex; flex-wrap: wrap; gap: 0 1rem; align-items: flex-end; }
.picker .field { flex: 1 1 10rem; }
.picker .field:last-child { flex: 0 0 auto; }
.period { color: #4a5060; margin: -.5rem 0 1rem; }
.downloads { margin: .25rem 0 0; }
form.inline { display: inline-flex; flex-wrap: wrap; gap: .35rem; align-items: center; margin: .15rem .35rem .15rem 0; }
form.inline input[type=text] { width: 8rem; }
textarea.code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .9rem; min-height: 18rem; }
ul.problems { margin: .25rem 0 0; padding-left: 1.25rem; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; }
`

// kpisPage answers GET /console/kpis?program=&period=&at= (or &from=&to=),
// and /console/kpis/report.html and /console/kpis/report.csv with the
// same query: the self-contained report and the CSV of `referflow report`.
func (h *Handler) kpisPage(r *Request) apigw.Response {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return h.ErrorPage(r, http.StatusMethodNotAllowed, "This page cannot do that", "The KPI page only shows figures.")
	}
	d := kpisData{Program: strings.ToLower(r.Query("program")), Period: r.Query("period"), At: r.Query("at"),
		From: r.Query("from"), To: r.Query("to"), Programs: h.ProgramIDs}
	if d.Program == "" && len(h.ProgramIDs) > 0 {
		d.Program = h.ProgramIDs[0]
	}
	per, fields := kpis.ParsePeriod(map[string]string{"period": d.Period, "at": d.At, "from": d.From, "to": d.To}, h.Now())
	if fields == nil {
		fields = map[string]string{}
	}
	if d.Program == "" {
		fields["program"] = "choose a program"
	}
	if len(fields) > 0 {
		d.Fields = fields
		return h.Render(r, http.StatusBadRequest, "kpis", "KPIs", d)
	}
	rep, err := h.KPIs.Report(r.Ctx, d.Program, per)
	switch {
	case errors.Is(err, referral.ErrNotFound):
		d.Fields = map[string]string{"program": "no program has this id"}
		return h.Render(r, http.StatusNotFound, "kpis", "KPIs", d)
	case err != nil:
		r.Log.Error("read kpis failed", "program", d.Program, "error", err)
		return h.Unavailable(r)
	}
	if name, ok := strings.CutPrefix(r.Path, "/kpis/"); ok {
		return h.kpisDownload(r, name, rep)
	}
	if r.Path != "/kpis" {
		return h.NotFound(r)
	}
	v := report.NewView(rep, d.Program, "", "kpi-")
	if d.Figures, err = report.Figures(v); err != nil {
		r.Log.Error("render kpis failed", "error", err)
		return h.Unavailable(r)
	}
	d.View, d.From, d.To = &v, rep.From, rep.To
	q := url.Values{"program": {d.Program}, "from": {rep.From}, "to": {rep.To}}.Encode()
	d.ReportHref, d.CSVHref = template.URL("/console/kpis/report.html?"+q), template.URL("/console/kpis/report.csv?"+q) //nolint:gosec // encoded above
	return h.Render(r, http.StatusOK, "kpis", "KPIs", d)
}

// kpisDownload answers the report file (report.html) or its CSV
// (report.csv) as an attachment named after the program and period.
func (h *Handler) kpisDownload(r *Request, name string, rep kpis.Report) apigw.Response {
	var b bytes.Buffer
	var err error
	ctype := "text/html; charset=utf-8"
	switch name {
	case "report.html":
		err = report.Write(&b, rep, rep.Program, "")
	case "report.csv":
		ctype = "text/csv; charset=utf-8"
		err = report.WriteCSV(&b, rep)
	default:
		return h.NotFound(r)
	}
	if err != nil {
		r.Log.Error("write report failed", "error", err)
		return h.Unavailable(r)
	}
	file := "referflow-" + rep.Program + "-" + rep.From + "-" + rep.To + name[strings.LastIndex(name, "."):]
	return apigw.Response{StatusCode: http.StatusOK, Body: b.String(), Headers: map[string]string{
		"content-type": ctype, "content-disposition": `attachment; filename="` + file + `"`}}
}
