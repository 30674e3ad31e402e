package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/referral"
)

// partnerEditData is what templates/partner_edit.html shows.
type partnerEditData struct {
	Program, Code         string // the partner's program and current code
	Name, Email, Company  string // as stored, or as sent
	Fields                map[string]string
	Status, PreviousCodes string
}

// partnerEdit answers /console/partners/edit: GET ?program=&code= shows a
// partner's name, email and company to correct; POST saves them through
// the partner operations (the same as PATCH /admin/partners/{program}/{code}).
func (h *Handler) partnerEdit(r *Request) apigw.Response {
	if r.Method != http.MethodPost {
		prog, code := strings.ToLower(r.Query("program")), r.Query("code")
		p, err := h.Partners.Partner(r.Ctx, prog, code)
		if err != nil {
			return h.partnerEditFailed(r, err)
		}
		d := partnerEditData{Program: p.ProgramID, Code: p.Code, Name: p.Name, Email: p.Email, Company: p.Company,
			Status: string(p.State()), PreviousCodes: strings.Join(p.PreviousCodes, ", ")}
		return h.Render(r, http.StatusOK, "partner_edit", "Edit partner "+p.Code, d)
	}
	d := partnerEditData{Program: strings.ToLower(r.Value("program")), Code: r.Value("code"),
		Name: r.Value("name"), Email: r.Value("email"), Company: r.Value("company")}
	p, err := h.Partners.Edit(r.Ctx, d.Program, d.Code, partners.Changes{Name: &d.Name, Email: &d.Email, Company: &d.Company})
	var invalid *partners.Invalid
	switch {
	case errors.As(err, &invalid):
		d.Fields = invalid.Fields
	case errors.Is(err, partners.ErrExists):
		d.Fields = map[string]string{"email": "this email is already another partner of the program"}
	case err != nil:
		return h.partnerEditFailed(r, err)
	}
	if d.Fields != nil {
		return h.Render(r, http.StatusUnprocessableEntity, "partner_edit", "Edit partner "+d.Code, d)
	}
	if aerr := h.Audit(r, "partner.edit", "program", p.ProgramID, "partner", p.Code); aerr != nil {
		r.Log.Error("audit failed", "action", "partner.edit", "error", aerr)
	}
	return SeeOther("/console/partners?" + url.Values{"program": {p.ProgramID}, "did": {"edited"}}.Encode())
}

// partnerEditFailed answers an edit that found no partner or failed.
func (h *Handler) partnerEditFailed(r *Request, err error) apigw.Response {
	if errors.Is(err, partners.ErrNotFound) || errors.Is(err, referral.ErrNotFound) {
		return h.ErrorPage(r, http.StatusNotFound, "No such partner", "No partner of this program has this code: open the partners page again.")
	}
	r.Log.Error("edit partner failed", "error", err)
	return h.Unavailable(r)
}
