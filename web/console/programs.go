package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/crm/providers"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// ProgramStore reads a program's versions and publishes a new one
// (store.Store; the same publication as `referflow programs publish`).
type ProgramStore interface {
	CurrentProgram(ctx context.Context, id string) (*program.Program, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
	PublishProgram(ctx context.Context, p *program.Program, now time.Time) (int, error)
}

func init() {
	Register(Section{Prefix: "/programs", Nav: "Programs", Serve: (*Handler).programsPage})
}

// maxVersionsShown bounds the versions the page lists (newest first).
const maxVersionsShown = 12

// programsData is what templates/programs.html shows.
type programsData struct {
	Program  string
	Programs []string
	Current  *program.Program
	Versions []*program.Program // newest first
	File     string             // the file as the operator sent it
	Problems []program.Problem  // what is wrong with File, by field
	Syntax   string             // a file that cannot be read at all
	Checked  *program.Program   // File, valid: ready to publish
	Done     string             // what the last action did
}

// programsPage answers /console/programs: GET shows a program's versions
// and the upload form; POST action=check validates the file and shows its
// problems by field; POST action=publish validates it again and publishes
// it as the program's next version.
func (h *Handler) programsPage(r *Request) apigw.Response {
	if r.Path != "/programs" {
		return h.NotFound(r)
	}
	if r.Method == http.MethodPost {
		return h.programsPost(r)
	}
	d := programsData{Program: strings.ToLower(r.Query("program")), Programs: h.ProgramIDs}
	if d.Program == "" && len(h.ProgramIDs) > 0 {
		d.Program = h.ProgramIDs[0]
	}
	if v := r.Query("published"); v != "" {
		d.Done = "Version " + v + " is published: referrals accepted from now on run under it."
	}
	if r.Query("unchanged") != "" {
		d.Done = "The file is the same as the current version: nothing was published."
	}
	return h.programsShow(r, http.StatusOK, d)
}

// programsShow loads the versions of d.Program and renders the page.
func (h *Handler) programsShow(r *Request, status int, d programsData) apigw.Response {
	if d.Program != "" {
		cur, err := h.Programs.CurrentProgram(r.Ctx, d.Program)
		switch {
		case errors.Is(err, store.ErrNotFound) || errors.Is(err, referral.ErrNotFound):
		case err != nil:
			r.Log.Error("read program failed", "program", d.Program, "error", err)
			return h.Unavailable(r)
		default:
			d.Current = cur
			d.Versions = append(d.Versions, cur)
			for v := cur.Version - 1; v >= 1 && len(d.Versions) < maxVersionsShown; v-- {
				p, err := h.Programs.ProgramVersion(r.Ctx, d.Program, v)
				if err != nil {
					r.Log.Error("read program version failed", "program", d.Program, "version", v, "error", err)
					return h.Unavailable(r)
				}
				d.Versions = append(d.Versions, p)
			}
		}
	}
	return h.Render(r, status, "programs", "Programs", d)
}

// programsPost checks or publishes the posted file.
func (h *Handler) programsPost(r *Request) apigw.Response {
	d := programsData{File: r.Value("file"), Programs: h.ProgramIDs, Program: strings.ToLower(r.Value("program"))}
	if d.Program == "" && len(h.ProgramIDs) > 0 {
		d.Program = h.ProgramIDs[0] // until the file names its own
	}
	action := r.Value("action")
	if action != "check" && action != "publish" {
		return h.ErrorPage(r, http.StatusBadRequest, "This form could not be read", "Use the buttons of the programs page.")
	}
	p, err := program.Load([]byte(d.File), program.Providers(providers.Names()...))
	var invalid *program.ValidationError
	switch {
	case strings.TrimSpace(d.File) == "":
		d.Syntax = "Paste the program file (YAML or JSON) first."
	case errors.As(err, &invalid):
		d.Problems = invalid.Problems
	case err != nil:
		d.Syntax = strings.TrimPrefix(err.Error(), "program: ")
	}
	if err != nil || d.Syntax != "" {
		return h.programsShow(r, http.StatusUnprocessableEntity, d)
	}
	d.Program = p.ID
	if action == "check" {
		d.Checked = p
		return h.programsShow(r, http.StatusOK, d)
	}
	return h.programsPublish(r, p)
}

// programsPublish publishes p and audits it.
func (h *Handler) programsPublish(r *Request, p *program.Program) apigw.Response {
	before := 0
	if cur, err := h.Programs.CurrentProgram(r.Ctx, p.ID); err == nil {
		before = cur.Version
	}
	v, err := h.Programs.PublishProgram(r.Ctx, p, h.Now())
	switch {
	case errors.Is(err, store.ErrConflict):
		return h.ErrorPage(r, http.StatusConflict, "Someone published this program at the same time",
			"Open the programs page again, check the current version and send your file again.")
	case err != nil:
		r.Log.Error("publish program failed", "program", p.ID, "error", err)
		return h.Unavailable(r)
	}
	q := url.Values{"program": {p.ID}}
	if v == before {
		q.Set("unchanged", "1")
		return SeeOther("/console/programs?" + q.Encode())
	}
	if err := h.Audit(r, "program.publish", "program", p.ID, "version", strconv.Itoa(v)); err != nil {
		r.Log.Error("audit failed", "action", "program.publish", "error", err)
	}
	q.Set("published", strconv.Itoa(v))
	return SeeOther("/console/programs?" + q.Encode())
}
