package portal

import (
	"errors"
	"net/http"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/store"
)

// joinData is the join page's data.
type joinData struct {
	CSRF    string
	Program string
	Policy  string // program.JoinOpen, JoinApproval or JoinInvitation
	Name    string
	Email   string
	Company string
	Errors  map[string]string // field → problem
	Done    bool              // the request was taken
}

// joinForm answers GET /portal/join?program=: the form, or under an
// invitation-only program a page that says so.
func (h *Handler) joinForm(r *request) apigw.Response {
	prog := h.program(r, r.query("program"))
	if prog == nil {
		return h.notFound(r)
	}
	return h.joinPage(r, http.StatusOK, prog, joinData{})
}

func (h *Handler) joinPage(r *request, status int, prog *program.Program, d joinData) apigw.Response {
	token, setCookie, err := h.formToken(r)
	if err != nil {
		r.log.Error("form token failed", "error", err)
		return h.unavailable(r)
	}
	d.CSRF, d.Program, d.Policy = token, prog.ID, prog.Partners.JoinPolicy()
	title := "Join " + prog.PortalTitle()
	if d.Done {
		title = "Thank you"
	}
	return h.render(r, status, "join", title, prog, d, nonEmpty(setCookie)...)
}

// join answers POST /portal/join: under the program's policy the person
// joins (open: active, with a sign-in link) or asks to (approval: pending
// until an operator approves). Bad input is the form again with what is
// wrong (400), nothing written. An email that already is a partner gets
// the same answer (and, when active, a sign-in link).
func (h *Handler) join(r *request) apigw.Response {
	prog := h.program(r, r.value("program"))
	if prog == nil {
		return h.notFound(r)
	}
	if !h.formTokenValid(r) {
		return h.errorPage(r, http.StatusForbidden, "This form has expired", "Go back, reload the page and send the form again.")
	}
	d := joinData{Name: r.value("name"), Email: r.value("email"), Company: r.value("company")}
	if prog.Partners.JoinPolicy() == program.JoinInvitation {
		return h.joinPage(r, http.StatusForbidden, prog, d)
	}
	n := partners.New{ProgramID: prog.ID, Email: d.Email, Name: d.Name, Company: d.Company}
	var inv *partners.Invalid
	if err := n.Validate(); errors.As(err, &inv) {
		d.Errors = inv.Fields
		return h.joinPage(r, http.StatusBadRequest, prog, d)
	}
	byIP, err := h.Store.Hit(r.ctx, "join", store.LimitIP, r.RequestContext.HTTP.SourceIP, SignInWindow, h.Now())
	if err != nil {
		r.log.Error("rate limit failed", "error", err)
		return h.unavailable(r)
	}
	if byIP > SignInPerIP {
		return h.errorPage(r, http.StatusTooManyRequests, "Too many requests", "Too many requests came from your network. Wait a quarter of an hour, then try again.")
	}
	p, err := h.Partners.Join(r.ctx, prog, n, h.base(r))
	if errors.As(err, &inv) {
		d.Errors = inv.Fields
		return h.joinPage(r, http.StatusBadRequest, prog, d)
	}
	if err != nil && p == nil {
		r.log.Error("join failed", "error", err, "program", prog.ID)
		return h.unavailable(r)
	}
	if err != nil {
		r.log.Error("joined, but the sign-in link was not sent", "error", err, "program", prog.ID, "code", p.Code)
	} else if p != nil {
		r.log.Info("partner joined", "program", prog.ID, "code", p.Code, "status", string(p.State()))
	}
	return h.joinPage(r, http.StatusOK, prog, joinData{Done: true, Email: d.Email})
}
