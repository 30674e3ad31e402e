package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/referflow/referflow/internal/feedback"
	"github.com/referflow/referflow/internal/store"
)

// fakeFeedback holds counts and comments by month and records the
// months it was asked for.
type fakeFeedback struct {
	counts   map[string]feedback.Counts
	comments map[string][]store.FeedbackAnswer
	err      error
	asked    []string
}

func (f *fakeFeedback) FeedbackSummary(_ context.Context, p, from, to string) ([]store.FeedbackMonth, error) {
	f.asked = append(f.asked, "summary "+p+" "+from+" "+to)
	months, err := feedback.Months(from, to, time.Time{})
	if err != nil {
		return nil, err
	}
	var out []store.FeedbackMonth
	for _, m := range months {
		out = append(out, feedback.MonthCounts{Month: m, Counts: f.counts[m]})
	}
	return out, f.err
}

func (f *fakeFeedback) FeedbackComments(_ context.Context, p, month string, limit int) ([]store.FeedbackAnswer, error) {
	f.asked = append(f.asked, "comments "+month)
	cs := f.comments[month]
	if len(cs) > limit {
		cs = cs[:limit]
	}
	return cs, nil
}

func feedbackReq(query map[string]string) lambdaevents.APIGatewayV2HTTPRequest {
	req := request(http.MethodGet, "/admin/feedback", nil, "")
	req.QueryStringParameters = query
	return req
}

func TestFeedbackAddsUpThePeriodWithComments(t *testing.T) {
	at := func(d int) time.Time { return time.Date(2026, 2, d, 9, 0, 0, 0, time.UTC) }
	f := &fakeFeedback{
		counts: map[string]feedback.Counts{
			"2026-01": {Responses: 2, Sum: 19, Promoters: 2},
			"2026-02": {Responses: 2, Sum: 10, Passives: 1, Detractors: 1},
		},
		comments: map[string][]store.FeedbackAnswer{
			"2026-02": {{Answer: feedback.Answer{Program: "p1", Month: "2026-02", Partner: "BOB1", Score: 2, Comment: "Slow payouts"}, AnsweredAt: at(3)}},
			"2026-01": {{Answer: feedback.Answer{Program: "p1", Month: "2026-01", Partner: "ANN1", Score: 10, Comment: "Love it"}, AnsweredAt: at(1)}},
		},
	}
	var logs bytes.Buffer
	h := &Handler{Feedback: f, Now: func() time.Time { return at(20) }, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	a := call(t, h, feedbackReq(map[string]string{"program": "P1", "from": "2025-12", "to": "2026-02"}))
	if a.status != http.StatusOK {
		t.Fatalf("%d %v", a.status, a.body)
	}
	want := map[string]any{
		"program": "p1", "from": "2025-12", "to": "2026-02",
		"responses": 4.0, "average": 7.25, "nps": 25.0, "promoters": 2.0, "passives": 1.0, "detractors": 1.0,
	}
	for k, v := range want {
		if !reflect.DeepEqual(a.body[k], v) {
			t.Errorf("%s = %v, want %v", k, a.body[k], v)
		}
	}
	months := a.body["months"].([]any)
	if len(months) != 3 || months[0].(map[string]any)["average"] != nil || months[2].(map[string]any)["nps"] != -50.0 {
		t.Errorf("months %v", months)
	}
	comments := a.body["comments"].([]any)
	first := comments[0].(map[string]any)
	if len(comments) != 2 || first["month"] != "2026-02" || first["partner"] != "BOB1" || first["score"] != 2.0 ||
		first["comment"] != "Slow payouts" || first["answered_at"] != "2026-02-03T09:00:00Z" {
		t.Errorf("comments (latest month first) %v", comments)
	}
	if got := strings.Join(f.asked, ", "); got != "summary p1 2025-12 2026-02, comments 2026-02, comments 2026-01" {
		t.Errorf("read %s (a month without answers is not read)", got)
	}
	if strings.Contains(logs.String(), "Slow payouts") {
		t.Error("a comment was logged")
	}
}

func TestFeedbackPeriodDefaultsToTheYearUpToNow(t *testing.T) {
	f := &fakeFeedback{}
	h := &Handler{Feedback: f, Now: func() time.Time { return time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC) }, Log: slog.New(slog.DiscardHandler)}
	a := call(t, h, feedbackReq(map[string]string{"program": "p1"}))
	if a.status != http.StatusOK || a.body["from"] != "2025-12" || a.body["to"] != "2026-11" || a.body["nps"] != nil || a.body["responses"] != 0.0 {
		t.Fatalf("%d %v", a.status, a.body)
	}
	if c, ok := a.body["comments"].([]any); !ok || len(c) != 0 {
		t.Errorf("comments must be an empty list: %v", a.body["comments"])
	}
}

func TestFeedbackRefusesBadQueries(t *testing.T) {
	cases := []struct {
		name  string
		query map[string]string
		field string
	}{
		{"no program", map[string]string{"from": "2026-01"}, "program"},
		{"a month written otherwise", map[string]string{"program": "p1", "from": "2026-1"}, "from"},
		{"from after to", map[string]string{"program": "p1", "from": "2026-03", "to": "2026-01"}, "from"},
		{"more than 36 months", map[string]string{"program": "p1", "from": "2020-01", "to": "2026-01"}, "from"},
	}
	for _, c := range cases {
		f := &fakeFeedback{}
		h := &Handler{Feedback: f, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
		a := call(t, h, feedbackReq(c.query))
		fields, _ := a.body["error"].(map[string]any)["fields"].(map[string]any)
		if a.status != http.StatusBadRequest || errCode(a) != "invalid_request" || fields[c.field] == nil || len(f.asked) != 0 {
			t.Errorf("%s: %d %v, asked %v", c.name, a.status, a.body, f.asked)
		}
	}
	h := &Handler{Feedback: &fakeFeedback{err: errors.New("throttled")}, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
	if a := call(t, h, feedbackReq(map[string]string{"program": "p1"})); a.status != http.StatusServiceUnavailable || errCode(a) != "temporarily_unavailable" {
		t.Errorf("a failed read: %d %v", a.status, a.body)
	}
}
