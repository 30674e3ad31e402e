package portal_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/feedback"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/store"
)

// scoreLink is the path of the summary's score link for ANN42, October 2026.
func scoreLink(t *testing.T, w *world, score int, secret string) (path, token string) {
	t.Helper()
	tok, err := notify.FeedbackToken(secret, notify.FeedbackLink{ProgramID: "p1", Partner: "ANN42", Month: "2026-10", Score: score}, w.now.Add(notify.FeedbackTokenTTL))
	if err != nil {
		t.Fatal(err)
	}
	return "/portal/feedback?token=" + url.QueryEscape(tok), tok
}

func counts(t *testing.T, w *world) feedback.Counts {
	t.Helper()
	m, err := w.st.FeedbackSummary(context.Background(), "p1", "2026-10", "2026-10")
	if err != nil {
		t.Fatal(err)
	}
	return m[0].Counts
}

// TestFeedbackLinkConfirmsBeforeRecording: opening a score link (as a mail
// scanner would) records nothing; the page asks to confirm the score,
// without sign-in; the confirmation records it; a second answer replaces
// the score and comment, counted once.
func TestFeedbackLinkConfirmsBeforeRecording(t *testing.T) {
	w := newWorld(t)
	w.h.Feedback = w.st
	b := w.browser()
	path, tok := scoreLink(t, w, 3, linkSecret)

	page := b.get(path)
	mustStatus(t, page, http.StatusOK)
	for _, want := range []string{"How likely are you to recommend our partner program to a colleague?", "October 2026",
		`name="score" value="3" aria-describedby="scale-ends" checked`, `<textarea id="comment" name="comment"`, "Send my answer"} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("the page lacks %q:\n%s", want, page.body)
		}
	}
	if strings.Contains(page.body, annEmail) {
		t.Error("the page shows the partner's email")
	}
	if _, err := w.st.Feedback(context.Background(), "p1", "2026-10", "ANN42"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GET recorded an answer: %v", err)
	}
	if c := counts(t, w); c != (feedback.Counts{}) {
		t.Fatalf("GET counted: %+v", c)
	}

	resp := b.post(path, "/portal/feedback", url.Values{"token": {tok}, "score": {"3"}, "comment": {"  Payouts are slow.  "}})
	mustStatus(t, resp, http.StatusSeeOther)
	if loc := resp.Headers["location"]; !strings.HasPrefix(loc, "/portal/feedback?token=") || !strings.HasSuffix(loc, "&saved=1") {
		t.Fatalf("redirect to %q", loc)
	}
	saved := b.get(resp.Headers["location"])
	mustStatus(t, saved, http.StatusOK)
	if !strings.Contains(saved.body, "your answer is saved") || !strings.Contains(saved.body, "Payouts are slow.</textarea>") {
		t.Fatalf("the saved page:\n%s", saved.body)
	}
	if c := counts(t, w); c != (feedback.Counts{Responses: 1, Sum: 3, Detractors: 1}) {
		t.Fatalf("after the first answer: %+v", c)
	}

	w.now = w.now.Add(time.Hour)
	nine, nineTok := scoreLink(t, w, 9, linkSecret)
	mustStatus(t, b.post(nine, "/portal/feedback", url.Values{"token": {nineTok}, "score": {"9"}, "comment": {"Much better now."}}), http.StatusSeeOther)
	a, err := w.st.Feedback(context.Background(), "p1", "2026-10", "ANN42")
	if err != nil || a.Score != 9 || a.Comment != "Much better now." || a.Answers != 2 || !a.FirstAt.Equal(t0) || !a.AnsweredAt.Equal(w.now) {
		t.Fatalf("the replaced answer: %+v %v", a, err)
	}
	if c := counts(t, w); c != (feedback.Counts{Responses: 1, Sum: 9, Promoters: 1}) {
		t.Fatalf("after the second answer: %+v", c)
	}
}

// TestBadFeedbackLinksWriteNothing: a forged, tampered or expired link, a
// missing CSRF token, a score out of range or a long comment answer an
// HTML page and record nothing.
func TestBadFeedbackLinksWriteNothing(t *testing.T) {
	w := newWorld(t)
	w.h.Feedback = w.st
	b := w.browser()
	path, tok := scoreLink(t, w, 8, linkSecret)
	forged, forgedTok := scoreLink(t, w, 8, "another-secret-that-signs-nothing-01")
	_, mac, _ := strings.Cut(tok, ".")
	_, tenTok := scoreLink(t, w, 10, linkSecret)
	tenPayload, _, _ := strings.Cut(tenTok, ".")
	tampered := tenPayload + "." + mac
	long := strings.Repeat("a", feedback.MaxComment+1)

	for name, c := range map[string]struct {
		do     func() response
		status int
		says   string
	}{
		"GET a forged link":   {func() response { return b.get(forged) }, http.StatusNotFound, "This link no longer works"},
		"GET a tampered link": {func() response { return b.get("/portal/feedback?token=" + url.QueryEscape(tampered)) }, http.StatusNotFound, "This link no longer works"},
		"GET without a token": {func() response { return b.get("/portal/feedback") }, http.StatusNotFound, "This link no longer works"},
		"POST a forged link": {func() response {
			return b.post(path, "/portal/feedback", url.Values{"token": {forgedTok}, "score": {"8"}})
		}, http.StatusNotFound, "This link no longer works"},
		"POST a tampered link": {func() response {
			return b.post(path, "/portal/feedback", url.Values{"token": {tampered}, "score": {"10"}})
		}, http.StatusNotFound, "This link no longer works"},
		"POST without CSRF": {func() response {
			return b.do(http.MethodPost, "/portal/feedback", url.Values{"token": {tok}, "score": {"8"}})
		}, http.StatusForbidden, "This form has expired"},
		"POST a score of 11": {func() response { return b.post(path, "/portal/feedback", url.Values{"token": {tok}, "score": {"11"}}) }, http.StatusBadRequest, "Choose a number from 0 to 10."},
		"POST no score":      {func() response { return b.post(path, "/portal/feedback", url.Values{"token": {tok}}) }, http.StatusBadRequest, "Choose a number from 0 to 10."},
		"POST a long comment": {func() response {
			return b.post(path, "/portal/feedback", url.Values{"token": {tok}, "score": {"8"}, "comment": {long}})
		}, http.StatusBadRequest, "at most 1,000 characters"},
		"POST from another site": {func() response {
			o := b.origin
			b.origin = "https://evil.example"
			defer func() { b.origin = o }()
			return b.post(path, "/portal/feedback", url.Values{"token": {tok}, "score": {"8"}})
		}, http.StatusForbidden, "another site"},
	} {
		r := c.do()
		if r.StatusCode != c.status || !strings.Contains(r.body, c.says) || !strings.HasPrefix(r.Headers["content-type"], "text/html") {
			t.Errorf("%s: %d %q, want %d with %q", name, r.StatusCode, r.Headers["content-type"], c.status, c.says)
		}
	}
	w.now = w.now.Add(notify.FeedbackTokenTTL)
	if r := b.get(path); r.StatusCode != http.StatusNotFound {
		t.Errorf("an expired link: %d", r.StatusCode)
	}
	if _, err := w.st.Feedback(context.Background(), "p1", "2026-10", "ANN42"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an answer was recorded: %v", err)
	}
	if c := counts(t, w); c != (feedback.Counts{}) {
		t.Fatalf("counted: %+v", c)
	}
}
