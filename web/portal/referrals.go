package portal

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/intake"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// submitForm is the portal's referral form: what was typed and what is
// wrong with it (after a refused submission), or the general problem.
type submitForm struct {
	Values  map[string]string
	Errors  map[string]string
	Problem string
}

// submitFields are the public form's fields a partner fills in the
// portal (the program and the code are the partner's own).
var submitFields = []string{"referee_name", "referee_email", "referee_company", "referee_domain", "referee_phone",
	"message", "referee_country", "industry", "company_size"}

// submit answers POST /portal/referrals: the referral goes through
// internal/intake with the partner's program and code, exactly as the
// public form's would. Accepted: 303 to its page, which confirms it.
// Refused: the partner's page again with the form, its values and what is
// wrong (400, or the refusal's status), nothing stored.
func (h *Handler) submit(r *request, s *session) apigw.Response {
	form := submitForm{Values: map[string]string{}}
	for _, f := range submitFields {
		form.Values[f] = r.value(f)
	}
	sub := referral.Submission{
		Program: s.partner.ProgramID, ReferrerCode: s.partner.Code,
		RefereeName: form.Values["referee_name"], RefereeEmail: form.Values["referee_email"],
		RefereeCompany: form.Values["referee_company"], RefereeDomain: form.Values["referee_domain"],
		RefereePhone: form.Values["referee_phone"], Message: form.Values["message"],
		Country: form.Values["referee_country"], Industry: form.Values["industry"], Employees: form.Values["company_size"],
	}
	out, err := h.Intake.Submit(r.ctx, intake.Input{Submission: sub})
	var refusal *intake.Refusal
	switch {
	case errors.As(err, &refusal):
		form.Errors = refusal.Fields
		form.Problem = refusalWords(refusal)
		return h.homePage(r, s, refusal.Status, form)
	case err != nil:
		r.log.Error("portal referral not taken", "error", err)
		return h.unavailable(r)
	}
	r.log.Info("referral submitted in the portal", "referral_id", out.Accepted.ReferralID, "program", s.partner.ProgramID)
	return seeOther("/portal/referrals/" + url.PathEscape(out.Accepted.ReferralID) + "?new=1")
}

// refusalWords says a refusal for the partner.
func refusalWords(r *intake.Refusal) string {
	switch r.Code {
	case "invalid_request":
		return "Some fields need your attention."
	case "duplicate_referral":
		return "This company or person has already been referred to the program."
	case "unknown_referrer":
		return "Your partner account cannot refer right now. Contact the program's team."
	}
	return "We could not take this referral: " + r.Message + "."
}

// referralData is a referral's page.
type referralData struct {
	Referral referralRow
	New      bool // just submitted: the page confirms it
}

// referral answers GET /portal/referrals/{id}: one of the partner's
// referrals. Anyone else's, or an unknown id, is 404: the same page.
func (h *Handler) referral(r *request, s *session) apigw.Response {
	id := strings.TrimPrefix(r.path, "/referrals/")
	if !referral.ValidID(id) {
		return h.notFound(r)
	}
	row, err := h.referralRow(r, s.partner, id, map[int]*program.Program{})
	if err != nil {
		r.log.Error("read referral failed", "error", err, "referral_id", id)
		return h.unavailable(r)
	}
	if row == nil {
		return h.notFound(r)
	}
	return h.render(r, http.StatusOK, "referral", row.Company, s.program, referralData{Referral: *row, New: r.query("new") != ""})
}
