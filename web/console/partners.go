package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// PartnerOps are the partner operations of the admin API
// (partners.Service): one implementation, two doors.
type PartnerOps interface {
	List(ctx context.Context, programID string, limit int, cursor string) (partners.Page, error)
	Invite(ctx context.Context, n partners.New, base string) (*store.Partner, error)
	Approve(ctx context.Context, programID, code, base string) (*store.Partner, error)
	Disable(ctx context.Context, programID, code string) (*store.Partner, error)
	Enable(ctx context.Context, programID, code string) (*store.Partner, error)
	ChangeCode(ctx context.Context, programID, from, to string) (*store.Partner, error)
	Edit(ctx context.Context, programID, code string, c partners.Changes) (*store.Partner, error)
	Partner(ctx context.Context, programID, code string) (*store.Partner, error)
}

func init() {
	Register(Section{Prefix: "/partners", Nav: "Partners", Serve: (*Handler).partnersPage})
}

// partnerRow is a partner with this month's figures and the status
// changes an operator may make.
type partnerRow struct {
	store.Partner
	Figures *kpis.PartnerFigures // nil: no referral this month
	Ops     []partnerOp
}

type partnerOp struct{ Op, Label string }

// opsFor lists the status changes of a partner in status st.
func opsFor(st referral.ReferrerStatus) []partnerOp {
	switch st {
	case referral.ReferrerPending:
		return []partnerOp{{"approve", "Approve"}, {"disable", "Disable"}}
	case referral.ReferrerDisabled:
		return []partnerOp{{"enable", "Enable"}}
	}
	return []partnerOp{{"disable", "Disable"}}
}

// inviteField is one field of the invite form.
type inviteField struct {
	Name, Label, Type, Value, Error string
	Required                        bool
}

// InviteFields are the invite form's fields with what was sent and its problems.
func (d partnersData) InviteFields() []inviteField {
	return []inviteField{
		{"email", "Email", "email", d.Invite.Email, d.Fields["email"], true},
		{"name", "Name", "text", d.Invite.Name, d.Fields["name"], true},
		{"company", "Company", "text", d.Invite.Company, d.Fields["company"], false},
		{"code", "Code (optional: one is drawn)", "text", d.Invite.Code, d.Fields["code"], false},
	}
}

// partnersData is what templates/partners.html shows.
type partnersData struct {
	Program  string
	Programs []string
	Rows     []partnerRow
	Next     string // the next page's cursor
	Month    string // the month the figures cover
	Invite   partners.New
	Fields   map[string]string // the invite form's problems
	Problem  string            // why the last action did not happen
	Done     string
}

var partnerDone = map[string]string{
	"invited": "The partner is invited: they got a sign-in link.", "approved": "The partner is approved and got a sign-in link.",
	"disabled": "The partner is disabled: their code no longer attributes referrals.", "enabled": "The partner is enabled again.",
	"code": "The partner's code is changed; referrals made with the old code stay theirs. Links and forms with the old code still open " +
		"the program's site but no longer credit them, and nobody else can take it: send them their new link.",
	"edited": "The partner's details are saved.",
}

// partnersPage answers /console/partners (GET: the list and the invite
// form), POST /console/partners/invite and POST /console/partners/action.
func (h *Handler) partnersPage(r *Request) apigw.Response {
	switch {
	case r.Path == "/partners" && r.Method != http.MethodPost:
		d := partnersData{Program: strings.ToLower(r.Query("program")), Programs: h.ProgramIDs, Done: partnerDone[r.Query("did")]}
		if d.Program == "" && len(h.ProgramIDs) > 0 {
			d.Program = h.ProgramIDs[0]
		}
		d.Invite.ProgramID = d.Program
		return h.partnersList(r, http.StatusOK, d, r.Query("cursor"))
	case r.Path == "/partners/invite" && r.Method == http.MethodPost:
		return h.partnerInvite(r)
	case r.Path == "/partners/action" && r.Method == http.MethodPost:
		return h.partnerAction(r)
	case r.Path == "/partners/edit":
		return h.partnerEdit(r) // partner_edit.go
	}
	return h.NotFound(r)
}

// partnersList reads a page of partners and this month's figures.
func (h *Handler) partnersList(r *Request, status int, d partnersData, cursor string) apigw.Response {
	if d.Program == "" {
		return h.Render(r, status, "partners", "Partners", d)
	}
	page, err := h.Partners.List(r.Ctx, d.Program, pageSize, cursor)
	switch {
	case errors.Is(err, partners.ErrNotFound):
		d.Problem = "No program has the id " + d.Program + "."
		return h.Render(r, http.StatusNotFound, "partners", "Partners", d)
	case err != nil:
		r.Log.Error("list partners failed", "program", d.Program, "error", err)
		return h.Unavailable(r)
	}
	figures := map[string]*kpis.PartnerFigures{}
	if h.KPIs != nil {
		per, _ := kpis.ParsePeriod(map[string]string{"period": kpis.PeriodMonth}, h.Now())
		if rep, err := h.KPIs.Report(r.Ctx, d.Program, per); err == nil {
			d.Month = per.From.Format("January 2006")
			for i := range rep.Partners.Top {
				figures[rep.Partners.Top[i].ReferrerID] = &rep.Partners.Top[i]
			}
		}
	}
	for _, p := range page.Partners {
		d.Rows = append(d.Rows, partnerRow{Partner: p, Figures: figures[p.Code], Ops: opsFor(p.State())})
	}
	d.Next = page.Next
	return h.Render(r, status, "partners", "Partners", d)
}

// partnerInvite invites a partner (POST /console/partners/invite).
func (h *Handler) partnerInvite(r *Request) apigw.Response {
	n := partners.New{ProgramID: strings.ToLower(r.Value("program")), Email: r.Value("email"), Name: r.Value("name"),
		Company: r.Value("company"), Code: r.Value("code")}
	d := partnersData{Program: n.ProgramID, Programs: h.ProgramIDs, Invite: n}
	p, err := h.Partners.Invite(r.Ctx, n, h.base(r))
	var invalid *partners.Invalid
	switch {
	case errors.As(err, &invalid):
		d.Fields = invalid.Fields
	case errors.Is(err, partners.ErrExists):
		d.Fields = map[string]string{"email": "this email is already a partner of the program"}
	case errors.Is(err, partners.ErrCodeTaken):
		d.Fields = map[string]string{"code": "this code is taken"}
	case errors.Is(err, partners.ErrInvitationOnly), errors.Is(err, partners.ErrNotFound):
		d.Fields = map[string]string{"program": "no program has this id"}
	case err != nil && p == nil:
		r.Log.Error("invite partner failed", "program", n.ProgramID, "error", err)
		return h.Unavailable(r)
	}
	if d.Fields != nil {
		return h.partnersList(r, http.StatusUnprocessableEntity, d, "")
	}
	if aerr := h.Audit(r, "partner.invite", "program", p.ProgramID, "partner", p.Code); aerr != nil {
		r.Log.Error("audit failed", "action", "partner.invite", "error", aerr)
	}
	return SeeOther("/console/partners?" + url.Values{"program": {p.ProgramID}, "did": {"invited"}}.Encode())
}

// partnerAction approves, disables, enables or changes the code of a
// partner (POST /console/partners/action).
func (h *Handler) partnerAction(r *Request) apigw.Response {
	prog, code, op := strings.ToLower(r.Value("program")), r.Value("code"), r.Value("op")
	var p *store.Partner
	var err error
	did := map[string]string{"approve": "approved", "disable": "disabled", "enable": "enabled", "change-code": "code"}[op]
	switch op {
	case "approve":
		p, err = h.Partners.Approve(r.Ctx, prog, code, h.base(r))
	case "disable":
		p, err = h.Partners.Disable(r.Ctx, prog, code)
	case "enable":
		p, err = h.Partners.Enable(r.Ctx, prog, code)
	case "change-code":
		p, err = h.Partners.ChangeCode(r.Ctx, prog, code, r.Value("to"))
	default:
		return h.ErrorPage(r, http.StatusBadRequest, "This form could not be read", "Use the buttons of the partners page.")
	}
	if problem := partnerProblem(err); problem != "" || (err != nil && p == nil) {
		if problem == "" {
			r.Log.Error("partner action failed", "op", op, "program", prog, "error", err)
			return h.Unavailable(r)
		}
		d := partnersData{Program: prog, Programs: h.ProgramIDs, Problem: problem, Invite: partners.New{ProgramID: prog}}
		return h.partnersList(r, http.StatusConflict, d, "")
	}
	if err != nil { // done, but its email failed
		r.Log.Warn("partner action email failed", "op", op, "program", prog, "error", err)
	}
	if aerr := h.Audit(r, "partner."+op, "program", prog, "partner", code, "code", p.Code); aerr != nil {
		r.Log.Error("audit failed", "action", "partner."+op, "error", aerr)
	}
	return SeeOther("/console/partners?" + url.Values{"program": {prog}, "did": {did}}.Encode())
}

// partnerProblem says why a partner action did not happen, "" when the
// error is not one an operator can act on.
func partnerProblem(err error) string {
	var invalid *partners.Invalid
	switch {
	case err == nil:
		return ""
	case errors.As(err, &invalid):
		for f, m := range invalid.Fields {
			return "The new " + f + " cannot be used: " + m + "."
		}
	case errors.Is(err, partners.ErrNotFound) || errors.Is(err, referral.ErrNotFound):
		return "No such partner in this program."
	case errors.Is(err, partners.ErrCodeTaken):
		return "That code is taken: choose another."
	case errors.Is(err, partners.ErrState):
		return "The partner's status does not allow that (someone may have changed it first)."
	}
	return ""
}
