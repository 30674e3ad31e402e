package portal

import (
	"errors"
	"net/http"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// signInData is the sign-in page's data.
type signInData struct {
	CSRF    string
	Program string // the program asked for (?program=), kept in the form
	Email   string
	Error   string // what is wrong with the email
	Sent    bool   // the request was taken: "if this email belongs to a partner..."
	Limited bool   // too many requests from this network
	Join    bool   // the program takes partners from the join page
}

// signInForm answers GET /portal/sign-in; a signed-in partner goes home.
func (h *Handler) signInForm(r *request) apigw.Response {
	if s, err := h.loadSession(r); err == nil && s != nil {
		return seeOther("/portal")
	}
	return h.signInPage(r, http.StatusOK, signInData{Program: r.query("program")})
}

// signInPage renders the sign-in page with a fresh form token.
func (h *Handler) signInPage(r *request, status int, d signInData) apigw.Response {
	token, setCookie, err := h.formToken(r)
	if err != nil {
		r.log.Error("form token failed", "error", err)
		return h.unavailable(r)
	}
	d.CSRF = token
	prog := h.program(r, d.Program)
	d.Join = prog != nil && prog.Partners.JoinPolicy() != program.JoinInvitation
	title := "Sign in"
	if d.Sent {
		title = "Check your email"
	}
	return h.render(r, status, "signin", title, prog, d, nonEmpty(setCookie)...)
}

// signInRequest answers POST /portal/sign-in: the same page whether or
// not the email is a partner's. A partner who is active or invited, in
// the program asked for (or in each program the email holds), is emailed
// a sign-in link, unless the email or the IP address asked too often.
func (h *Handler) signInRequest(r *request) apigw.Response {
	d := signInData{Program: r.value("program"), Email: strings.ToLower(r.value("email"))}
	if !h.formTokenValid(r) && !nonBrowserRequest(r) {
		return h.errorPage(r, http.StatusForbidden, "This form has expired", "Go back, reload the page and send the form again.")
	}
	if !referral.ValidEmail(d.Email) {
		d.Error = "Enter an email address, such as name@company.com."
		return h.signInPage(r, http.StatusBadRequest, d)
	}
	d.Sent = true
	now := h.Now()
	byIP, err := h.Store.Hit(r.ctx, "sign-in", store.LimitIP, r.RequestContext.HTTP.SourceIP, SignInWindow, now)
	if err != nil {
		r.log.Error("rate limit failed", "error", err)
		return h.unavailable(r)
	}
	if byIP > SignInPerIP {
		d.Limited = true
		r.log.Warn("sign-in requests over the IP limit")
		return h.signInPage(r, http.StatusTooManyRequests, d)
	}
	byEmail, err := h.Store.Hit(r.ctx, "sign-in", store.LimitEmail, d.Email, SignInWindow, now)
	if err != nil {
		r.log.Error("rate limit failed", "error", err)
		return h.unavailable(r)
	}
	if byEmail > SignInPerEmail {
		// Same answer: the limit must not tell whether the email is known.
		r.log.Warn("sign-in requests over the email limit")
		return h.signInPage(r, http.StatusOK, d)
	}
	h.sendLinks(r, d.Email, d.Program)
	return h.signInPage(r, http.StatusOK, d)
}

// nonBrowserRequest reports whether a sign-in request carries no form
// token and neither Origin nor Referer: a script or a test client, not a
// page. Browsers send Origin on every POST, so a forged cross-site form
// still needs a token (and is refused by its Origin first); what a script
// can do this way it could do by reading the form first, and the rate
// limits bound it. It lets POST /portal/sign-in with just an email
// answer the same page, known email or not, as the contract says.
func nonBrowserRequest(r *request) bool {
	return r.value("csrf") == "" && apigw.Header(r.Request, "origin") == "" && apigw.Header(r.Request, "referer") == ""
}

// sendLinks emails a sign-in link to each partner the email holds (in
// program only, when given). Failures are logged, never shown: the page
// must not tell whether the email is known.
func (h *Handler) sendLinks(r *request, email, programID string) {
	refs, err := h.Store.PartnersByEmail(r.ctx, email)
	if err != nil {
		r.log.Error("partner lookup failed", "error", err)
		return
	}
	for _, ref := range refs {
		if programID != "" && !strings.EqualFold(ref.ProgramID, programID) {
			continue
		}
		p, err := h.Store.CurrentPartner(r.ctx, ref.ProgramID, ref.Code)
		if err != nil {
			r.log.Error("read partner failed", "error", err, "program", ref.ProgramID)
			continue
		}
		prog := h.program(r, ref.ProgramID)
		if prog == nil {
			continue
		}
		if sent, err := h.Partners.SendSignIn(r.ctx, prog, p, h.base(r)); err != nil {
			r.log.Error("sign-in link not sent", "error", err, "program", ref.ProgramID, "code", p.Code)
		} else if sent {
			r.log.Info("sign-in link sent", "program", ref.ProgramID, "code", p.Code)
		}
	}
}

// confirmData is the data of the page a sign-in link opens.
type confirmData struct {
	CSRF   string
	Action string
}

// confirmForm answers GET /portal/sign-in/{token}: a button that signs in
// (mail scanners that open links do not use the token up).
func (h *Handler) confirmForm(r *request, token string) apigw.Response {
	t, err := h.Store.SignInTokenAt(r.ctx, partners.HashToken(token), h.Now())
	if isNotFound(err) || (err == nil && t.Kind != store.SessionPartner) {
		return h.linkGone(r)
	}
	if err != nil {
		r.log.Error("read sign-in token failed", "error", err)
		return h.unavailable(r)
	}
	csrf, setCookie, err := h.formToken(r)
	if err != nil {
		r.log.Error("form token failed", "error", err)
		return h.unavailable(r)
	}
	return h.render(r, http.StatusOK, "confirm", "Sign in", h.program(r, t.ProgramID),
		confirmData{CSRF: csrf, Action: "/portal/sign-in/" + token}, nonEmpty(setCookie)...)
}

// confirm answers POST /portal/sign-in/{token}: it uses the token up,
// starts a session (an invited partner becomes active), sets the session
// cookie and goes to /portal.
func (h *Handler) confirm(r *request, token string) apigw.Response {
	if !h.formTokenValid(r) {
		return h.errorPage(r, http.StatusForbidden, "This form has expired", "Open the link in your email again.")
	}
	now := h.Now()
	t, err := h.Store.UseSignInToken(r.ctx, partners.HashToken(token), now)
	if isNotFound(err) || (err == nil && t.Kind != store.SessionPartner) {
		return h.linkGone(r)
	}
	if err != nil {
		r.log.Error("use sign-in token failed", "error", err)
		return h.unavailable(r)
	}
	// An invited partner becomes active; a disabled or pending one (since
	// the link was sent) cannot sign in.
	p, err := h.Partners.Activate(r.ctx, t.ProgramID, t.Code)
	switch {
	case isNotFound(err) || errors.Is(err, partners.ErrState):
		return h.linkGone(r)
	case err != nil:
		r.log.Error("activate partner failed", "error", err)
		return h.unavailable(r)
	}
	prog := h.program(r, p.ProgramID)
	if prog == nil {
		return h.unavailable(r)
	}
	id, err := h.randomToken(32)
	if err != nil {
		return h.unavailable(r)
	}
	ttl := prog.Partners.SessionTTL()
	if err := h.Store.CreateSession(r.ctx, store.Session{Hash: sha256Hex(id), ProgramID: p.ProgramID, Code: p.Code, CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		r.log.Error("create session failed", "error", err)
		return h.unavailable(r)
	}
	r.log.Info("partner signed in", "program", p.ProgramID, "code", p.Code)
	return seeOther("/portal", cookie(SessionCookie, id, ttl), cookie(FormCookie, "", 0))
}

// linkGone is the page of a sign-in link that was used, has expired or
// never existed.
func (h *Handler) linkGone(r *request) apigw.Response {
	return h.render(r, http.StatusNotFound, "message", "This link no longer works", nil, message{
		Lines:    []string{"Sign-in links work once, for a few minutes. Ask for a new one: it takes a moment."},
		Link:     "/portal/sign-in",
		LinkText: "Ask for a new sign-in link",
	})
}

// signOut answers POST /portal/sign-out: the session ends and its cookie
// is cleared.
func (h *Handler) signOut(r *request) apigw.Response {
	return h.signedIn(r, func(r *request, s *session) apigw.Response {
		if err := h.Store.DeleteSession(r.ctx, s.hash); err != nil {
			r.log.Error("end session failed", "error", err)
			return h.unavailable(r)
		}
		return seeOther("/portal/sign-in", cookie(SessionCookie, "", 0))
	})
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
