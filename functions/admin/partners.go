package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/store"
)

// Partners are the partner operations the admin API serves
// (internal/partners; the operator CLI calls the same).
type Partners interface {
	Invite(ctx context.Context, n partners.New, base string) (*store.Partner, error)
	List(ctx context.Context, programID string, limit int, cursor string) (partners.Page, error)
	Approve(ctx context.Context, programID, code, base string) (*store.Partner, error)
	Disable(ctx context.Context, programID, code string) (*store.Partner, error)
	Enable(ctx context.Context, programID, code string) (*store.Partner, error)
	ChangeCode(ctx context.Context, programID, from, to string) (*store.Partner, error)
	Edit(ctx context.Context, programID, code string, c partners.Changes) (*store.Partner, error)
}

// PartnerView is a partner as operators see it (their email included).
type PartnerView struct {
	Program       string    `json:"program"`
	Code          string    `json:"code"`
	PreviousCodes []string  `json:"previous_codes"`
	Status        string    `json:"status"`
	Email         string    `json:"email"`
	Name          string    `json:"name,omitempty"`
	Company       string    `json:"company,omitempty"`
	DisplayName   string    `json:"display_name,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	// EmailSent says, after an invite or an approval, whether the
	// sign-in email left (false: the partner is stored; invite again, or
	// they ask for a link on the portal).
	EmailSent *bool `json:"email_sent,omitempty"`
}

func partnerView(p *store.Partner) PartnerView {
	v := PartnerView{Program: p.ProgramID, Code: p.Code, PreviousCodes: p.PreviousCodes, Status: string(p.State()),
		Email: p.Email, Name: p.Name, Company: p.Company, DisplayName: p.DisplayName, CreatedAt: p.CreatedAt}
	if v.PreviousCodes == nil {
		v.PreviousCodes = []string{}
	}
	return v
}

// PartnerList is the answer of GET /admin/partners.
type PartnerList struct {
	Program  string        `json:"program"`
	Partners []PartnerView `json:"partners"`
	Next     string        `json:"next,omitempty"`
}

// partners routes /admin/partners:
//
//	POST /admin/partners                                   invite (or add) a partner
//	GET  /admin/partners?program=&limit=&cursor=           list a program's partners
//	POST /admin/partners/{program}/{code}/approve|disable|enable
//	POST /admin/partners/{program}/{code}/code             change the code
//	PATCH /admin/partners/{program}/{code}                 correct name, email, company
func (h *Handler) partners(ctx context.Context, req apigw.Request) apigw.Response {
	log := logging.From(ctx, h.Log).With("route", "partners")
	if h.Partners == nil {
		log.Error("partners: no partner operations configured")
		return apigw.Unavailable()
	}
	method := req.RequestContext.HTTP.Method
	program, code := req.PathParameters["program"], req.PathParameters["code"]
	switch {
	case method == http.MethodPost && strings.HasSuffix(req.RouteKey, " /admin/partners"):
		return h.invite(ctx, req, log)
	case method == http.MethodGet && strings.HasSuffix(req.RouteKey, " /admin/partners"):
		return h.listPartners(ctx, req, log)
	case method == http.MethodPost && strings.HasSuffix(req.RouteKey, "/code"):
		return h.changeCode(ctx, req, program, code, log)
	case method == http.MethodPatch && strings.HasSuffix(req.RouteKey, "/admin/partners/{program}/{code}"):
		return h.editPartner(ctx, req, program, code, log)
	case method == http.MethodPost && strings.HasSuffix(req.RouteKey, "/approve"):
		p, err := h.Partners.Approve(ctx, program, code, requestBase(&req))
		return partnerAnswer(p, err, true, log)
	case method == http.MethodPost && strings.HasSuffix(req.RouteKey, "/disable"):
		p, err := h.Partners.Disable(ctx, program, code)
		return partnerAnswer(p, err, false, log)
	case method == http.MethodPost && strings.HasSuffix(req.RouteKey, "/enable"):
		p, err := h.Partners.Enable(ctx, program, code)
		return partnerAnswer(p, err, false, log)
	}
	return apigw.Error(http.StatusNotFound, "not_found", "no such admin route", nil)
}

// InviteRequest is the body of POST /admin/partners.
type InviteRequest struct {
	Program string `json:"program"`
	Email   string `json:"email"`
	Name    string `json:"name"`
	Company string `json:"company"`
	Code    string `json:"code"`
}

// invite serves POST /admin/partners: the partner is stored invited (the
// code given, or a generated one) and emailed a sign-in link; they are
// active once they first sign in.
func (h *Handler) invite(ctx context.Context, req apigw.Request, log *slog.Logger) apigw.Response {
	var in InviteRequest
	if resp, ok := readJSON(&req, &in, "a JSON object with program, email, name, and optionally company and code"); !ok {
		return resp
	}
	p, err := h.Partners.Invite(ctx, partners.New{ProgramID: in.Program, Email: in.Email, Name: in.Name, Company: in.Company, Code: in.Code}, requestBase(&req))
	if err != nil && p == nil {
		return partnerAnswer(nil, err, true, log)
	}
	resp := partnerAnswer(p, err, true, log)
	resp.StatusCode = http.StatusCreated
	return resp
}

// CodeRequest is the body of POST /admin/partners/{program}/{code}/code.
type CodeRequest struct {
	Code string `json:"code"`
}

// changeCode serves POST /admin/partners/{program}/{code}/code: the
// partner's referrals stay theirs; the old code stays reserved and stops
// attributing new referrals.
func (h *Handler) changeCode(ctx context.Context, req apigw.Request, program, code string, log *slog.Logger) apigw.Response {
	var in CodeRequest
	if resp, ok := readJSON(&req, &in, "a JSON object with code"); !ok {
		return resp
	}
	p, err := h.Partners.ChangeCode(ctx, program, code, in.Code)
	return partnerAnswer(p, err, false, log)
}

// EditRequest is the body of PATCH /admin/partners/{program}/{code}: the
// fields to correct (absent: unchanged).
type EditRequest struct {
	Name    *string `json:"name"`
	Email   *string `json:"email"`
	Company *string `json:"company"`
}

// editPartner serves PATCH /admin/partners/{program}/{code}: the
// partner's name, email or company is corrected; their code, status and
// referrals stay.
func (h *Handler) editPartner(ctx context.Context, req apigw.Request, program, code string, log *slog.Logger) apigw.Response {
	var in EditRequest
	if resp, ok := readJSON(&req, &in, "a JSON object with name, email or company"); !ok {
		return resp
	}
	p, err := h.Partners.Edit(ctx, program, code, partners.Changes{Name: in.Name, Email: in.Email, Company: in.Company})
	return partnerAnswer(p, err, false, log)
}

// listPartners serves GET /admin/partners?program=&limit=&cursor=.
func (h *Handler) listPartners(ctx context.Context, req apigw.Request, log *slog.Logger) apigw.Response {
	q := req.QueryStringParameters
	program := strings.ToLower(strings.TrimSpace(q["program"]))
	if program == "" {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid", map[string]string{"program": "is required"})
	}
	limit := 100
	if v := q["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid", map[string]string{"limit": "must be a whole number from 1 to 200"})
		}
		limit = n
	}
	page, err := h.Partners.List(ctx, program, limit, q["cursor"])
	if errors.Is(err, partners.ErrNotFound) {
		return apigw.Error(http.StatusNotFound, "not_found", "no program with this id", nil)
	}
	if err != nil {
		log.Error("list partners failed", "error", err)
		return apigw.Unavailable()
	}
	out := PartnerList{Program: program, Partners: []PartnerView{}, Next: page.Next}
	for i := range page.Partners {
		out.Partners = append(out.Partners, partnerView(&page.Partners[i]))
	}
	return apigw.JSON(http.StatusOK, out)
}

// partnerAnswer answers an operation on a partner: the partner (200) or
// the error. mails says the operation sends a sign-in email: an error
// after the partner was stored means the email failed (email_sent false).
func partnerAnswer(p *store.Partner, err error, mails bool, log *slog.Logger) apigw.Response {
	var inv *partners.Invalid
	switch {
	case p != nil:
		v := partnerView(p)
		if mails {
			sent := err == nil
			v.EmailSent = &sent
			if err != nil {
				log.Error("partner stored; sign-in email not sent", "error", err, "program", p.ProgramID, "code", p.Code)
			}
		}
		return apigw.JSON(http.StatusOK, v)
	case errors.As(err, &inv):
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid", inv.Fields)
	case errors.Is(err, partners.ErrNotFound):
		return apigw.Error(http.StatusNotFound, "not_found", "no partner with this code in this program", nil)
	case errors.Is(err, partners.ErrExists):
		return apigw.Error(http.StatusConflict, "partner_exists", "this email is already a partner of the program", nil)
	case errors.Is(err, partners.ErrCodeTaken):
		return apigw.Error(http.StatusConflict, "code_taken", "this referral code is taken", map[string]string{"code": "is taken"})
	case errors.Is(err, partners.ErrState):
		return apigw.Error(http.StatusConflict, "invalid_partner_status", "the partner's status does not allow this", nil)
	}
	log.Error("partner operation failed", "error", err)
	return apigw.Unavailable()
}

// readJSON decodes a JSON object body into v; ok is false with the answer
// when the body is too large or not such an object.
func readJSON(req *apigw.Request, v any, want string) (apigw.Response, bool) {
	body, err := apigw.Body(req)
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", err.Error(), nil), false
	}
	if len(body) > maxBody {
		return apigw.TooLarge(maxBody), false
	}
	if err := json.Unmarshal(body, v); err != nil || strings.TrimSpace(string(body))[0] != '{' {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid", map[string]string{"body": "must be " + want}), false
	}
	return apigw.Response{}, true
}

// requestBase is the public URL the request came to (scheme and host):
// sign-in links in emails point at the portal there.
func requestBase(req *apigw.Request) string {
	u, err := url.Parse(apigw.URL(req, ""))
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
