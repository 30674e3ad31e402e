package charts

import "html/template"

// Bars is a bar chart of labelled values, such as referrals per day or week.
type Bars struct {
	ID     string  // unique in the page: the figure's id and its ARIA ids' prefix
	Title  string  // the chart's visible caption and accessible name
	Desc   string  // one sentence saying what the chart shows
	Unit   string  // what the values count, shown above the y axis ("referrals")
	Points []Point // in order along the x axis
}

// HTML renders the chart: one <rect class="rf-bar"> per point, its height
// proportional to the value, each with a <title> giving label and value.
func (c Bars) HTML() template.HTML { return bars(c, 0.7, "Period") }

// Histogram is a distribution in buckets, such as days to a milestone.
type Histogram struct {
	ID, Title, Desc string
	Unit            string  // what is counted ("referrals")
	Buckets         []Point // bucket label ("0–7 days") and count, in order
}

// HTML renders the histogram: adjacent bars (class rf-bar), one per bucket,
// heights proportional to the counts.
func (c Histogram) HTML() template.HTML {
	return bars(Bars{ID: c.ID, Title: c.Title, Desc: c.Desc, Unit: c.Unit, Points: c.Buckets}, 0.96, "Bucket")
}

func bars(c Bars, fill float64, xName string) template.HTML {
	var b svg
	b.open(c.ID, c.Title, c.Desc)
	vals := make([]float64, len(c.Points))
	for i, p := range c.Points {
		vals[i] = p.Value
	}
	rows := make([][]string, 0, len(c.Points))
	if len(c.Points) == 0 {
		b.empty()
	} else {
		y := b.yAxis(maxOf(vals), c.Unit)
		band := float64(width-left-right) / float64(len(c.Points))
		xs := make([]float64, len(c.Points))
		labels := make([]string, len(c.Points))
		for i, p := range c.Points {
			v := max(p.Value, 0)
			x := float64(left) + band*float64(i) + band*(1-fill)/2
			xs[i], labels[i] = x+band*fill/2, p.Label
			b.f(`<rect class="rf-bar" x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s: %s</title></rect>`,
				x, y(v), band*fill, y(0)-y(v), palette[0], esc(p.Label), esc(Number(p.Value)))
		}
		b.xLabels(labels, xs)
	}
	for _, p := range c.Points {
		rows = append(rows, []string{p.Label, Number(p.Value)})
	}
	return b.close(c.Title, []string{xName, unitOr(c.Unit, "Value")}, rows)
}

func unitOr(unit, other string) string {
	if unit == "" {
		return other
	}
	return unit
}
