package feedback

import (
	"context"
	"time"
)

// Response is a partner's recorded answer for a program and month.
type Response struct {
	Answer
	FirstAt    time.Time // when the partner first answered for the month
	AnsweredAt time.Time // when the partner last answered (the score and comment are this answer's)
	Answers    int       // how many times the partner answered for the month
}

// MonthCounts are a program's answers of one month added up.
type MonthCounts struct {
	Month string
	Counts
}

// Source reads what partners answered (internal/store keeps it).
type Source interface {
	// FeedbackSummary is the counts of each month from fromMonth to
	// toMonth, both included, oldest first, months without answers too.
	FeedbackSummary(ctx context.Context, programID, fromMonth, toMonth string) ([]MonthCounts, error)
	// FeedbackComments is up to limit answers of the month with a
	// comment, the latest first.
	FeedbackComments(ctx context.Context, programID, month string, limit int) ([]Response, error)
}

// MaxComments is how many comments a Report holds at most.
const MaxComments = 200

// Figures are a set of answers added up, as operators read them.
type Figures struct {
	Responses  int64    `json:"responses"`
	Average    *float64 `json:"average"` // null without answers
	NPS        *float64 `json:"nps"`     // -100 to 100; null without answers
	Promoters  int64    `json:"promoters"`
	Passives   int64    `json:"passives"`
	Detractors int64    `json:"detractors"`
}

// FiguresOf says c as Figures.
func FiguresOf(c Counts) Figures {
	return Figures{Responses: c.Responses, Average: c.Average(), NPS: c.NPS(),
		Promoters: c.Promoters, Passives: c.Passives, Detractors: c.Detractors}
}

// MonthFigures are one month's figures.
type MonthFigures struct {
	Month string `json:"month"`
	Figures
}

// Comment is a partner's comment, naming the partner by its code (its
// lifelong key) so an operator can follow up, never by email.
type Comment struct {
	Month      string    `json:"month"`
	Partner    string    `json:"partner"`
	Score      int       `json:"score"`
	Comment    string    `json:"comment"`
	AnsweredAt time.Time `json:"answered_at"`
}

// Report is a program's feedback over a period: its figures, each
// month's, and the comments, latest months first (GET /admin/feedback and
// the console read the same).
type Report struct {
	Program string `json:"program"`
	From    string `json:"from"`
	To      string `json:"to"`
	Figures
	Months   []MonthFigures `json:"months"`
	Comments []Comment      `json:"comments"`
}

// Read makes the Report of program over months (from Months: oldest
// first, at least one): one counts read for the period, then the comments
// of the months that have answers, latest month first, up to MaxComments.
func Read(ctx context.Context, src Source, program string, months []string) (*Report, error) {
	counted, err := src.FeedbackSummary(ctx, program, months[0], months[len(months)-1])
	if err != nil {
		return nil, err
	}
	r := &Report{Program: program, From: months[0], To: months[len(months)-1], Months: []MonthFigures{}, Comments: []Comment{}}
	var total Counts
	for _, m := range counted {
		total = total.Add(m.Counts)
		r.Months = append(r.Months, MonthFigures{Month: m.Month, Figures: FiguresOf(m.Counts)})
	}
	r.Figures = FiguresOf(total)
	for i := len(counted) - 1; i >= 0 && len(r.Comments) < MaxComments; i-- {
		if counted[i].Responses == 0 {
			continue
		}
		cs, err := src.FeedbackComments(ctx, program, counted[i].Month, MaxComments-len(r.Comments))
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			r.Comments = append(r.Comments, Comment{Month: c.Month, Partner: c.Partner, Score: c.Score, Comment: c.Comment, AnsweredAt: c.AnsweredAt})
		}
	}
	return r, nil
}
