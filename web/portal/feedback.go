package portal

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/feedback"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/store"
)

// FeedbackStore keeps partners' answers to the monthly summary's question
// (internal/store feedback.go).
type FeedbackStore interface {
	Feedback(ctx context.Context, programID, month, partner string) (*store.FeedbackAnswer, error)
	RecordFeedback(ctx context.Context, a feedback.Answer, now time.Time) (*store.FeedbackAnswer, error)
}

// feedbackData is the feedback page's data.
type feedbackData struct {
	CSRF, Token string
	Question    string
	Month       string // "February 2026"
	Scores      []int  // 0 to 10
	Score       int    // the score chosen (the link's, or the one recorded)
	Comment     string
	Error       string // what is wrong with the comment or score
	Saved       bool
}

// feedback answers GET and POST /portal/feedback?token=: the score link
// of a monthly summary (a signed notify feedback token: the proof, no
// session needed). GET only shows the score to confirm, with an optional
// comment, and never records anything (mail scanners follow links); POST
// (CSRF-protected like the portal's other forms before sign-in) records
// the answer, replacing the partner's earlier answer for the month, and
// redirects to the page showing it saved. A bad, forged or expired link
// is an HTML page and writes nothing.
func (h *Handler) feedback(r *request, post bool) apigw.Response {
	token := r.query("token")
	if post {
		token = r.value("token")
	}
	link, prog, fail := h.feedbackLink(r, token)
	if fail != nil {
		return *fail
	}
	if post && !h.formTokenValid(r) {
		return h.errorPage(r, http.StatusForbidden, "This form has expired", "Go back, reload the page and send the form again.")
	}
	csrf, setCookie, err := h.formToken(r)
	if err != nil {
		return h.unavailable(r)
	}
	d := feedbackData{CSRF: csrf, Token: token, Question: feedback.Question, Score: link.Score}
	for s := feedback.MinScore; s <= feedback.MaxScore; s++ {
		d.Scores = append(d.Scores, s)
	}
	if m, err := feedback.ParseMonth(link.Month); err == nil {
		d.Month = m.Format("January 2006")
	}
	prev, err := h.Feedback.Feedback(r.ctx, link.ProgramID, link.Month, link.Partner)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		r.log.Error("read feedback failed", "error", err)
		return h.unavailable(r)
	}
	if prev != nil {
		d.Comment = prev.Comment
		if r.query("saved") != "" {
			d.Score, d.Saved = prev.Score, true
		}
	}
	status := http.StatusOK
	if post {
		if resp, ok := h.recordFeedback(r, link, &d); ok {
			return resp
		}
		status = http.StatusBadRequest
	}
	return h.render(r, status, "feedback", "Your feedback", prog, d, nonEmpty(setCookie)...)
}

// feedbackLink checks a feedback token and that its program and partner
// exist; fail is the page to answer when not.
func (h *Handler) feedbackLink(r *request, token string) (notify.FeedbackLink, *program.Program, *apigw.Response) {
	bad := func() (notify.FeedbackLink, *program.Program, *apigw.Response) {
		resp := h.render(r, http.StatusNotFound, "message", "This link no longer works", nil, message{
			Lines: []string{"Feedback links work for " + notify.Duration(notify.FeedbackTokenTTL) + " after the summary email, and only as they were sent. Thank you for wanting to answer."},
			Link:  "/portal", LinkText: "Go to the portal",
		})
		return notify.FeedbackLink{}, nil, &resp
	}
	if token == "" || h.Feedback == nil {
		if h.Feedback == nil {
			r.log.Error("feedback: no feedback store configured")
		}
		return bad()
	}
	secrets, err := h.LinkSecrets(r.ctx)
	if err != nil {
		r.log.Error("link secrets", "error", err)
		resp := h.unavailable(r)
		return notify.FeedbackLink{}, nil, &resp
	}
	link, err := notify.VerifyFeedbackToken(secrets, token, h.Now())
	if err != nil {
		return bad()
	}
	prog := h.program(r, link.ProgramID)
	if prog == nil || prog.ID != link.ProgramID {
		return bad()
	}
	if _, err := h.Store.CurrentPartner(r.ctx, link.ProgramID, link.Partner); err != nil {
		if !isNotFound(err) {
			r.log.Error("read partner failed", "error", err)
			resp := h.unavailable(r)
			return notify.FeedbackLink{}, nil, &resp
		}
		return bad()
	}
	return link, prog, nil
}

// recordFeedback records the posted score and comment for link: ok with
// the redirect to the saved page, or not ok with d.Error set (the form is
// shown again with what the partner wrote).
func (h *Handler) recordFeedback(r *request, link notify.FeedbackLink, d *feedbackData) (apigw.Response, bool) {
	d.Comment = r.value("comment")
	score, err := strconv.Atoi(r.value("score"))
	if err != nil || !feedback.ValidScore(score) {
		d.Error = "Choose a number from 0 to 10."
		return apigw.Response{}, false
	}
	d.Score = score
	a := feedback.Answer{Program: link.ProgramID, Month: link.Month, Partner: link.Partner, Score: score, Comment: d.Comment}
	if _, err := h.Feedback.RecordFeedback(r.ctx, a, h.Now()); err != nil {
		if errors.Is(err, feedback.ErrInvalid) {
			d.Error = "Your comment could not be kept: use at most 1,000 characters of plain text."
			return apigw.Response{}, false
		}
		r.log.Error("record feedback failed", "error", err)
		return h.unavailable(r), true
	}
	r.log.Info("feedback recorded", "program_id", link.ProgramID, "month", link.Month)
	return seeOther(notify.FeedbackPath + "?token=" + url.QueryEscape(d.Token) + "&saved=1"), true
}
