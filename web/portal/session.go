package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/store"
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

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// csrfOf is the CSRF token of the session with id: derived from the id
// one way, so a token in a page never reveals the session.
func csrfOf(id string) string {
	sum := sha256.Sum256([]byte("referflow-portal-csrf\x00" + id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func cookie(name, value string, maxAge time.Duration) string {
	return fmt.Sprintf("%s=%s; Path=/portal; Max-Age=%d; HttpOnly; Secure; SameSite=Lax", name, value, int(maxAge/time.Second))
}

// cookieValue reads a request cookie ("" when absent).
func cookieValue(req *apigw.Request, name string) string {
	all := req.Cookies
	if c := apigw.Header(req, "cookie"); c != "" {
		all = append(all, strings.Split(c, ";")...)
	}
	for _, c := range all {
		k, v, ok := strings.Cut(strings.TrimSpace(c), "=")
		if ok && k == name {
			return v
		}
	}
	return ""
}

// randomToken draws n random bytes, base64url.
func (h *Handler) randomToken(n int) (string, error) {
	rnd := h.Random
	if rnd == nil {
		rnd = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", fmt.Errorf("portal: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
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
	if r.method == http.MethodPost && subtle.ConstantTimeCompare([]byte(r.value("csrf")), []byte(s.csrf)) != 1 {
		return h.errorPage(r, http.StatusForbidden, "This form has expired", "Go back, reload the page and send the form again.")
	}
	r.sess = s
	return page(r, s)
}

// formToken is the CSRF token of a form shown before sign-in: the nonce in
// the form cookie (a new one when there is none, with the cookie to set)
// and its signature.
func (h *Handler) formToken(r *request) (token, setCookie string, err error) {
	nonce := cookieValue(r.Request, FormCookie)
	if len(nonce) != 22 {
		if nonce, err = h.randomToken(16); err != nil {
			return "", "", err
		}
		setCookie = cookie(FormCookie, nonce, formTTL)
	}
	keys, err := h.FormKeys(r.ctx)
	if err != nil {
		return "", "", err
	}
	return nonce + "." + keys.Hash(formKind, nonce), setCookie, nil
}

// formTokenValid checks a form's CSRF token before sign-in: its nonce is
// the form cookie's, and it is signed under one of the secrets in force.
func (h *Handler) formTokenValid(r *request) bool {
	nonce, sig, ok := strings.Cut(r.value("csrf"), ".")
	if !ok || nonce == "" || subtle.ConstantTimeCompare([]byte(nonce), []byte(cookieValue(r.Request, FormCookie))) != 1 {
		return false
	}
	keys, err := h.FormKeys(r.ctx)
	if err != nil {
		r.log.Error("form keys", "error", err)
		return false
	}
	for _, want := range keys.Hashes(formKind, nonce) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
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

// sameOrigin reports whether a POST comes from the portal's own origin:
// its Origin header, else its Referer, must be the request's own origin
// or the public base URL's. A request with neither (not a browser) passes:
// the CSRF token still guards it.
func (h *Handler) sameOrigin(r *request) bool {
	from := apigw.Header(r.Request, "origin")
	if from == "" || from == "null" {
		ref, err := url.Parse(apigw.Header(r.Request, "referer"))
		if err != nil || ref.Host == "" {
			return from == ""
		}
		from = ref.Scheme + "://" + ref.Host
	}
	return strings.EqualFold(from, origin(r.Request, "")) || (h.PublicBase != "" && strings.EqualFold(from, origin(r.Request, h.PublicBase)))
}

// origin is scheme://host of base, or when base is empty of the request
// (its forwarded protocol, https by default, and host).
func origin(req *apigw.Request, base string) string {
	if base != "" {
		if u, err := url.Parse(base); err == nil && u.Host != "" {
			return u.Scheme + "://" + u.Host
		}
	}
	host := apigw.Header(req, "x-forwarded-host")
	if host == "" {
		host = apigw.Header(req, "host")
	}
	if host == "" {
		host = req.RequestContext.DomainName
	}
	proto := apigw.Header(req, "x-forwarded-proto")
	if proto == "" {
		proto = "https"
	}
	return proto + "://" + host
}

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
