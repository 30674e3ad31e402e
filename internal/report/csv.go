package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	"github.com/referflow/referflow/internal/kpis"
)

// CSVHeader is the first row WriteCSV writes. The CSV is long-form, one
// figure a row, so a spreadsheet's pivot table regroups it freely:
// section is summary, funnel, time_to_milestone, rejected_by, day,
// partner or cohort; key is what the row is about (a milestone, a day, a
// partner code, a month; empty for the summary); metric names the figure.
var CSVHeader = []string{"program", "from", "to", "section", "key", "metric", "value"}

// WriteCSV writes rep as CSV (CSVHeader, then one row per figure, in a
// fixed order). Amounts are decimal strings in the program's currency (the
// summary's currency row names it); ratios are decimals, empty when not
// defined. A cell starting with =, +, -, @, tab or CR is prefixed with '
// so that no spreadsheet runs it.
func WriteCSV(w io.Writer, rep kpis.Report) error {
	cw := csv.NewWriter(w)
	row := func(section, key, metric, value string) {
		_ = cw.Write(safe([]string{rep.Program, rep.From, rep.To, section, key, metric, value}))
	}
	_ = cw.Write(CSVHeader)
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	summary(rep, func(metric, value string) { row("summary", "", metric, value) })
	for _, s := range rep.Funnel {
		row("funnel", s.Milestone, "reached", n(s.Reached))
		row("funnel", s.Milestone, "conversion", ratio(s.Conversion))
	}
	for _, t := range rep.TimeToMilestone {
		row("time_to_milestone", t.Milestone, "count", n(t.Count))
		row("time_to_milestone", t.Milestone, "median_days", ratio(t.MedianDays))
		row("time_to_milestone", t.Milestone, "p90_days", ratio(t.P90Days))
	}
	for _, code := range slices.Sorted(maps.Keys(rep.Referrals.RejectedBy)) {
		row("rejected_by", code, "referrals", n(rep.Referrals.RejectedBy[code]))
	}
	for _, d := range rep.Series {
		row("day", d.Day, "received", n(d.Received))
		row("day", d.Day, "accepted", n(d.Accepted))
		row("day", d.Day, "rejected", n(d.Rejected))
		row("day", d.Day, "customers", n(d.Customers))
		row("day", d.Day, "revenue_minor", n(d.RevenueMinor))
		row("day", d.Day, "paid_minor", n(d.PaidMinor))
	}
	for _, p := range rep.Partners.Top {
		row("partner", p.ReferrerID, "clicks", n(p.Clicks))
		row("partner", p.ReferrerID, "referrals", n(p.Referrals))
		row("partner", p.ReferrerID, "customers", n(p.Customers))
	}
	for _, c := range rep.Cohorts {
		row("cohort", c.Month, "received", n(c.Received))
		for _, m := range slices.Sorted(maps.Keys(c.Reached)) {
			for k, v := range c.Reached[m] {
				row("cohort", c.Month, fmt.Sprintf("reached:%s:%d", m, k), n(v))
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	return nil
}

func summary(rep kpis.Report, add func(metric, value string)) {
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	add("currency", rep.Revenue.Currency)
	add("received", n(rep.Referrals.Received))
	add("accepted", n(rep.Referrals.Accepted))
	add("rejected", n(rep.Referrals.Rejected))
	add("lost", n(rep.Lost))
	add("expired", n(rep.Expired))
	add("customers", n(rep.Customers))
	add("revenue", rep.Revenue.Amount)
	add("reward_earned", rep.RewardCost.Earned)
	add("reward_paid", rep.RewardCost.Paid)
	add("reward_reversed", rep.RewardCost.Reversed)
	add("roi", ratio(rep.ROI))
	cpc := ""
	if rep.CostPerCustomer != nil {
		cpc = *rep.CostPerCustomer
	}
	add("cost_per_customer", cpc)
	add("active_partners", n(rep.Partners.Active))
	add("referrals_per_active_partner", ratio(rep.Partners.ReferralsPerActive))
}

func ratio(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// safe prefixes cells a spreadsheet would read as a formula.
func safe(cells []string) []string {
	for i, c := range cells {
		if c != "" && slices.Contains([]byte("=+-@\t\r"), c[0]) {
			if _, err := strconv.ParseFloat(c, 64); err == nil {
				continue // a negative number stays a number
			}
			cells[i] = "'" + c
		}
	}
	return cells
}
