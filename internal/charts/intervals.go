package charts

import (
	"html/template"
	"math"
	"strconv"
)

// Estimate is one labelled share with its interval, such as a variant's
// conversion with its 95% interval; Ok false: none (nothing to estimate
// from).
type Estimate struct {
	Label          string
	Value, Low, Hi float64 // shares, 0 to 1
	Ok             bool
	Note           string // written beside the whisker, e.g. "412 referrals"
}

// Intervals compares shares on one horizontal scale: one row per
// estimate, a dot at the value and a whisker from the low to the high
// bound.
type Intervals struct {
	ID, Title, Desc string
	Estimates       []Estimate
}

// HTML renders the rows: a dot (class rf-dot) with a <title> giving the
// value and interval, and a whisker (class rf-whisker) with end caps; the
// scale runs from 0 to a round percent above the highest bound.
func (c Intervals) HTML() template.HTML {
	var b svg
	b.open(c.ID, c.Title, c.Desc)
	rows := make([][]string, 0, len(c.Estimates))
	if len(c.Estimates) == 0 {
		b.empty()
	}
	const labelW, textW = 96.0, 96.0
	plotW := float64(width) - labelW - textW - 8
	top0 := 0.0
	for _, e := range c.Estimates {
		if e.Ok {
			top0 = math.Max(top0, e.Hi)
		}
	}
	scale, step := niceMax(top0 * 100)
	x := func(v float64) float64 { return labelW + math.Max(math.Min(v*100/scale, 1), 0)*plotW }
	axisY := float64(height - bottom)
	rowH := min(44.0, (axisY-8)/float64(max(len(c.Estimates), 1)))
	for v := 0.0; v <= scale+step/2 && len(c.Estimates) > 0; v += step {
		gx := labelW + v/scale*plotW
		b.f(`<line x1="%.1f" x2="%.1f" y1="4" y2="%.1f" stroke="%s" stroke-width="1"/>`, gx, gx, axisY, grid)
		b.f(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%s%%</text>`, gx, axisY+18, axis, esc(Number(v)))
	}
	for i, e := range c.Estimates {
		mid := 4 + rowH*float64(i) + rowH/2
		colour := palette[i%len(palette)]
		b.f(`<text x="%.1f" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="%s">%s</text>`, labelW-8, mid, ink, esc(short(e.Label, 12)))
		row := []string{e.Label, "–", "–", e.Note}
		if e.Ok {
			lo, hi, v := x(e.Low), x(e.Hi), x(e.Value)
			b.f(`<g class="rf-whisker" stroke="%s" stroke-width="2"><line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, colour, lo, hi, mid, mid)
			b.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/><line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/></g>`, lo, lo, mid-6, mid+6, hi, hi, mid-6, mid+6)
			b.f(`<circle class="rf-dot" cx="%.1f" cy="%.1f" r="5" fill="%s"><title>%s: %s (%s to %s)</title></circle>`,
				v, mid, colour, esc(e.Label), percent(e.Value), percent(e.Low), percent(e.Hi))
			row[1], row[2] = percent(e.Value), percent(e.Low)+" to "+percent(e.Hi)
		}
		b.f(`<text x="%.1f" y="%.1f" dominant-baseline="middle" fill="%s">%s</text>`, labelW+plotW+8, mid, ink, esc(short(e.Note, 14)))
		rows = append(rows, row)
	}
	b.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5"/>`, labelW, labelW+plotW, axisY, axisY, axis)
	return b.close(c.Title, []string{"Variant", "Estimate", "95% interval", "Sample"}, rows)
}

// percent writes a share as a percent with one decimal at most.
func percent(v float64) string {
	return trim(strconv.FormatFloat(v*100, 'f', 1, 64)) + "%"
}
