// Package charts renders the KPI charts as inline SVG on the server: bars
// (referrals per day or week), a funnel (each milestone reached, with the
// conversion from the stage before), lines (cumulative revenue against
// reward cost), a histogram (time to a milestone in buckets) and a cohort
// heat table.
//
// Guarantees: the output needs no JavaScript, no font and no request to any
// host; it uses no style attributes (so it passes a strict
// Content-Security-Policy: colours are SVG presentation attributes or classes
// of [Stylesheet]); every chart is an <svg role="img" aria-labelledby> whose
// <title> and <desc> name it, followed by the same figures as a table hidden
// from sight but not from screen readers; every text taken from the caller
// (labels, series names, titles) is HTML-escaped; the drawing scales to its
// container through its viewBox and keeps its text readable at 360 px.
//
// Why not a library: the Go module proxy offers SVG chart libraries
// (github.com/go-analyze/charts, gonum.org/v1/plot with vgsvg), but they draw
// text with fonts of their own, emit no ARIA roles, titles or descriptions,
// give no tabular alternative and fix the drawing's pixel size; adding those
// would mean post-processing their SVG. The five charts here are a few
// hundred lines of plain SVG.
package charts

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Point is one labelled value of a chart.
type Point struct {
	Label string
	Value float64
}

// Geometry of every SVG chart, in viewBox units. The box is narrow so that
// 13-unit text stays about 10 px high on a 360 px wide phone.
const (
	width    = 420
	height   = 250
	left     = 52
	right    = 12
	top      = 24
	bottom   = 40
	fontSize = 13
	maxTicks = 6 // at most this many labels along the x axis
)

// Colours meet WCAG AA contrast (4.5:1) on white, and each series also has
// its own dash pattern so that colour is never the only difference.
var (
	ink     = "#16181d"
	axis    = "#4a5060"
	grid    = "#d5d9e0"
	palette = []string{"#0b57d0", "#a8420f", "#146c2e", "#6b3fa0"}
	dashes  = []string{"", "6 4", "2 3", "8 3 2 3"}
)

// Stylesheet is the CSS the charts rely on: the hidden figure tables, the
// responsive drawing and the cohort shades (text on every shade meets WCAG
// AA contrast). Pages serve it with their own stylesheet.
const Stylesheet = `.rf-chart { margin: 0 0 1.25rem; position: relative; overflow: hidden; }
.rf-chart svg { display: block; width: 100%; height: auto; max-width: 42rem; }
.rf-chart figcaption { font-weight: 600; margin: 0 0 .35rem; color: #16181d; }
.rf-visually-hidden { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.rf-cohort-wrap { overflow-x: auto; }
.rf-cohort { border-collapse: collapse; font-variant-numeric: tabular-nums; }
.rf-cohort caption { text-align: left; font-weight: 600; margin: 0 0 .35rem; }
.rf-cohort th, .rf-cohort td { padding: .35rem .6rem; text-align: right; border: 1px solid #fff; }
.rf-cohort th[scope=row], .rf-cohort thead th:first-child { text-align: left; }
.rf-heat-none { background: #f4f5f7; color: #4a5060; }
.rf-heat-0 { background: #f1f5fd; color: #16181d; }
.rf-heat-1 { background: #dbe6fb; color: #16181d; }
.rf-heat-2 { background: #c3d5f7; color: #16181d; }
.rf-heat-3 { background: #a4bff2; color: #16181d; }
.rf-heat-4 { background: #7ea3ea; color: #16181d; }
.rf-heat-5 { background: #4f80dc; color: #fff; }
.rf-heat-6 { background: #2f66cc; color: #fff; }
.rf-heat-7 { background: #1a52b8; color: #fff; }
.rf-heat-8 { background: #0f419a; color: #fff; }
.rf-heat-9 { background: #0a327a; color: #fff; }
.rf-heat-10 { background: #072457; color: #fff; }
`

// esc escapes text for HTML and SVG content and attributes.
func esc(s string) string { return template.HTMLEscapeString(s) }

// svg accumulates one chart's markup.
type svg struct{ strings.Builder }

func (b *svg) f(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }

// open writes the figure, the visible caption and the SVG element with its
// accessible name and description.
func (b *svg) open(id, title, desc string) {
	id = esc(id)
	b.f(`<figure class="rf-chart" id="%s">`, id)
	b.f(`<figcaption id="%s-caption">%s</figcaption>`, id, esc(title))
	b.f(`<svg role="img" aria-labelledby="%s-title %s-desc" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMidYMid meet" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif" font-size="%d">`, id, id, width, height, fontSize)
	b.f(`<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, esc(title), id, esc(desc))
}

// close ends the SVG, writes the figures as a hidden table and ends the figure.
func (b *svg) close(title string, head []string, rows [][]string) template.HTML {
	b.f(`</svg>`)
	b.f(`<table class="rf-visually-hidden"><caption>%s</caption><thead><tr>`, esc(title))
	for _, h := range head {
		b.f(`<th scope="col">%s</th>`, esc(h))
	}
	b.f(`</tr></thead><tbody>`)
	for _, r := range rows {
		b.f(`<tr>`)
		for i, c := range r {
			if i == 0 {
				b.f(`<th scope="row">%s</th>`, esc(c))
			} else {
				b.f(`<td>%s</td>`, esc(c))
			}
		}
		b.f(`</tr>`)
	}
	b.f(`</tbody></table></figure>`)
	return template.HTML(b.String()) //nolint:gosec // every caller text went through esc
}

// empty draws the "no data" notice in place of a plot.
func (b *svg) empty() {
	b.f(`<text x="%d" y="%d" text-anchor="middle" fill="%s">No data for this period</text>`, width/2, height/2, axis)
}

// niceMax returns a round upper bound ≥ max and the step between ticks, so
// that the y axis shows about four round values.
func niceMax(max float64) (top, step float64) {
	if !(max > 0) || math.IsInf(max, 0) {
		return 1, 0.25
	}
	raw := max / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		step = m * mag
		if step >= raw {
			break
		}
	}
	return math.Ceil(max/step-1e-9) * step, step
}

// Number formats a value for axes and tables: whole numbers without
// decimals, thousands as "12.5k", millions as "3.1M", others with at most
// two decimals.
func Number(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return trim(strconv.FormatFloat(v/1e6, 'f', 1, 64)) + "M"
	case a >= 1e4:
		return trim(strconv.FormatFloat(v/1e3, 'f', 1, 64)) + "k"
	case v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return trim(strconv.FormatFloat(v, 'f', 2, 64))
	}
}

func trim(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// yAxis draws the horizontal grid lines with their values and returns the
// function that maps a value to its y coordinate.
func (b *svg) yAxis(max float64, unit string) func(float64) float64 {
	top0, step := niceMax(max)
	ph := float64(height - top - bottom)
	y := func(v float64) float64 { return float64(height-bottom) - v/top0*ph }
	for v := 0.0; v <= top0+step/2; v += step {
		b.f(`<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1"/>`, left, width-right, y(v), y(v), grid)
		b.f(`<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="%s">%s</text>`, left-6, y(v), axis, esc(Number(v)))
	}
	if unit != "" {
		b.f(`<text x="4" y="%d" fill="%s">%s</text>`, top-10, axis, esc(unit))
	}
	b.f(`<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="1.5"/>`, left, width-right, height-bottom, height-bottom, axis)
	return y
}

// xLabels writes at most maxTicks labels under the bands or points at xs.
func (b *svg) xLabels(labels []string, xs []float64) {
	every := (len(labels) + maxTicks - 1) / maxTicks
	for i, l := range labels {
		if every > 1 && i%every != 0 && i != len(labels)-1 {
			continue
		}
		if every > 1 && i == len(labels)-1 && i%every != 0 && i-(i/every)*every < every/2+1 {
			continue // the last label would touch the one before
		}
		b.f(`<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s"/>`, xs[i], xs[i], height-bottom, height-bottom+4, axis)
		x, anchor := xs[i], "middle"
		if x > width-right-24 { // the last label ends at the edge instead of past it
			x, anchor = width-2, "end"
		}
		b.f(`<text x="%.1f" y="%d" text-anchor="%s" fill="%s">%s</text>`, x, height-bottom+18, anchor, ink, esc(short(l, 12)))
	}
}

// short cuts s to n runes with an ellipsis; the hidden table keeps it whole.
func short(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// maxOf returns the largest value, or 0.
func maxOf(vs []float64) float64 {
	m := 0.0
	for _, v := range vs {
		if v > m && !math.IsInf(v, 0) {
			m = v
		}
	}
	return m
}

func sprint(format string, args ...any) string { return fmt.Sprintf(format, args...) }
