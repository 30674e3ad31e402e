package charts

import (
	"html/template"
	"math"
	"strconv"
)

// CohortRow is one cohort (the referrals of one month): its size and, per
// column, the share (0 to 1) that had reached the milestone after that many
// months; NaN where the time has not come yet.
type CohortRow struct {
	Label  string
	Size   int64
	Shares []float64
}

// Cohorts is a heat table of cohorts against months since referral.
type Cohorts struct {
	ID, Title, Desc string
	Columns         []string // "after 1 month", "after 2 months", ...
	Rows            []CohortRow
}

// HTML renders an HTML table (class rf-cohort); each share cell carries the
// class rf-heat-0 … rf-heat-10 for its shade (tenths, rounded) and its
// value as text, so the colour is never the only carrier of the figure.
func (c Cohorts) HTML() template.HTML {
	var b svg
	b.f(`<div class="rf-cohort-wrap" id="%s" tabindex="0" role="region" aria-label="%s"><table class="rf-cohort" aria-describedby="%s-desc"><caption>%s</caption>`, esc(c.ID), esc(c.Title), esc(c.ID), esc(c.Title))
	b.f(`<thead><tr><th scope="col">Cohort</th><th scope="col">Referrals</th>`)
	for _, col := range c.Columns {
		b.f(`<th scope="col">%s</th>`, esc(col))
	}
	b.f(`</tr></thead><tbody>`)
	for _, r := range c.Rows {
		b.f(`<tr><th scope="row">%s</th><td>%d</td>`, esc(r.Label), r.Size)
		for i := range c.Columns {
			share := math.NaN()
			if i < len(r.Shares) {
				share = r.Shares[i]
			}
			cls, text := Shade(share)
			b.f(`<td class="%s">%s</td>`, cls, esc(text))
		}
		b.f(`</tr>`)
	}
	if len(c.Rows) == 0 {
		b.f(`<tr><td colspan="%d">No data for this period</td></tr>`, len(c.Columns)+2)
	}
	b.f(`</tbody></table><p class="rf-visually-hidden" id="%s-desc">%s</p></div>`, esc(c.ID), esc(c.Desc))
	return template.HTML(b.String()) //nolint:gosec // every caller text went through esc
}

// Shade returns the cell class and text of a share: rf-heat-N for N tenths
// and a whole percentage, or rf-heat-none and "–" for a share not known yet.
func Shade(share float64) (class, text string) {
	if math.IsNaN(share) || math.IsInf(share, 0) {
		return "rf-heat-none", "–"
	}
	share = min(max(share, 0), 1)
	return "rf-heat-" + strconv.Itoa(int(math.Round(share*10))), strconv.Itoa(int(math.Round(share*100))) + "%"
}
