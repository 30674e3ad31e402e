package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/exports"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/web/websession"
)

// ExportStore keeps exports and their chunks and reads what they export
// (the store; internal/exports runs them, as `referflow ... export` does).
type ExportStore interface {
	exports.Store
	CreateExport(ctx context.Context, j exports.Job) error
	Export(ctx context.Context, id string, now time.Time) (*exports.Job, error)
	ExportChunks(ctx context.Context, id string, first, last int, out []byte) ([]byte, error)
}

func init() {
	Register(Section{Prefix: "/exports", Nav: "Exports", Serve: (*Handler).exportsPage})
}

// exportRefresh is how often a running export's page reloads itself
// (each load runs one bounded chunk).
const exportRefresh = 2

// exportsData is what templates/exports.html shows.
type exportsData struct {
	Kinds    []string
	Programs []string
	// The form, as sent, and its problems by field.
	Kind, Program, From, To string
	Fields                  map[string]string
	Job                     *exports.Job // an export's own page
	Refresh                 int          // seconds until the page reloads; 0: it does not
	Parts                   []exportPart
}

type exportPart struct{ N, Of int }

var exportID = regexp.MustCompile(`^exp_[A-Za-z0-9_-]{12,32}$`)

// exportsPage answers /console/exports: GET the form, POST starts an
// export; /console/exports/{id} runs its next chunk and shows how far it
// got (reloading itself while it runs), then the download links;
// /console/exports/{id}/download?part=N the CSV.
func (h *Handler) exportsPage(r *Request) apigw.Response {
	if r.Path == "/exports" {
		if r.Method == http.MethodPost {
			return h.exportStart(r)
		}
		from := h.Now().UTC().Format("2006-01") + "-01"
		return h.Render(r, http.StatusOK, "exports", "Exports", h.exportForm(exports.Referrals, "", from, h.Now().UTC().Format(time.DateOnly)))
	}
	id, rest, _ := strings.Cut(strings.TrimPrefix(r.Path, "/exports/"), "/")
	if !exportID.MatchString(id) || r.Method == http.MethodPost || (rest != "" && rest != "download") {
		return h.NotFound(r)
	}
	j, err := h.Exports.Export(r.Ctx, id, h.Now())
	switch {
	case isNotFound(err):
		return h.ErrorPage(r, http.StatusNotFound, "No such export", "Exports are kept for a day: start it again from the exports page.")
	case err != nil:
		r.Log.Error("read export failed", "export_id", id, "error", err)
		return h.Unavailable(r)
	}
	if rest == "download" {
		return h.exportDownload(r, j)
	}
	return h.exportProgress(r, j)
}

func (h *Handler) exportForm(kind, program, from, to string) exportsData {
	return exportsData{Kinds: exports.Kinds, Programs: h.ProgramIDs, Kind: kind, Program: program, From: from, To: to}
}

// exportStart starts an export (POST /console/exports) and sends the
// operator to its page, which runs it.
func (h *Handler) exportStart(r *Request) apigw.Response {
	d := h.exportForm(r.Value("kind"), strings.ToLower(r.Value("program")), r.Value("from"), r.Value("to"))
	nonce, err := websession.Random(h.Random, 12)
	if err != nil {
		return h.Unavailable(r)
	}
	j, err := exports.New("exp_"+nonce, d.Kind, d.Program, d.From, d.To, r.Op.Actor(), h.Now())
	var invalid *exports.Invalid
	if errors.As(err, &invalid) {
		d.Fields = invalid.Fields
		return h.Render(r, http.StatusBadRequest, "exports", "Exports", d)
	}
	if err == nil {
		err = h.Exports.CreateExport(r.Ctx, j)
	}
	if err != nil {
		r.Log.Error("start export failed", "error", err)
		return h.Unavailable(r)
	}
	targets := []string{"export", j.ID, "kind", j.Kind, "period", j.From + ".." + j.To}
	if j.Program != "" {
		targets = append(targets, "program", j.Program)
	}
	_ = h.audit(r, "export.start", "", "ok", targets...)
	return SeeOther("/console/exports/" + j.ID)
}

// exportProgress runs the next bounded chunk of a running export (a
// concurrent load of the same page that ran it first wins; this one shows
// the progress saved) and shows how far it got.
func (h *Handler) exportProgress(r *Request, j *exports.Job) apigw.Response {
	if !j.Done && r.Query("refresh") != "off" {
		next, err := exports.Step(r.Ctx, h.Exports, *j, exports.DefaultBudget, h.Now)
		switch {
		case errors.Is(err, store.ErrConflict):
			if cur, rerr := h.Exports.Export(r.Ctx, j.ID, h.Now()); rerr == nil {
				next = *cur
			}
		case err != nil:
			r.Log.Error("export chunk failed", "export_id", j.ID, "error", err)
			return h.ErrorPage(r, http.StatusServiceUnavailable, "The export paused",
				"A chunk could not be read just now. Reload this page to go on where it stopped.")
		}
		j = &next
	}
	d := exportsData{Job: j}
	if !j.Done && r.Query("refresh") != "off" {
		d.Refresh = exportRefresh
	}
	for p := 1; j.Done && p <= j.Parts(); p++ {
		d.Parts = append(d.Parts, exportPart{N: p, Of: j.Parts()})
	}
	return h.Render(r, http.StatusOK, "exports", "Export of "+j.Kind, d)
}

// exportDownload answers a finished export's CSV (one part of it, with
// the header), audited.
func (h *Handler) exportDownload(r *Request, j *exports.Job) apigw.Response {
	part, err := strconv.Atoi(r.Query("part"))
	if r.Query("part") == "" {
		part, err = 1, nil
	}
	if !j.Done || err != nil || part < 1 || part > j.Parts() {
		return h.NotFound(r)
	}
	first, last := j.PartRange(part)
	body := []byte(strings.Join(j.Header(), ",") + "\n")
	if body, err = h.Exports.ExportChunks(r.Ctx, j.ID, first, last, body); err != nil {
		r.Log.Error("read export failed", "export_id", j.ID, "error", err)
		return h.Unavailable(r)
	}
	_ = h.audit(r, "export.download", "", "ok", "export", j.ID, "part", strconv.Itoa(part))
	name := strings.TrimSuffix(j.Filename(), ".csv")
	if j.Parts() > 1 {
		name += fmt.Sprintf("-part-%d-of-%d", part, j.Parts())
	}
	return apigw.Response{StatusCode: http.StatusOK, Body: string(body), Headers: map[string]string{
		"content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="` + name + `.csv"`}}
}
