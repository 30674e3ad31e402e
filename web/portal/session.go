package portal

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/web/websession"
)

// Cookies. __Secure- makes browsers take them only over HTTPS (and from
// localhost); Path=/portal keeps them off every other route.
const (
	// SessionCookie holds the session id of a signed-in partner.
	SessionCookie = "__Secure-referflow_portal"
	// FormCookie holds the nonce of the forms shown before sign-in (the
	// double-submit half of their CSRF token).
	FormCookie = "__Secure-referflow_form"
	formTTL    = 2 * time.Hour
)

// formKind keeps form-token signatures apart from every other keyed hash.
const formKind privacy.Kind = "portal-form"

// session is a signed-in partner, with the program they are signed in to.
type session struct {
	hash    string
	partner *store.Partner
	program *program.Program
	csrf    string
}

func sha256Hex(s string) string { return websession.Hash(s) }

// csrfOf is the CSRF token of the session with id: derived from the id
// one way, so a token in a page never reveals the session.
func csrfOf(id string) string { return websession.CSRF("referflow-portal-csrf", id) }

func cookie(name, value string, maxAge time.Duration) string {
	return websession.Cookie(name, value, "/portal", maxAge)
}

// cookieValue reads a request cookie ("" when absent).
func cookieValue(req *apigw.Request, name string) string { return websession.CookieValue(req, name) }

// randomToken draws n random bytes, base64url.
func (h *Handler) randomToken(n int) (string, error) {
	t, err := websession.Random(h.Random, n)
	if err != nil {
		return "", fmt.Errorf("portal: %w", err)
	}
	return t, nil
}

// loadSession reads the signed-in partner of the request: nil when there
// is no session cookie, the session has expired or ended, or the partner
// is no longer active.
func (h *Handler) loadSession(r *request) (*session, error) {
	id := cookieValue(r.Request, SessionCookie)
	if id == "" {
		return nil, nil
	}
	hash := sha256Hex(id)
	s, err := h.Store.SessionAt(r.ctx, hash, h.Now())
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if s.Kind != store.SessionPartner { // an operator's session opens only the console
		return nil, nil
	}
	p, err := h.Store.CurrentPartner(r.ctx, s.ProgramID, s.Code)
	if isNotFound(err) || (err == nil && !p.Active()) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	prog, err := h.Store.CurrentProgram(r.ctx, s.ProgramID)
	if err != nil {
		return nil, err
	}
	return &session{hash: hash, partner: p, program: prog, csrf: csrfOf(id)}, nil
}

// signedIn runs page for a signed-in partner. Without a session a GET is
// sent to the sign-in page and a POST refused (403); a POST needs the
// session's CSRF token.
func (h *Handler) signedIn(r *request, page func(*request, *session) apigw.Response) apigw.Response {
	s, err := h.loadSession(r)
	if err != nil {
		r.log.Error("read session failed", "error", err)
		return h.unavailable(r)
	}
	if s == nil {
		if r.method == http.MethodPost {
			return h.errorPage(r, http.StatusForbidden, "Please sign in again", "Your session has ended. Sign in again, then repeat what you were doing.")
		}
		return seeOther("/portal/sign-in")
	}
	if r.method == http.MethodPost && !websession.Equal(r.value("csrf"), s.csrf) {
		return h.errorPage(r, http.StatusForbidden, "This form has expired", "Go back, reload the page and send the form again.")
	}
	r.sess = s
	return page(r, s)
}

// forms are the CSRF tokens of forms shown before sign-in.
func (h *Handler) forms() websession.FormTokens {
	return websession.FormTokens{Keys: h.FormKeys, Kind: formKind, Cookie: FormCookie, Path: "/portal", TTL: formTTL, Random: h.Random}
}

// formToken is the CSRF token of a form shown before sign-in: the nonce in
// the form cookie (a new one when there is none, with the cookie to set)
// and its signature.
func (h *Handler) formToken(r *request) (token, setCookie string, err error) {
	return h.forms().Token(r.ctx, r.Request)
}

// formTokenValid checks a form's CSRF token before sign-in: its nonce is
// the form cookie's, and it is signed under one of the secrets in force.
func (h *Handler) formTokenValid(r *request) bool {
	ok, err := h.forms().Valid(r.ctx, r.Request, r.value("csrf"))
	if err != nil {
		r.log.Error("form keys", "error", err)
	}
	return ok
}

// readPost reads a POST's form and refuses it (ok false) when it is too
// large, not a URL-encoded form, or comes from another origin.
func (h *Handler) readPost(r *request) (apigw.Response, bool) {
	body, err := apigw.Body(r.Request)
	switch {
	case err != nil:
		return withSecurityHeaders(h.errorPage(r, http.StatusBadRequest, "This form could not be read", "Go back and send it again.")), false
	case len(body) > maxBody:
		return withSecurityHeaders(h.errorPage(r, http.StatusRequestEntityTooLarge, "This form is too long", "Shorten what you wrote and send it again.")), false
	case apigw.MediaType(r.Request) != "application/x-www-form-urlencoded":
		return withSecurityHeaders(h.errorPage(r, http.StatusUnsupportedMediaType, "This form could not be read", "Send the portal's own forms.")), false
	case !h.sameOrigin(r):
		return withSecurityHeaders(h.errorPage(r, http.StatusForbidden, "This form comes from another site", "Open the portal yourself and send the form from there.")), false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return withSecurityHeaders(h.errorPage(r, http.StatusBadRequest, "This form could not be read", "Go back and send it again.")), false
	}
	r.form = form
	return apigw.Response{}, true
}

// sameOrigin reports whether a POST comes from the portal's own origin
// (websession.SameOrigin).
func (h *Handler) sameOrigin(r *request) bool { return websession.SameOrigin(r.Request, h.PublicBase) }

// origin is scheme://host of base, or when base is empty of the request.
func origin(req *apigw.Request, base string) string { return websession.Origin(req, base) }

// value is a posted field, trimmed.
func (r *request) value(name string) string {
	if v := r.form[name]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// query is a query-string parameter, trimmed.
func (r *request) query(name string) string {
	return strings.TrimSpace(r.QueryStringParameters[name])
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
