package main

import (
	"embed"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/referral"
)

// The status page for people: server-rendered, no scripts, no outside
// resources, and no personal data (the same facts as the JSON view, in
// words).

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// statusWords says a referral status in words: a headline, what it means,
// and a tone (good, bad or wait) for the page's colour cue.
var statusWords = map[string][3]string{
	string(referral.StatusReceived):       {"Received", "We have the referral and are about to check it.", "wait"},
	string(referral.StatusVerifying):      {"Being checked", "We are checking that the referral fits the program.", "wait"},
	string(referral.StatusInReview):       {"Being reviewed", "A member of the team is reviewing the referral.", "wait"},
	string(referral.StatusInProgress):     {"Accepted", "The referral was accepted. Its progress is below.", "good"},
	string(referral.StatusNeedsAttention): {"Delayed", "Something held the referral up. The team has been alerted and will pick it up.", "wait"},
	string(referral.StatusRejected):       {"Not accepted", "The referral did not meet the program's rules.", "bad"},
	string(referral.StatusLost):           {"Closed: no deal", "The deal did not go ahead.", "bad"},
	string(referral.StatusExpired):        {"Closed: expired", "A step was not reached in time.", "bad"},
	string(referral.StatusCompleted):      {"Completed", "Every step was reached.", "good"},
}

// Reward statuses and parties in words.
var (
	rewardWords = map[string]string{"pending": "pending", "on_hold": "on hold (holding period)", "approved": "approved",
		"paid": "paid", "failed": "delayed", "voided": "cancelled"}
	partyWords = map[string]string{"referrer": "referrer", "referee": "referred company"}
)

type milestoneView struct {
	Name, Date, ISO string
	Reached         bool
}

type rewardView struct{ Amount, Kind, Party, Milestone, Status string }

type statusView struct {
	ProgramName, Headline, Detail, Tone string
	Milestones                          []milestoneView
	Rewards                             []rewardView
	ID, Updated, UpdatedISO             string
}

// statusPage renders st as the page for people.
func statusPage(st *Status, programName string) apigw.Response {
	w, ok := statusWords[st.Status]
	if !ok {
		w = [3]string{words(st.Status), "", "wait"}
	}
	v := statusView{ProgramName: programName, Headline: w[0], Detail: w[1], Tone: w[2], ID: st.ReferralID,
		Updated: day(st.UpdatedAt), UpdatedISO: st.UpdatedAt.UTC().Format(time.RFC3339)}
	for _, m := range st.Milestones {
		mv := milestoneView{Name: words(m.Name)}
		if m.ReachedAt != nil {
			mv.Reached, mv.Date, mv.ISO = true, day(*m.ReachedAt), m.ReachedAt.UTC().Format(time.RFC3339)
		}
		v.Milestones = append(v.Milestones, mv)
	}
	for _, r := range st.Rewards {
		v.Rewards = append(v.Rewards, rewardView{Amount: r.Amount + " " + r.Currency, Kind: strings.ReplaceAll(r.Kind, "_", " "),
			Party: or(partyWords[r.Party], r.Party), Milestone: words(r.Milestone), Status: or(rewardWords[r.Status], r.Status)})
	}
	return render(http.StatusOK, "status.html", v)
}

// notFoundPage is the one answer for an unknown id and a wrong token.
func notFoundPage() apigw.Response {
	return render(http.StatusNotFound, "message.html", map[string]any{
		"Title": "We could not find this referral",
		"Lines": []string{"Check that you opened the whole link from your confirmation: it ends with a long token.",
			"If it still does not work, ask the person who runs the referral program."},
	})
}

// unavailablePage asks to try again shortly.
func unavailablePage() apigw.Response {
	resp := render(http.StatusServiceUnavailable, "message.html", map[string]any{
		"Title": "Please try again in a moment",
		"Lines": []string{"We could not read this referral just now. Reload the page in a few seconds."},
	})
	resp.Headers["retry-after"] = "5"
	return resp
}

// render answers status with the named template: never cached, no
// scripts or outside resources, and the page's URL (it holds the status
// token) never sent to another site.
func render(status int, name string, data any) apigw.Response {
	var b strings.Builder
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		return apigw.Error(http.StatusInternalServerError, "internal_error", "could not render the page", nil)
	}
	return apigw.Response{StatusCode: status, Body: b.String(), Headers: map[string]string{
		"content-type":            "text/html; charset=utf-8",
		"cache-control":           "no-store",
		"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		"referrer-policy":         "no-referrer",
		"x-content-type-options":  "nosniff",
		"x-robots-tag":            "noindex",
	}}
}

// words turns an identifier ("closed_won") into words ("Closed won").
func words(id string) string {
	s := strings.ReplaceAll(id, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func day(t time.Time) string { return t.UTC().Format("2 January 2006") }

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
