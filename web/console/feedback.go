package console

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/charts"
	"github.com/referflow/referflow/internal/feedback"
)

// FeedbackReader reads partners' answers to the monthly summary's
// question (the store; GET /admin/feedback reads the same through
// feedback.Read).
type FeedbackReader = feedback.Source

func init() {
	Register(Section{Prefix: "/feedback", Nav: "KPIs", Serve: (*Handler).feedbackPage})
}

// feedbackData is what templates/feedback.html shows.
type feedbackData struct {
	Program, From, To string
	Programs          []string
	Problem           string // why the period cannot be shown
	Report            *feedback.Report
	Answers, Groups   template.HTML // the charts
}

// feedbackPage answers GET /console/feedback?program=&from=YYYY-MM&to=YYYY-MM
// (default: the 12 months up to this one): the program's satisfaction
// score (NPS, average, groups), per month with charts, and the partners'
// comments with their codes. It only reads.
func (h *Handler) feedbackPage(r *Request) apigw.Response {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return h.ErrorPage(r, http.StatusMethodNotAllowed, "This page cannot do that", "The feedback page only shows figures.")
	}
	if r.Path != "/feedback" {
		return h.NotFound(r)
	}
	d := feedbackData{Program: strings.ToLower(r.Query("program")), From: r.Query("from"), To: r.Query("to"), Programs: h.ProgramIDs}
	if d.Program == "" && len(h.ProgramIDs) > 0 {
		d.Program = h.ProgramIDs[0]
	}
	months, err := feedback.Months(d.From, d.To, h.Now())
	switch {
	case d.Program == "":
		d.Problem = "Choose a program."
	case err != nil:
		d.Problem = "These months cannot be shown: " + strings.TrimPrefix(err.Error(), feedback.ErrInvalid.Error()+": ") + "."
	}
	if d.Problem != "" {
		return h.Render(r, http.StatusBadRequest, "feedback", "Partner feedback", d)
	}
	if h.Feedback == nil {
		r.Log.Error("feedback: no feedback reader configured")
		return h.Unavailable(r)
	}
	rep, err := feedback.Read(r.Ctx, h.Feedback, d.Program, months)
	if err != nil {
		r.Log.Error("read feedback failed", "program_id", d.Program, "error", err)
		return h.Unavailable(r)
	}
	d.Report, d.From, d.To = rep, rep.From, rep.To
	d.Answers, d.Groups = feedbackCharts(rep)
	return h.Render(r, http.StatusOK, "feedback", "Partner feedback", d)
}

// feedbackCharts draws the answers per month and the three groups per month.
func feedbackCharts(rep *feedback.Report) (answers, groups template.HTML) {
	labels := make([]string, len(rep.Months))
	points := make([]charts.Point, len(rep.Months))
	pro, pas, det := make([]float64, len(rep.Months)), make([]float64, len(rep.Months)), make([]float64, len(rep.Months))
	for i, m := range rep.Months {
		labels[i] = m.Month
		points[i] = charts.Point{Label: m.Month, Value: float64(m.Responses)}
		pro[i], pas[i], det[i] = float64(m.Promoters), float64(m.Passives), float64(m.Detractors)
	}
	answers = charts.Bars{ID: "fb-answers", Title: "Answers per month", Desc: "How many partners answered the question about each month.",
		Unit: "answers", Points: points}.HTML()
	groups = charts.Lines{ID: "fb-groups", Title: "Promoters, passives and detractors", Desc: "Partners who answered 9–10, 7–8 and 0–6, per month.",
		Unit: "partners", Labels: labels, Series: []charts.Series{{Name: "Promoters", Values: pro},
			{Name: "Passives", Values: pas}, {Name: "Detractors", Values: det}}}.HTML()
	return answers, groups
}
