package storetest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/feedback"
	"github.com/referflow/referflow/internal/store"
)

// TestFeedbackCountsFollowReplacedScores: one answer per partner and
// month; a later answer replaces the score and comment, keeps the first
// time, and moves the score between groups; the month's counts always
// equal what the answers themselves add up to.
func TestFeedbackCountsFollowReplacedScores(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	answer := func(partner string, score int, comment string, at time.Time) *store.FeedbackAnswer {
		t.Helper()
		a, err := st.RecordFeedback(ctx, feedback.Answer{Program: "p1", Month: "2026-02", Partner: partner, Score: score, Comment: comment}, at)
		if err != nil {
			t.Fatalf("answer %s %d: %v", partner, score, err)
		}
		return a
	}
	steps := []struct {
		partner string
		score   int
		comment string
		want    feedback.Counts
	}{
		{"ANN1", 10, "Great program", feedback.Counts{Responses: 1, Sum: 10, Promoters: 1}},
		{"BOB1", 3, "", feedback.Counts{Responses: 2, Sum: 13, Promoters: 1, Detractors: 1}},
		{"CAT1", 7, "", feedback.Counts{Responses: 3, Sum: 20, Promoters: 1, Passives: 1, Detractors: 1}},
		{"BOB1", 9, "Payouts got faster", feedback.Counts{Responses: 3, Sum: 26, Promoters: 2, Passives: 1}},                      // detractor -> promoter
		{"ANN1", 8, "", feedback.Counts{Responses: 3, Sum: 24, Promoters: 1, Passives: 2}},                                        // promoter -> passive, comment removed
		{"CAT1", 8, "", feedback.Counts{Responses: 3, Sum: 25, Promoters: 1, Passives: 2}},                                        // within a group
		{"CAT1", 0, "Nobody answers my emails", feedback.Counts{Responses: 3, Sum: 17, Promoters: 1, Passives: 1, Detractors: 1}}, // passive -> detractor
	}
	at := t0
	for i, step := range steps {
		at = at.Add(time.Hour)
		answer(step.partner, step.score, step.comment, at)
		got := summary(t, st, "2026-02", "2026-02")[0]
		if got.Counts != step.want {
			t.Fatalf("step %d (%s %d): counts %+v, want %+v", i, step.partner, step.score, got.Counts, step.want)
		}
		if re := recount(t, st, "ANN1", "BOB1", "CAT1"); re != got.Counts {
			t.Fatalf("step %d: counts %+v, the answers add up to %+v", i, got.Counts, re)
		}
	}
	bob, err := st.Feedback(ctx, "p1", "2026-02", "BOB1")
	if err != nil || bob.Score != 9 || bob.Answers != 2 || !bob.FirstAt.Equal(t0.Add(2*time.Hour)) || !bob.AnsweredAt.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("BOB1's answer: %+v %v", bob, err)
	}
	comments, err := st.FeedbackComments(ctx, "p1", "2026-02", 10)
	if err != nil || len(comments) != 2 || comments[0].Partner != "CAT1" || comments[1].Partner != "BOB1" || comments[1].Comment != "Payouts got faster" {
		t.Fatalf("comments (latest first, ANN1's removed): %+v %v", comments, err)
	}
	if one, _ := st.FeedbackComments(ctx, "p1", "2026-02", 1); len(one) != 1 || one[0].Partner != "CAT1" {
		t.Fatalf("limit 1: %+v", one)
	}
	// Months without answers are there, with nothing counted; another program is apart.
	months := summary(t, st, "2026-01", "2026-03")
	if len(months) != 3 || months[0].Month != "2026-01" || months[0].Responses != 0 || months[1].Responses != 3 || months[2].Responses != 0 {
		t.Fatalf("three months: %+v", months)
	}
	if other, _ := st.FeedbackSummary(ctx, "p2", "2026-02", "2026-02"); other[0].Responses != 0 {
		t.Fatalf("another program: %+v", other)
	}
}

// TestInvalidFeedbackWritesNothing: a score out of range, a month not
// begun, a comment too long change no answer and no count.
func TestInvalidFeedbackWritesNothing(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	long := make([]byte, feedback.MaxComment+1)
	for i := range long {
		long[i] = 'x'
	}
	for name, a := range map[string]feedback.Answer{
		"score 11":        {Program: "p1", Month: "2026-02", Partner: "ANN1", Score: 11},
		"score -1":        {Program: "p1", Month: "2026-02", Partner: "ANN1", Score: -1},
		"a future month":  {Program: "p1", Month: "2026-04", Partner: "ANN1", Score: 5},
		"a long comment":  {Program: "p1", Month: "2026-02", Partner: "ANN1", Score: 5, Comment: string(long)},
		"a partner blank": {Program: "p1", Month: "2026-02", Score: 5},
	} {
		if _, err := st.RecordFeedback(ctx, a, now); !errors.Is(err, feedback.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := st.Feedback(ctx, "p1", "2026-02", "ANN1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an answer was written: %v", err)
	}
	for _, m := range summary(t, st, "2026-02", "2026-04") {
		if m.Counts != (feedback.Counts{}) {
			t.Errorf("counted: %+v", m)
		}
	}
}

// TestRacingAnswersCountOnce: the same partner answering from two tabs at
// once is one response, holding the last score written.
func TestRacingAnswersCountOnce(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.RecordFeedback(ctx, feedback.Answer{Program: "p1", Month: "2026-02", Partner: "ANN1", Score: i * 2}, now.Add(time.Duration(i)*time.Second))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, store.ErrConflict) { // ErrConflict: the partner sends again
			t.Errorf("a racing answer: %v", err)
		}
	}
	got := summary(t, st, "2026-02", "2026-02")[0].Counts
	if re := recount(t, st, "ANN1"); got.Responses != 1 || got != re {
		t.Fatalf("counts %+v, the answer adds up to %+v", got, re)
	}
}

func summary(t *testing.T, st *store.Store, from, to string) []store.FeedbackMonth {
	t.Helper()
	m, err := st.FeedbackSummary(context.Background(), "p1", from, to)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// recount adds up the partners' stored answers of p1 in 2026-02.
func recount(t *testing.T, st *store.Store, partners ...string) feedback.Counts {
	t.Helper()
	var c feedback.Counts
	for _, p := range partners {
		a, err := st.Feedback(context.Background(), "p1", "2026-02", p)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		c = c.Add(feedback.Change(nil, a.Score))
	}
	return c
}
