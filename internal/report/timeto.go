package report

import (
	"html/template"
	"strconv"

	"github.com/referflow/referflow/internal/charts"
	"github.com/referflow/referflow/internal/kpis"
)

// timeTo charts the median days from reception to each milestone (the
// lower bound of the histogram bucket holding the median: kpis.TimeTo),
// then the distribution of the days to the last milestone any referral
// reached in the period: how long referrals take to become customers.
func timeTo(rep kpis.Report, ids string) template.HTML {
	var pts []charts.Point
	for _, t := range rep.TimeToMilestone {
		v := 0.0
		if t.MedianDays != nil {
			v = *t.MedianDays
		}
		pts = append(pts, charts.Point{Label: t.Milestone, Value: v})
	}
	out := charts.Bars{ID: ids + "timeto", Title: "Median days from referral to each milestone", Unit: "days", Points: pts,
		Desc: "Bars, one per milestone in order: the median number of days from a referral's reception to reaching it, for the referrals that reached it in the period."}.HTML()
	for i := len(rep.TimeToMilestone) - 1; i >= 0; i-- {
		if t := rep.TimeToMilestone[i]; len(t.Buckets) > 0 {
			return out + distribution(t, ids)
		}
	}
	return out
}

// distribution is the histogram of t's buckets, labelled in days.
func distribution(t kpis.TimeTo, ids string) template.HTML {
	pts := make([]charts.Point, 0, len(t.Buckets))
	for _, b := range t.Buckets {
		pts = append(pts, charts.Point{Label: bucketLabel(b), Value: float64(b.Count)})
	}
	return charts.Histogram{ID: ids + "timeto-dist", Title: "Days from referral to " + t.Milestone, Unit: "referrals", Buckets: pts,
		Desc: "Bars, one per span of days, in order: how many of the referrals that reached " + t.Milestone +
			" in the period took that many days from their reception (only spans that hold a referral)."}.HTML()
}

// bucketLabel says a bucket's days: "3", "14–20", "361+".
func bucketLabel(b kpis.DaysBucket) string {
	from := strconv.Itoa(b.FromDays)
	switch {
	case b.ToDays == nil:
		return from + "+"
	case *b.ToDays == b.FromDays:
		return from
	}
	return from + "–" + strconv.Itoa(*b.ToDays)
}
