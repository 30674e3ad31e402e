package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/links"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/web/embed"
)

// Store is what the links function reads and writes.
type Store interface {
	ReferrerByCode(ctx context.Context, code string) (*referral.Referrer, error)
	CurrentProgram(ctx context.Context, id string) (*program.Program, error)
	RecordClick(ctx context.Context, programID, code, visitor string, at time.Time) (bool, error)
}

// Handler serves GET /r/{code} (referral links), GET /embed.js (the
// embeddable form) and GET /embed/settings/{program} (what the form needs
// to know about a program's links).
type Handler struct {
	Store Store
	// DefaultProgram's landing page receives visitors of unknown or
	// inactive codes.
	DefaultProgram string
	Now            func() time.Time
	Log            *slog.Logger
	// Metrics receives LinkClicks (nil discards them).
	Metrics *metrics.Emitter
	// ClickTimeout bounds the click's write, so that a slow table delays
	// no visitor for long (0 = one second).
	ClickTimeout time.Duration
}

// Routes the function serves (template.yaml).
const (
	routeLink     = "GET /r/{code}"
	routeScript   = "GET " + embed.Path
	routeSettings = "GET " + embed.SettingsPath + "{program}"
)

// Handle answers one request of the function's routes; any other route
// key is answered 404.
func (h *Handler) Handle(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	switch req.RouteKey {
	case routeLink:
		return h.link(ctx, &req), nil
	case routeScript:
		return script(&req), nil
	case routeSettings:
		return h.settings(ctx, &req), nil
	}
	return apigw.Error(http.StatusNotFound, "not_found", "no such route", nil), nil
}

// link redirects a referral link's visitor to the landing page, counting
// the click when it is a person's (links.Counts) and the code is an active
// referrer's. Unknown and inactive codes go to the default program's
// landing page without a code; a program without a landing page answers a
// 404 page, a failed read a 503 page. A failed click write is logged, and
// the visitor redirected all the same.
func (h *Handler) link(ctx context.Context, req *apigw.Request) apigw.Response {
	log := logging.From(ctx, h.Log)
	code := req.PathParameters["code"]
	prog, active, err := h.linkProgram(ctx, code)
	switch {
	case errors.Is(err, store.ErrNotFound):
		log.Warn("link of no program: the default program is not published", "program", h.DefaultProgram)
		return page(http.StatusNotFound, notSetUp)
	case err != nil:
		log.Error("link lookup failed", "error", err)
		return unavailablePage(req)
	}
	linkCode := ""
	if active {
		linkCode = code
	}
	query, _ := url.ParseQuery(req.RawQueryString) // keep what parses
	loc, err := links.Location(prog, linkCode, query)
	if err != nil {
		log.Warn("link of a program without a landing page", "program", prog.ID, "error", err)
		return page(http.StatusNotFound, notSetUp)
	}
	if active && links.Counts(req.RequestContext.HTTP.Method, apigw.Headers(req)) {
		h.click(ctx, req, prog.ID, code, log)
	}
	return apigw.Response{StatusCode: http.StatusFound, Headers: map[string]string{
		"location":        loc,
		"cache-control":   "no-store",
		"referrer-policy": "strict-origin-when-cross-origin",
		"x-robots-tag":    "noindex, nofollow",
	}}
}

// codePattern is what a referral code in a link may be; anything else is
// an unknown code without a lookup.
var codePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// linkProgram returns the program a link's visitor goes to and whether
// the code is an active referrer's of it: the referrer's program, or the
// default program for an unknown or inactive code (ErrNotFound when that
// one is not published either).
func (h *Handler) linkProgram(ctx context.Context, code string) (*program.Program, bool, error) {
	if codePattern.MatchString(code) {
		ref, err := h.Store.ReferrerByCode(ctx, code)
		switch {
		case err == nil && ref.Active():
			prog, err := h.Store.CurrentProgram(ctx, ref.ProgramID)
			if err == nil {
				return prog, true, nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return nil, false, err
			}
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, false, err
		}
	}
	prog, err := h.Store.CurrentProgram(ctx, h.DefaultProgram)
	return prog, false, err
}

// click records the click of a person's visit, at most ClickTimeout long.
func (h *Handler) click(ctx context.Context, req *apigw.Request, programID, code string, log *slog.Logger) {
	timeout := h.ClickTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	visitor := req.RequestContext.HTTP.SourceIP + "\n" + apigw.Header(req, "user-agent")
	counted, err := h.Store.RecordClick(ctx, programID, code, visitor, h.Now())
	if err != nil {
		log.Error("click not recorded; visitor redirected", "program", programID, "error", err)
		return
	}
	if counted {
		h.Metrics.Count("LinkClicks", 1, "program", programID)
	}
}

// programPattern is what a program id may be (internal/program).
var programPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// settings answers a program's public link settings (links.Settings), for
// the embeddable form; cacheable for five minutes by anyone.
func (h *Handler) settings(ctx context.Context, req *apigw.Request) apigw.Response {
	id := req.PathParameters["program"]
	notFound := apigw.Error(http.StatusNotFound, "not_found", "no program with this id", nil)
	if !programPattern.MatchString(id) {
		return notFound
	}
	prog, err := h.Store.CurrentProgram(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound
	}
	if err != nil {
		logging.From(ctx, h.Log).Error("read program failed", "program", id, "error", err)
		return apigw.Unavailable()
	}
	resp := apigw.JSON(http.StatusOK, links.SettingsOf(prog))
	resp.Headers["cache-control"] = "public, max-age=300"
	resp.Headers["access-control-allow-origin"] = "*"
	return resp
}

// script answers the embeddable form's script: 304 when the client holds
// the current one, else the script with embed.Headers.
func script(req *apigw.Request) apigw.Response {
	headers := embed.Headers(req.QueryStringParameters["v"])
	if embed.NotModified(apigw.Header(req, "if-none-match")) {
		delete(headers, "content-type")
		return apigw.Response{StatusCode: http.StatusNotModified, Headers: headers}
	}
	return apigw.Response{StatusCode: http.StatusOK, Headers: headers, Body: string(embed.Script())}
}
