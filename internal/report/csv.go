package report

import (
	"cmp"
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
// partner, cohort, lift, experiment or variant; key is what the row is
// about (a milestone, a day, a partner code, a month, "referred" or
// "other" deals, an experiment id, "<experiment>:<variant>"; empty for the
// summary); metric names the figure.
var CSVHeader = []string{"program", "from", "to", "section", "key", "metric", "value"}

// WriteCSV writes rep as CSV (CSVHeader, then one row per figure, in a
// fixed order). Amounts are decimal strings in the program's currency (the
// summary's currency row names it); ratios are decimals, empty when not
// defined. Lift rows cover the period; experiment and variant rows an
// experiment's whole life, as the report's pages show them. A cell starting with =, +, -, @, tab or CR is prefixed with '
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
	liftRows(rep.Lift, row)
	for _, e := range rep.Experiments {
		experimentRows(e, row)
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
	add("cost_per_customer", text(rep.CostPerCustomer))
	add("active_partners", n(rep.Partners.Active))
	add("referrals_per_active_partner", ratio(rep.Partners.ReferralsPerActive))
}

// liftRows writes the referred and the other deals' figures (none
// without lift): metric band:<lower bound> counts won other deals by
// amount band, in whole units of the currency.
func liftRows(l *kpis.Lift, row func(section, key, metric, value string)) {
	if l == nil {
		return
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, side := range []struct {
		key string
		d   kpis.DealFigures
	}{{"referred", l.Referred}, {"other", l.Other}} {
		row("lift", side.key, "opened", n(side.d.Opened))
		row("lift", side.key, "deals", n(side.d.Deals))
		row("lift", side.key, "won", n(side.d.Won))
		row("lift", side.key, "win_rate", ratio(side.d.WinRate))
		row("lift", side.key, "median_days_to_close", ratio(side.d.MedianDaysToClose))
		row("lift", side.key, "avg_deal", text(side.d.AvgDeal))
		row("lift", side.key, "enough_data", strconv.FormatBool(side.d.Enough()))
		bands := slices.SortedFunc(maps.Keys(side.d.AmountBands), func(a, b string) int {
			x, _ := strconv.ParseInt(a, 10, 64)
			y, _ := strconv.ParseInt(b, 10, 64)
			return cmp.Or(cmp.Compare(x, y), cmp.Compare(a, b))
		})
		for _, lo := range bands {
			row("lift", side.key, "band:"+lo, n(side.d.AmountBands[lo]))
		}
	}
}

// experimentRows writes an experiment's status and verdict (section
// experiment), then each variant's figures (section variant, key
// "<experiment>:<variant>"): counts, each stage's share with its 95%
// interval (stage:<stage>:count|rate|low|high), the conversion, amounts,
// the ratio to the control with its interval and the variant's verdict.
func experimentRows(e kpis.Experiment, row func(section, key, metric, value string)) {
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	row("experiment", e.ID, "status", e.Status)
	row("experiment", e.ID, "assign", e.Assign)
	row("experiment", e.ID, "control", e.Control)
	row("experiment", e.ID, "verdict", e.Verdict)
	for _, v := range e.Variants {
		add := func(metric, value string) { row("variant", e.ID+":"+v.Name, metric, value) }
		if v.Weight != 0 {
			add("weight", strconv.Itoa(v.Weight))
		}
		add("referrals", n(v.Referrals))
		add("accepted", n(v.Accepted))
		add("rejected", n(v.Rejected))
		add("lost", n(v.Lost))
		add("expired", n(v.Expired))
		add("customers", n(v.Customers))
		for _, s := range v.Stages {
			rateRows(func(m, val string) { add("stage:"+s.Stage+":"+m, val) }, s)
		}
		rateRows(func(m, val string) { add("conversion_"+m, val) }, v.Conversion)
		add("revenue", v.Revenue.Amount)
		add("reward_earned", v.RewardCost.Earned)
		add("reward_paid", v.RewardCost.Paid)
		add("reward_reversed", v.RewardCost.Reversed)
		add("cost_per_customer", text(v.CostPerCustomer))
		var vs [3]string
		if r := v.VsControl; r != nil {
			vs = [3]string{ratio(&r.Ratio), ratio(&r.Low), ratio(&r.High)}
		}
		add("vs_control", vs[0])
		add("vs_control_low", vs[1])
		add("vs_control_high", vs[2])
		add("verdict", v.Verdict)
	}
}

// rateRows writes a share's count, rate and 95% interval.
func rateRows(add func(metric, value string), r kpis.Rate) {
	add("count", strconv.FormatInt(r.Count, 10))
	add("rate", ratio(r.Rate))
	add("low", ratio(r.Low))
	add("high", ratio(r.High))
}

func text(v *string) string {
	if v == nil {
		return ""
	}
	return *v
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
