package portal

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/program"
)

// kindLabels say each email kind a person may switch off.
var kindLabels = map[notify.Kind]string{
	notify.KindWelcome:          "Welcome email when you join",
	notify.KindReferralReceived: "When a referral you made is received",
	notify.KindReferralRejected: "When a referral is not accepted",
	notify.KindMilestoneReached: "When a referral reaches a milestone",
	notify.KindRewardOnHold:     "When a reward is on hold",
	notify.KindRewardPaid:       "When a reward is paid",
	notify.KindMonthlySummary:   "Monthly summary of your referrals",
	notify.KindRefereeWelcome:   "Welcome offer after you were referred",
}

// prefsData is the preference page's data.
type prefsData struct {
	CSRF  string
	Token string // the preference link's token (no session)
	Kinds []prefKind
	Saved bool
}

type prefKind struct {
	Kind  string
	Label string
	On    bool
}

// preferences answers GET and POST /portal/preferences: which emails the
// person receives. It works signed in, or from an email's preference link
// (?token=, a signed notify preference token) without a session.
func (h *Handler) preferences(r *request, post bool) apigw.Response {
	token := r.query("token")
	if post {
		token = r.value("token")
	}
	if token == "" {
		return h.signedIn(r, func(r *request, s *session) apigw.Response {
			sub := notify.Subscriber{ProgramID: s.partner.ProgramID, Code: s.partner.Key}
			return h.prefsPage(r, s.program, sub, prefsData{CSRF: s.csrf}, post)
		})
	}
	secrets, err := h.LinkSecrets(r.ctx)
	if err != nil {
		r.log.Error("link secrets", "error", err)
		return h.unavailable(r)
	}
	sub, err := notify.VerifyPreferenceToken(secrets, token, h.Now())
	if err != nil {
		return h.render(r, http.StatusNotFound, "message", "This link no longer works", nil, message{
			Lines: []string{"Preference links expire after a year. Sign in to the portal to choose your emails."},
			Link:  "/portal/sign-in", LinkText: "Sign in",
		})
	}
	if post && !h.formTokenValid(r) {
		return h.errorPage(r, http.StatusForbidden, "This form has expired", "Go back, reload the page and send the form again.")
	}
	csrf, setCookie, err := h.formToken(r)
	if err != nil {
		return h.unavailable(r)
	}
	resp := h.prefsPage(r, h.program(r, sub.ProgramID), sub, prefsData{CSRF: csrf, Token: token}, post)
	resp.Cookies = append(resp.Cookies, nonEmpty(setCookie)...)
	return resp
}

// prefsPage shows (and on post saves) the kinds of email sub may switch
// off (notify.Switchable: never the sign-in email) that prog sends.
func (h *Handler) prefsPage(r *request, prog *program.Program, sub notify.Subscriber, d prefsData, post bool) apigw.Response {
	var kinds []notify.Kind
	for _, k := range notify.Switchable(sub) {
		if prog.Sends(string(k)) {
			kinds = append(kinds, k)
		}
	}
	prefs, err := notify.LoadPreferences(r.ctx, h.Store, sub)
	if err != nil {
		r.log.Error("read preferences failed", "error", err)
		return h.unavailable(r)
	}
	if post {
		prefs = notify.Preferences{}
		for _, k := range kinds {
			if !slices.Contains(r.form["on"], string(k)) {
				prefs.Off = append(prefs.Off, k)
			}
		}
		if err := notify.SavePreferences(r.ctx, h.Store, sub, prefs, h.Now()); err != nil {
			r.log.Error("save preferences failed", "error", err)
			return h.unavailable(r)
		}
		d.Saved = true
	}
	for _, k := range kinds {
		d.Kinds = append(d.Kinds, prefKind{Kind: string(k), Label: kindLabels[k], On: prefs.Wants(k)})
	}
	return h.render(r, http.StatusOK, "preferences", "Email preferences", prog, d)
}

// profileData is the profile page's data.
type profileData struct {
	Name, Email, Code, DisplayName string
	Error                          string
	Saved                          bool
}

// profile answers GET /portal/profile.
func (h *Handler) profile(r *request, s *session) apigw.Response {
	p := s.partner
	return h.render(r, http.StatusOK, "profile", "Your profile", s.program, profileData{Name: p.Name, Email: p.Email, Code: p.Code,
		DisplayName: p.DisplayName, Saved: r.query("saved") != ""})
}

// saveProfile answers POST /portal/profile: the name the partner shows on
// the leaderboard (empty: "Partner #n"), one line of at most 60
// characters.
func (h *Handler) saveProfile(r *request, s *session) apigw.Response {
	name := strings.Join(strings.Fields(r.value("display_name")), " ")
	if utf8.RuneCountInString(name) > partners.MaxDisplayName {
		p := s.partner
		return h.render(r, http.StatusBadRequest, "profile", "Your profile", s.program, profileData{Name: p.Name, Email: p.Email, Code: p.Code,
			DisplayName: name, Error: fmt.Sprintf("Use at most %d characters.", partners.MaxDisplayName)})
	}
	if _, err := h.Store.SetDisplayName(r.ctx, s.partner.ProgramID, s.partner.Code, name); err != nil {
		r.log.Error("save display name failed", "error", err)
		return h.unavailable(r)
	}
	return seeOther("/portal/profile?saved=1")
}
