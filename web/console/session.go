package console

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/web/websession"
)

// SessionCookie holds the session id of a signed-in operator. __Secure-
// makes browsers take it only over HTTPS (and from localhost);
// Path=/console keeps it off every other route.
const SessionCookie = "__Secure-referflow_console"

// OperatorsSetting is the environment variable listing the operators:
// comma-separated emails (the template's OperatorEmails parameter).
const OperatorsSetting = "REFERFLOW_OPERATOR_EMAILS"

// FormCookie holds the nonce of the forms shown before sign-in.
const FormCookie = "__Secure-referflow_console_form"

const (
	formTTL                  = 2 * time.Hour
	formKind    privacy.Kind = "console-form"
	operatorKey privacy.Kind = "operator"
	csrfLabel                = "referflow-console-csrf"
)

// Operator is a signed-in operator.
type Operator struct {
	Email string // as listed by the deployment
	// ID is a keyed hash of the email: what events and logs carry.
	ID   string
	hash string // the session's stored hash
	CSRF string
}

// Actor is the operator as the actor of events: console:<id>.
func (o *Operator) Actor() string { return "console:" + o.ID }

// ParseOperators reads REFERFLOW_OPERATOR_EMAILS: comma-separated emails,
// lower-cased; an invalid one is an error naming it.
func ParseOperators(list string) ([]string, error) {
	var out []string
	for _, e := range strings.Split(list, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if !referral.ValidEmail(e) {
			return nil, errors.New("console: operator emails: not an email: " + e)
		}
		out = append(out, e)
	}
	return out, nil
}

func (h *Handler) isOperator(email string) bool { return slices.Contains(h.Operators, email) }

func (h *Handler) forms() websession.FormTokens {
	return websession.FormTokens{Keys: h.Keys, Kind: formKind, Cookie: FormCookie, Path: "/console", TTL: formTTL, Random: h.Random}
}

// operatorID is the keyed hash of an operator's email (16 hex digits).
func (h *Handler) operatorID(r *Request, email string) (string, error) {
	keys, err := h.Keys(r.Ctx)
	if err != nil {
		return "", err
	}
	return keys.Hash(operatorKey, email)[:16], nil
}

// loadSession reads the signed-in operator: nil when there is no cookie,
// the session expired or ended, is not an operator's, or the email is no
// longer listed.
func (h *Handler) loadSession(r *Request) (*Operator, error) {
	id := websession.CookieValue(r.Request, SessionCookie)
	if id == "" {
		return nil, nil
	}
	hash := websession.Hash(id)
	s, err := h.Sessions.SessionAt(r.Ctx, hash, h.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if s.Kind != store.SessionOperator || !h.isOperator(s.Operator) {
		return nil, nil
	}
	opID, err := h.operatorID(r, s.Operator)
	if err != nil {
		return nil, err
	}
	return &Operator{Email: s.Operator, ID: opID, hash: hash, CSRF: websession.CSRF(csrfLabel, id)}, nil
}

// signedIn runs page for a signed-in operator. Without a session a GET is
// sent to the sign-in page and a POST refused (403); a POST needs the
// session's CSRF token.
func (h *Handler) signedIn(r *Request, page func(*Request) apigw.Response) apigw.Response {
	op, err := h.loadSession(r)
	if err != nil {
		r.Log.Error("read session failed", "error", err)
		return h.Unavailable(r)
	}
	if op == nil {
		if r.Method == http.MethodPost {
			return h.ErrorPage(r, http.StatusForbidden, "Please sign in again", "Your session has ended. Sign in again, then repeat what you were doing.")
		}
		return SeeOther("/console/sign-in")
	}
	r.Op = op
	r.Log = r.Log.With("operator", op.ID)
	if r.Method == http.MethodPost && !websession.Equal(r.Value("csrf"), op.CSRF) {
		return h.ErrorPage(r, http.StatusForbidden, "This form has expired", "Go back, reload the page and send the form again.")
	}
	return page(r)
}

// signInData is the sign-in page's data.
type signInData struct {
	CSRF, Email, Error string
	Sent, Limited      bool
}

func (h *Handler) signInForm(r *Request) apigw.Response {
	if op, err := h.loadSession(r); err == nil && op != nil {
		return SeeOther("/console")
	}
	return h.signInPage(r, http.StatusOK, signInData{})
}

func (h *Handler) signInPage(r *Request, status int, d signInData) apigw.Response {
	token, setCookie, err := h.forms().Token(r.Ctx, r.Request)
	if err != nil {
		r.Log.Error("form token failed", "error", err)
		return h.Unavailable(r)
	}
	d.CSRF = token
	title := "Sign in"
	if d.Sent {
		title = "Check your email"
	}
	return h.Render(r, status, "signin", title, d, nonEmpty(setCookie)...)
}

// signInRequest answers POST /console/sign-in: the same page whether or
// not the email is an operator's; an operator is emailed a link unless
// the email or the IP address asked too often.
func (h *Handler) signInRequest(r *Request) apigw.Response {
	d := signInData{Email: strings.ToLower(r.Value("email"))}
	if ok, err := h.forms().Valid(r.Ctx, r.Request, r.Value("csrf")); !ok {
		if err != nil {
			r.Log.Error("form keys", "error", err)
		}
		return h.ErrorPage(r, http.StatusForbidden, "This form has expired", "Go back, reload the page and send the form again.")
	}
	if !referral.ValidEmail(d.Email) {
		d.Error = "Enter an email address, such as name@company.com."
		return h.signInPage(r, http.StatusBadRequest, d)
	}
	d.Sent = true
	now := h.Now()
	byIP, err := h.Sessions.Hit(r.Ctx, "console-sign-in", store.LimitIP, r.RequestContext.HTTP.SourceIP, SignInWindow, now)
	if err != nil {
		r.Log.Error("rate limit failed", "error", err)
		return h.Unavailable(r)
	}
	if byIP > SignInPerIP {
		d.Limited = true
		r.Log.Warn("console sign-in requests over the IP limit")
		return h.signInPage(r, http.StatusTooManyRequests, d)
	}
	byEmail, err := h.Sessions.Hit(r.Ctx, "console-sign-in", store.LimitEmail, d.Email, SignInWindow, now)
	if err != nil {
		r.Log.Error("rate limit failed", "error", err)
		return h.Unavailable(r)
	}
	if byEmail > SignInPerEmail || !h.isOperator(d.Email) {
		// Same answer: the page must not tell whether the email is listed.
		return h.signInPage(r, http.StatusOK, d)
	}
	if err := h.sendLink(r, d.Email); err != nil {
		r.Log.Error("console sign-in link not sent", "error", err)
	}
	return h.signInPage(r, http.StatusOK, d)
}

// sendLink stores a one-time token (only its hash) and emails its link.
func (h *Handler) sendLink(r *Request, email string) error {
	token, err := websession.Random(h.Random, 32)
	if err != nil {
		return err
	}
	t := store.SignInToken{Hash: websession.Hash(token), Kind: store.SessionOperator, Operator: email, ExpiresAt: h.Now().Add(SignInLinkTTL)}
	if err := h.Sessions.PutSignInToken(r.Ctx, t); err != nil {
		return err
	}
	m := signInMail(h.From, email, h.base(r)+"/console/sign-in/"+token, SignInLinkTTL)
	_, err = h.Mail.Send(r.Ctx, m)
	return err
}

// confirmForm answers GET /console/sign-in/{token}: a button that signs in
// (mail scanners that open links do not use the token up).
func (h *Handler) confirmForm(r *Request, token string) apigw.Response {
	t, err := h.Sessions.SignInTokenAt(r.Ctx, websession.Hash(token), h.Now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.Kind != store.SessionOperator) {
		return h.linkGone(r)
	}
	if err != nil {
		r.Log.Error("read sign-in token failed", "error", err)
		return h.Unavailable(r)
	}
	csrf, setCookie, err := h.forms().Token(r.Ctx, r.Request)
	if err != nil {
		r.Log.Error("form token failed", "error", err)
		return h.Unavailable(r)
	}
	return h.Render(r, http.StatusOK, "confirm", "Sign in", signInData{CSRF: csrf, Email: "/console/sign-in/" + token}, nonEmpty(setCookie)...)
}

// confirm answers POST /console/sign-in/{token}: it uses the token up,
// starts a session, sets its cookie and goes to /console.
func (h *Handler) confirm(r *Request, token string) apigw.Response {
	if ok, _ := h.forms().Valid(r.Ctx, r.Request, r.Value("csrf")); !ok {
		return h.ErrorPage(r, http.StatusForbidden, "This form has expired", "Open the link in your email again.")
	}
	now := h.Now()
	t, err := h.Sessions.UseSignInToken(r.Ctx, websession.Hash(token), now)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (t.Kind != store.SessionOperator || !h.isOperator(t.Operator))) {
		return h.linkGone(r)
	}
	if err != nil {
		r.Log.Error("use sign-in token failed", "error", err)
		return h.Unavailable(r)
	}
	id, err := websession.Random(h.Random, 32)
	if err != nil {
		return h.Unavailable(r)
	}
	s := store.Session{Hash: websession.Hash(id), Kind: store.SessionOperator, Operator: t.Operator, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := h.Sessions.CreateSession(r.Ctx, s); err != nil {
		r.Log.Error("create session failed", "error", err)
		return h.Unavailable(r)
	}
	r.Op = &Operator{Email: t.Operator}
	if opID, err := h.operatorID(r, t.Operator); err == nil {
		r.Op.ID = opID
	}
	h.Audit(r, "sign-in")
	r.Log.Info("operator signed in", "operator", r.Op.ID)
	return SeeOther("/console", websession.Cookie(SessionCookie, id, "/console", SessionTTL), websession.Cookie(FormCookie, "", "/console", 0))
}

func (h *Handler) linkGone(r *Request) apigw.Response {
	return h.Render(r, http.StatusNotFound, "message", "This link no longer works", message{
		Lines: []string{"Sign-in links work once, for a few minutes. Ask for a new one: it takes a moment."},
		Link:  "/console/sign-in", LinkText: "Ask for a new sign-in link",
	})
}

// signOut answers POST /console/sign-out.
func (h *Handler) signOut(r *Request) apigw.Response {
	if err := h.Sessions.DeleteSession(r.Ctx, r.Op.hash); err != nil {
		r.Log.Error("end session failed", "error", err)
		return h.Unavailable(r)
	}
	h.Audit(r, "sign-out")
	return SeeOther("/console/sign-in", websession.Cookie(SessionCookie, "", "/console", 0))
}

func nonEmpty(cookies ...string) []string {
	var out []string
	for _, c := range cookies {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}
