package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/feedback"
)

// feedbackSource answers fixed counts and comments.
type feedbackSource struct {
	counts   map[string]feedback.Counts
	comments map[string][]feedback.Response
	asked    []string
}

func (f *feedbackSource) FeedbackSummary(_ context.Context, p, from, to string) ([]feedback.MonthCounts, error) {
	f.asked = append(f.asked, p+" "+from+" "+to)
	months, err := feedback.Months(from, to, time.Time{})
	var out []feedback.MonthCounts
	for _, m := range months {
		out = append(out, feedback.MonthCounts{Month: m, Counts: f.counts[m]})
	}
	return out, err
}

func (f *feedbackSource) FeedbackComments(_ context.Context, _, month string, limit int) ([]feedback.Response, error) {
	return f.comments[month], nil
}

// TestFeedbackPageShowsScoresAndComments: the operator sees the period's
// NPS, average and groups, each month, and the comments with the
// partner's code (never an email); a bad period is the picker again.
func TestFeedbackPageShowsScoresAndComments(t *testing.T) {
	h, _ := sectionHandler(t)
	src := &feedbackSource{
		counts: map[string]feedback.Counts{"2026-02": {Responses: 3, Sum: 10 + 9 + 2, Promoters: 2, Detractors: 1}},
		comments: map[string][]feedback.Response{"2026-02": {{Answer: feedback.Answer{Program: "b2b", Month: "2026-02", Partner: "BOB1", Score: 2,
			Comment: "Payouts <b>are</b> slow"}, AnsweredAt: sectionNow.Add(-10 * 24 * time.Hour)}}},
	}
	h.Feedback = src
	resp := get(t, h, "/console/feedback", map[string]string{"from": "2026-01", "to": "2026-03"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d\n%s", resp.StatusCode, resp.Body)
	}
	for _, want := range []string{"Partner feedback: b2b", "Net Promoter Score", `<span class="value">33.3</span>`, `<span class="value">7</span>`,
		`<th scope="row">2026-02</th><td class="num">3</td>`, "BOB1", "Payouts &lt;b&gt;are&lt;/b&gt; slow", `id="fb-answers"`, `id="fb-groups"`,
		`aria-current="page"`} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if got := strings.Join(src.asked, ","); got != "b2b 2026-01 2026-03" {
		t.Errorf("read %q", got)
	}
	bad := get(t, h, "/console/feedback", map[string]string{"program": "b2b", "from": "2026-04", "to": "2026-01"})
	if bad.StatusCode != http.StatusBadRequest || !strings.Contains(bad.Body, "These months cannot be shown") {
		t.Errorf("a bad period: %d", bad.StatusCode)
	}
	if len(src.asked) != 1 {
		t.Error("a bad period was read")
	}
	if r := post(t, h, "/console/feedback", url.Values{}); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", r.StatusCode)
	}
}
