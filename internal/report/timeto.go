package report

import (
	"html/template"

	"github.com/referflow/referflow/internal/charts"
	"github.com/referflow/referflow/internal/kpis"
)

// timeTo charts the median days from reception to each milestone (the
// lower bound of the histogram bucket holding the median: kpis.TimeTo).
func timeTo(rep kpis.Report, ids string) template.HTML {
	var pts []charts.Point
	for _, t := range rep.TimeToMilestone {
		v := 0.0
		if t.MedianDays != nil {
			v = *t.MedianDays
		}
		pts = append(pts, charts.Point{Label: t.Milestone, Value: v})
	}
	return charts.Histogram{ID: ids + "timeto", Title: "Median days from referral to each milestone", Unit: "days", Buckets: pts,
		Desc: "Bars, one per milestone in order: the median number of days from a referral's reception to reaching it, for the referrals that reached it in the period."}.HTML()
}
