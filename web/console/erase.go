package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/referral"
)

// PeopleEraser erases a person's personal data from every referral that
// has them as its referee: the same operation as POST /admin/people/erase
// and `referflow person erase` (the store's ErasePerson).
type PeopleEraser interface {
	ErasePerson(ctx context.Context, email, actor string, now time.Time) (int, error)
}

func init() {
	Register(Section{Prefix: "/erase", Nav: "Referrals", Serve: (*Handler).erasePage})
}

// eraseData is what templates/erase.html shows.
type eraseData struct {
	Email   string // as typed (only ever in a POST's form and this page)
	Problem string // what is wrong with the email or the reason
	Checked bool   // the email was looked up
	Matches int    // referrals with the email as their referee
	Erased  string // after an erasure: how many referrals it erased
}

// erasePage answers /console/erase. GET shows the form; POST action=check
// looks the email up and shows how many referrals it matches, with the
// confirmation; POST action=erase erases them, with the operator's reason.
// The email travels only in POST bodies and this page: never in a URL,
// a log line or the audit log (which names the person by a keyed hash).
func (h *Handler) erasePage(r *Request) apigw.Response {
	if r.Path != "/erase" {
		return h.NotFound(r)
	}
	if r.Method != http.MethodPost {
		d := eraseData{}
		if n := r.Query("erased"); n != "" {
			if _, err := strconv.Atoi(n); err == nil {
				d.Erased = n
			}
		}
		return h.Render(r, http.StatusOK, "erase", "Erase a person's data", d)
	}
	d := eraseData{Email: strings.ToLower(r.Value("email"))}
	if !referral.ValidEmail(d.Email) {
		d.Problem = "Enter the person's exact email address."
		return h.Render(r, http.StatusBadRequest, "erase", "Erase a person's data", d)
	}
	switch r.Value("action") {
	case "check":
		return h.eraseCheck(r, d)
	case "erase":
		return h.erase(r, d)
	}
	return h.ErrorPage(r, http.StatusBadRequest, "This form could not be read", "Use the buttons of the erasure page.")
}

// eraseCheck shows how many referrals have the email as their referee.
func (h *Handler) eraseCheck(r *Request, d eraseData) apigw.Response {
	ids, err := h.Store.ReferralsByEmail(r.Ctx, d.Email)
	if err != nil {
		r.Log.Error("erase: look the person up failed", "error", err)
		return h.Unavailable(r)
	}
	d.Checked, d.Matches = true, len(ids)
	return h.Render(r, http.StatusOK, "erase", "Erase a person's data", d)
}

// erase erases the person's data, audits it under a keyed hash of the
// email, and shows how many referrals it erased.
func (h *Handler) erase(r *Request, d eraseData) apigw.Response {
	why, ok := reason(r)
	if !ok {
		d.Problem = "Write why the data is erased (at most 1,000 characters): the audit log keeps it."
		return h.eraseCheck(r, d)
	}
	keys, err := h.Keys(r.Ctx)
	if err != nil {
		r.Log.Error("erase: keys failed", "error", err)
		return h.Unavailable(r)
	}
	person := keys.Hash(privacy.Email, d.Email)[:16]
	n, err := h.People.ErasePerson(r.Ctx, d.Email, r.Op.Actor(), h.Now().UTC())
	if err != nil {
		// Whatever was erased stays erased; a repeat finishes the rest.
		r.Log.Error("erase person failed", "erased", n, "error", err)
		_ = h.audit(r, "person.erase", why, "cut short after "+strconv.Itoa(n)+" referral(s)", "person", person)
		return h.Unavailable(r)
	}
	_ = h.audit(r, "person.erase", why, "erased "+strconv.Itoa(n)+" referral(s)", "person", person)
	r.Log.Info("personal data erased", "referrals", n)
	return SeeOther("/console/erase?erased=" + strconv.Itoa(n))
}
