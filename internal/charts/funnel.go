package charts

import (
	"html/template"
	"strconv"
)

// Stage is one step of a funnel: a milestone and how many reached it.
type Stage struct {
	Label string
	Count int64
}

// Funnel shows how many referrals reached each milestone, in order, with the
// conversion from the stage before.
type Funnel struct {
	ID, Title, Desc string
	Stages          []Stage // in the program's order; the first is the whole
}

// Conversion is the share of the previous stage that reached stage i, in
// percent rounded to one decimal; the first stage has none ("").
func (c Funnel) Conversion(i int) string {
	if i <= 0 || i >= len(c.Stages) {
		return ""
	}
	prev := c.Stages[i-1].Count
	if prev == 0 {
		return "–"
	}
	return trim(strconv.FormatFloat(float64(c.Stages[i].Count)*100/float64(prev), 'f', 1, 64)) + "%"
}

// HTML renders one horizontal bar per stage (class rf-bar), its width
// proportional to the count against the first stage, the count and the
// conversion written beside it.
func (c Funnel) HTML() template.HTML {
	var b svg
	b.open(c.ID, c.Title, c.Desc)
	rows := make([][]string, 0, len(c.Stages))
	if len(c.Stages) == 0 {
		b.empty()
	}
	const labelW, textW = 118.0, 104.0
	barW := float64(width) - labelW - textW - 8
	rowH := min(44.0, float64(height-8)/float64(max(len(c.Stages), 1)))
	var base int64 = 1
	for _, s := range c.Stages {
		base = max(base, s.Count)
	}
	for i, s := range c.Stages {
		y := 4 + rowH*float64(i)
		w := barW * float64(max(s.Count, 0)) / float64(base)
		mid := y + rowH/2
		b.f(`<text x="%.1f" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="%s">%s</text>`, labelW-8, mid, ink, esc(short(s.Label, 15)))
		b.f(`<rect x="%.1f" y="%.1f" width="%.2f" height="%.1f" fill="%s"/>`, labelW, y+rowH*0.15, barW, rowH*0.7, "#eef1f6")
		b.f(`<rect class="rf-bar" x="%.1f" y="%.1f" width="%.2f" height="%.1f" fill="%s"><title>%s: %d</title></rect>`,
			labelW, y+rowH*0.15, w, rowH*0.7, palette[0], esc(s.Label), s.Count)
		text := strconv.FormatInt(s.Count, 10)
		if conv := c.Conversion(i); conv != "" {
			text += " · " + conv
		}
		b.f(`<text x="%.1f" y="%.1f" dominant-baseline="middle" fill="%s">%s</text>`, labelW+barW+8, mid, ink, esc(text))
		rows = append(rows, []string{s.Label, strconv.FormatInt(s.Count, 10), c.Conversion(i)})
	}
	return b.close(c.Title, []string{"Milestone", "Reached", "Conversion from the stage before"}, rows)
}
