package feedback

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

type source struct {
	counts   map[string]Counts
	comments int // comments each month with answers has
	asked    []string
}

func (s *source) FeedbackSummary(_ context.Context, _, from, to string) ([]MonthCounts, error) {
	months, err := Months(from, to, now)
	var out []MonthCounts
	for _, m := range months {
		out = append(out, MonthCounts{Month: m, Counts: s.counts[m]})
	}
	return out, err
}

func (s *source) FeedbackComments(_ context.Context, _, month string, limit int) ([]Response, error) {
	s.asked = append(s.asked, fmt.Sprintf("%s/%d", month, limit))
	var out []Response
	for i := 0; i < s.comments && i < limit; i++ {
		out = append(out, Response{Answer: Answer{Month: month, Partner: fmt.Sprint("P", i), Score: 5, Comment: "c"}})
	}
	return out, nil
}

func TestReadAddsUpMonthsAndTakesCommentsLatestFirst(t *testing.T) {
	s := &source{counts: map[string]Counts{
		"2025-12": {Responses: 150, Sum: 1200, Promoters: 100, Passives: 30, Detractors: 20},
		"2026-02": {Responses: 150, Sum: 600, Promoters: 20, Passives: 30, Detractors: 100},
	}, comments: 150}
	months, _ := Months("2025-12", "2026-02", now)
	r, err := Read(context.Background(), s, "p1", months)
	if err != nil {
		t.Fatal(err)
	}
	if r.Responses != 300 || *r.NPS != 0 || *r.Average != 6 || len(r.Months) != 3 || r.Months[1].Average != nil {
		t.Fatalf("figures %+v months %+v", r.Figures, r.Months)
	}
	// January has no answers: not read. December fills what February left, up to MaxComments.
	if got := strings.Join(s.asked, " "); got != "2026-02/200 2025-12/50" {
		t.Fatalf("comments read: %s", got)
	}
	if len(r.Comments) != MaxComments || r.Comments[0].Month != "2026-02" || r.Comments[MaxComments-1].Month != "2025-12" {
		t.Fatalf("%d comments, first %+v", len(r.Comments), r.Comments[0])
	}
}
