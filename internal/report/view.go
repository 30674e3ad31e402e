// Package report turns a program's KPIs (kpis.Report) into what people
// read: the figures and charts of the console's KPI page (NewView), one
// self-contained HTML file (Write) and a CSV (WriteCSV).
//
// Guarantees: Write's file has its CSS and its charts (inline SVG, from
// internal/charts) inside it and no reference to any other host, no
// script; every text from the report (program name, milestones, partner
// codes, reasons) is escaped; WriteCSV neutralises cells a spreadsheet
// would run as a formula. Both are pure: same report, same bytes.
package report

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/referflow/referflow/internal/charts"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/money"
)

// Tile is one headline figure.
type Tile struct {
	Label, Value, Note string
}

// Reason is a rejection reason and how many referrals it rejected.
type Reason struct {
	Code  string
	Count int64
}

// View is what a page shows of a report: headline figures, the charts
// (rendered, escaped HTML) and the tables.
type View struct {
	Program  string // the program's name, or its id
	From, To string // YYYY-MM-DD, both included
	Group    string // how the bars group days: day, week or month
	Tiles    []Tile
	// Charts, each a figure with its accessible name and hidden table.
	Volume, Funnel, Money, TimeTo, Cohorts template.HTML
	Times                                  []TimeRow
	Reasons                                []Reason
	Top                                    []kpis.PartnerFigures
	Lift                                   *kpis.Lift
	Currency                               string
	IDs                                    string // the prefix of the view's element ids
	Report                                 kpis.Report
}

// TimeRow is a milestone's time to reach it, written for people.
type TimeRow struct {
	Milestone, Median, P90 string
	Count                  int64
}

// NewView prepares report rep for a page. program is the program's name
// ("" shows its id); group is how the volume chart groups days ("day",
// "week" or "month"; anything else chooses from the period's length).
// ids prefixes the charts' element ids so two views can share a page.
func NewView(rep kpis.Report, program, group, ids string) View {
	if program == "" {
		program = rep.Program
	}
	group = Grouping(group, rep.From, rep.To)
	v := View{Program: program, From: rep.From, To: rep.To, Group: group, Report: rep,
		Currency: rep.Revenue.Currency, IDs: ids, Top: rep.Partners.Top, Lift: rep.Lift}
	v.Tiles = tiles(rep)
	for code, n := range rep.Referrals.RejectedBy {
		v.Reasons = append(v.Reasons, Reason{code, n})
	}
	slices.SortFunc(v.Reasons, func(a, b Reason) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code)) })
	for _, t := range rep.TimeToMilestone {
		v.Times = append(v.Times, TimeRow{Milestone: t.Milestone, Count: t.Count, Median: days(t.MedianDays, t.MedianWidthDays), P90: days(t.P90Days, t.P90WidthDays)})
	}
	v.Volume, v.Money = volume(rep, group, ids), moneyChart(rep, group, ids)
	v.Funnel, v.TimeTo, v.Cohorts = funnel(rep, ids), timeTo(rep, ids), cohorts(rep, ids)
	return v
}

// Grouping returns group if it is day, week or month; otherwise days for
// up to 31 days, weeks up to 26 weeks, months beyond.
func Grouping(group, from, to string) string {
	switch group {
	case "day", "week", "month":
		return group
	}
	f, err1 := time.Parse(time.DateOnly, from)
	t, err2 := time.Parse(time.DateOnly, to)
	n := t.Sub(f).Hours() / 24
	switch {
	case err1 != nil || err2 != nil || n < 31:
		return "day"
	case n < 182:
		return "week"
	}
	return "month"
}

func tiles(rep kpis.Report) []Tile {
	cur := rep.Revenue.Currency
	roi := "–"
	if rep.ROI != nil {
		roi = strconv.FormatFloat(math.Round(*rep.ROI*100), 'f', 0, 64) + "%"
	}
	cpc := "–"
	if rep.CostPerCustomer != nil {
		cpc = *rep.CostPerCustomer + " " + cur
	}
	perPartner := "–"
	if rep.Partners.ReferralsPerActive != nil {
		perPartner = charts.Number(math.Round(*rep.Partners.ReferralsPerActive*10) / 10)
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []Tile{
		{"Referrals received", n(rep.Referrals.Received), ""},
		{"Accepted", n(rep.Referrals.Accepted), n(rep.Referrals.Rejected) + " rejected"},
		{"Customers won", n(rep.Customers), fmt.Sprintf("%d lost, %d expired", rep.Lost, rep.Expired)},
		{"Revenue attributed", rep.Revenue.Amount + " " + cur, ""},
		{"Rewards paid", rep.RewardCost.Paid + " " + cur, "earned " + rep.RewardCost.Earned + ", reversed " + rep.RewardCost.Reversed},
		{"Return on rewards", roi, "revenue over net reward cost"},
		{"Cost per customer", cpc, ""},
		{"Active partners", n(rep.Partners.Active), perPartner + " referrals each"},
	}
}

// days writes a bucketed number of days: "3 days", "14–20 days", "361+ days".
func days(lo *float64, width int) string {
	if lo == nil {
		return "–"
	}
	l := int(*lo)
	switch {
	case width == 0:
		return strconv.Itoa(l) + "+ days"
	case width == 1 && l == 1:
		return "1 day"
	case width == 1:
		return strconv.Itoa(l) + " days"
	}
	return fmt.Sprintf("%d–%d days", l, l+width-1)
}

// bucket is the days of the series grouped for a chart.
type bucket struct {
	label string
	kpis.DayPoint
}

// group sums the report's days by day, week (from Monday) or month.
func group(series []kpis.DayPoint, by string) []bucket {
	var out []bucket
	index := map[string]int{}
	for _, d := range series {
		t, err := time.Parse(time.DateOnly, d.Day)
		if err != nil {
			continue
		}
		key, label := d.Day, t.Format("Jan 2")
		switch by {
		case "week":
			t = t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
			key, label = t.Format(time.DateOnly), t.Format("Jan 2")
		case "month":
			key, label = t.Format("2006-01"), t.Format("Jan 2006")
		}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, bucket{label: label})
		}
		b := &out[i]
		b.Received += d.Received
		b.Accepted += d.Accepted
		b.Rejected += d.Rejected
		b.Customers += d.Customers
		b.RevenueMinor += d.RevenueMinor
		b.PaidMinor += d.PaidMinor
	}
	return out
}

func volume(rep kpis.Report, by, ids string) template.HTML {
	var pts []charts.Point
	for _, b := range group(rep.Series, by) {
		pts = append(pts, charts.Point{Label: b.label, Value: float64(b.Received)})
	}
	return charts.Bars{ID: ids + "volume", Title: "Referrals received per " + by, Unit: "referrals",
		Desc:   fmt.Sprintf("Bar chart: %d referrals received from %s to %s, per %s.", rep.Referrals.Received, rep.From, rep.To, by),
		Points: pts}.HTML()
}

func funnel(rep kpis.Report, ids string) template.HTML {
	stages := []charts.Stage{{Label: "accepted", Count: rep.Referrals.Accepted}}
	for _, s := range rep.Funnel {
		stages = append(stages, charts.Stage{Label: s.Milestone, Count: s.Reached})
	}
	return charts.Funnel{ID: ids + "funnel", Title: "Funnel: referrals reaching each milestone", Stages: stages,
		Desc: "Horizontal bars: accepted referrals, then each milestone in order, with the conversion from the stage before."}.HTML()
}

func moneyChart(rep kpis.Report, by, ids string) template.HTML {
	cur := rep.Revenue.Currency
	scale := math.Pow10(money.Digits(cur))
	var labels []string
	rev, paid := charts.Series{Name: "Revenue"}, charts.Series{Name: "Rewards paid"}
	var r, p int64
	for _, b := range group(rep.Series, by) {
		r, p = r+b.RevenueMinor, p+b.PaidMinor
		labels = append(labels, b.label)
		rev.Values = append(rev.Values, float64(r)/scale)
		paid.Values = append(paid.Values, float64(p)/scale)
	}
	return charts.Lines{ID: ids + "money", Title: "Revenue and reward cost, cumulative", Unit: cur, Labels: labels,
		Series: []charts.Series{rev, paid},
		Desc:   fmt.Sprintf("Two lines: revenue attributed (%s %s in all) and rewards paid (%s %s), added up over the period.", rep.Revenue.Amount, cur, rep.RewardCost.Paid, cur)}.HTML()
}

func cohorts(rep kpis.Report, ids string) template.HTML {
	last := ""
	if n := len(rep.Funnel); n > 0 {
		last = rep.Funnel[n-1].Milestone
	}
	width := 0
	for _, c := range rep.Cohorts {
		width = max(width, len(c.Share[last]))
	}
	cols := make([]string, width)
	for i := range cols {
		cols[i] = "month " + strconv.Itoa(i)
	}
	var rows []charts.CohortRow
	for _, c := range rep.Cohorts {
		row := charts.CohortRow{Label: c.Month, Size: c.Received}
		for i := range width {
			s := math.NaN()
			if i < len(c.Share[last]) {
				s = c.Share[last][i]
			}
			row.Shares = append(row.Shares, s)
		}
		rows = append(rows, row)
	}
	return charts.Cohorts{ID: ids + "cohorts", Title: "Monthly cohorts: share that reached " + cmp.Or(last, "the last milestone"), Columns: cols, Rows: rows,
		Desc: "Each row is the referrals received in one month; each column the share of them that had reached the last milestone by that many months after their month."}.HTML()
}
