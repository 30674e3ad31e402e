package report

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"

	"github.com/referflow/referflow/internal/charts"
	"github.com/referflow/referflow/internal/kpis"
)

// ExperimentView is an experiment as a page shows it: a table per
// variant's figures with their intervals, a chart of the conversions with
// their whiskers and the verdict (templates "experiment" of report.html).
type ExperimentView struct {
	kpis.Experiment
	Anchor   string   // the section's element id
	Currency string   // of the amounts
	Stages   []string // the stages' names, columns of the table
	Rows     []VariantRow
	Chart    template.HTML
}

// VariantRow is one variant's line of the table, written for people.
type VariantRow struct {
	Name, Referrals, Customers string
	Stages                     []string // "45.2% (38.1–52.5%)"
	VsControl                  string   // "1.8x (1.3x–2.5x)", "control"
	CostPerCustomer, Revenue   string
}

// Experiments are the report's experiments prepared for the page (the
// "figures" template shows them after the other figures).
func (v View) Experiments() []ExperimentView {
	out := make([]ExperimentView, 0, len(v.Report.Experiments))
	for _, e := range v.Report.Experiments {
		out = append(out, NewExperimentView(e, v.IDs))
	}
	return out
}

// NewExperimentView prepares experiment e for a page; ids prefixes its
// element ids.
func NewExperimentView(e kpis.Experiment, ids string) ExperimentView {
	ev := ExperimentView{Experiment: e, Anchor: ids + "exp-" + e.ID}
	if len(e.Variants) > 0 {
		ev.Currency = e.Variants[0].Revenue.Currency
		for _, s := range e.Variants[0].Stages {
			ev.Stages = append(ev.Stages, s.Stage)
		}
	}
	var est []charts.Estimate
	for _, vf := range e.Variants {
		ev.Rows = append(ev.Rows, variantRow(vf))
		es := charts.Estimate{Label: vf.Name, Note: referralsNote(vf.Referrals)}
		if c := vf.Conversion; c.Rate != nil && c.Low != nil {
			es.Value, es.Low, es.Hi, es.Ok = *c.Rate, *c.Low, *c.High, true
		}
		est = append(est, es)
	}
	ev.Chart = charts.Intervals{ID: ev.Anchor + "-chart", Title: "Experiment " + e.ID + ": conversion to customer by variant",
		Desc:      "One row per variant: a dot at the share of its referrals that became customers, a whisker over the 95% interval. " + e.Verdict + ".",
		Estimates: est}.HTML()
	return ev
}

func variantRow(v kpis.VariantFigures) VariantRow {
	r := VariantRow{Name: v.Name, Referrals: strconv.FormatInt(v.Referrals, 10), Customers: strconv.FormatInt(v.Customers, 10),
		VsControl: "control", Revenue: v.Revenue.Amount, CostPerCustomer: "–"}
	for _, s := range v.Stages {
		r.Stages = append(r.Stages, share(s))
	}
	if v.CostPerCustomer != nil {
		r.CostPerCustomer = *v.CostPerCustomer
	}
	switch {
	case v.VsControl != nil:
		r.VsControl = fmt.Sprintf("%sx (%sx–%sx)", kpis.Times(v.VsControl.Ratio), kpis.Times(v.VsControl.Low), kpis.Times(v.VsControl.High))
	case v.Verdict != "":
		r.VsControl = "–"
	}
	return r
}

// share writes a rate and its interval: "45.2% (38.1–52.5%)", "–" without
// a base.
func share(r kpis.Rate) string {
	if r.Rate == nil {
		return "–"
	}
	s := pct1(*r.Rate)
	if r.Low != nil && r.High != nil {
		s += " (" + strings.TrimSuffix(pct1(*r.Low), "%") + "–" + pct1(*r.High) + ")"
	}
	return s
}

func pct1(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64) + "%"
}

// ExperimentFigures renders one experiment's section (its table, chart and
// verdict) for a page of the caller's, such as the console's experiments
// page; ids prefixes its element ids.
func ExperimentFigures(e kpis.Experiment, ids string) (template.HTML, error) {
	var b strings.Builder
	if err := page.ExecuteTemplate(&b, "experiment", NewExperimentView(e, ids)); err != nil {
		return "", fmt.Errorf("report: experiment: %w", err)
	}
	return template.HTML(b.String()), nil //nolint:gosec // html/template output
}

// referralsNote counts n referrals in words: "1 referral", "12 referrals".
func referralsNote(n int64) string {
	if n == 1 {
		return "1 referral"
	}
	return strconv.FormatInt(n, 10) + " referrals"
}
