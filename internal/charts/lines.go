package charts

import (
	"html/template"
	"strings"
)

// Series is one line of a line chart: a name and one value per x label.
type Series struct {
	Name   string
	Values []float64
}

// Lines is a line chart of one or more series over the same x labels, such
// as cumulative revenue against cumulative reward cost.
type Lines struct {
	ID, Title, Desc string
	Unit            string   // what the values are ("EUR")
	Labels          []string // the x axis, in order
	Series          []Series // at most four are told apart by colour and dash
}

// HTML renders one <polyline class="rf-line"> per series with a legend; each
// series has its own colour and dash pattern. Values missing at the end of
// a series are not drawn.
func (c Lines) HTML() template.HTML {
	var b svg
	b.open(c.ID, c.Title, c.Desc)
	var all []float64
	for _, s := range c.Series {
		all = append(all, s.Values...)
	}
	if len(c.Labels) == 0 || len(all) == 0 {
		b.empty()
	} else {
		y := b.yAxis(maxOf(all), c.Unit)
		step := float64(width-left-right-16) / float64(max(len(c.Labels)-1, 1))
		xs := make([]float64, len(c.Labels))
		for i := range c.Labels {
			xs[i] = float64(left) + 8 + step*float64(i)
		}
		for si, s := range c.Series {
			b.line(si, s, xs, y)
		}
		b.xLabels(c.Labels, xs)
		b.legend(c.Series)
	}
	head := []string{"Period"}
	for _, s := range c.Series {
		head = append(head, s.Name)
	}
	rows := make([][]string, 0, len(c.Labels))
	for i, l := range c.Labels {
		row := []string{l}
		for _, s := range c.Series {
			cell := ""
			if i < len(s.Values) {
				cell = Number(s.Values[i])
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	return b.close(c.Title, head, rows)
}

func (b *svg) line(si int, s Series, xs []float64, y func(float64) float64) {
	colour, dash := palette[si%len(palette)], dashes[si%len(dashes)]
	var pts strings.Builder
	for i, v := range s.Values {
		if i >= len(xs) {
			break
		}
		b.f(`<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s: %s</title></circle>`, xs[i], y(max(v, 0)), colour, esc(s.Name), esc(Number(v)))
		pts.WriteString(" ")
		pts.WriteString(sprint("%.1f,%.1f", xs[i], y(max(v, 0))))
	}
	attr := ""
	if dash != "" {
		attr = ` stroke-dasharray="` + dash + `"`
	}
	b.f(`<polyline class="rf-line" fill="none" stroke="%s" stroke-width="2.5"%s points="%s"/>`, colour, attr, strings.TrimSpace(pts.String()))
}

// legend writes the series names with a sample of their line, in a row
// above the plot.
func (b *svg) legend(series []Series) {
	x := float64(left) + 8
	for si, s := range series {
		colour, dash := palette[si%len(palette)], dashes[si%len(dashes)]
		attr := ""
		if dash != "" {
			attr = ` stroke-dasharray="` + dash + `"`
		}
		b.f(`<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-width="2.5"%s/>`, x, x+22, top+6, top+6, colour, attr)
		name := short(s.Name, 18)
		b.f(`<text x="%.1f" y="%d" dominant-baseline="middle" fill="%s">%s</text>`, x+27, top+6, ink, esc(name))
		x += 27 + float64(len([]rune(name)))*7.2 + 18
	}
}
