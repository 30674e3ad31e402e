package charts

import (
	"encoding/xml"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// rects returns the heights (or widths) of the rf-bar rectangles.
func barSizes(t *testing.T, html, attr string) []float64 {
	t.Helper()
	re := regexp.MustCompile(`<rect class="rf-bar"[^>]*\b` + attr + `="([0-9.]+)"`)
	var out []float64
	for _, m := range re.FindAllStringSubmatch(html, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// wellFormed checks the figure parses as XML (SVG inside HTML must).
func wellFormed(t *testing.T, html string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(html))
	d.Entity = map[string]string{"ndash": "–"}
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() == "EOF" {
				return
			}
			t.Fatalf("not well-formed: %v\n%s", err, html)
		}
	}
}

func accessible(t *testing.T, html, id string) {
	t.Helper()
	for _, want := range []string{
		`role="img"`, `aria-labelledby="` + id + `-title ` + id + `-desc"`,
		`<title id="` + id + `-title">`, `<desc id="` + id + `-desc">`,
		`<table class="rf-visually-hidden">`, `viewBox="0 0 420 250"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("missing %s in\n%s", want, html)
		}
	}
	if strings.Contains(html, "style=") || strings.Contains(html, "<script") {
		t.Errorf("style attribute or script in chart:\n%s", html)
	}
}

func TestBarHeightsAreProportional(t *testing.T) {
	tests := []struct {
		name   string
		points []Point
		want   []float64 // relative to the first bar
	}{
		{"rising", []Point{{"Mon", 1}, {"Tue", 2}, {"Wed", 4}}, []float64{1, 2, 4}},
		{"with zero", []Point{{"w1", 10}, {"w2", 0}, {"w3", 5}}, []float64{1, 0, 0.5}},
		{"one bar", []Point{{"only", 7}}, []float64{1}},
		{"fractions", []Point{{"a", 0.5}, {"b", 1.5}}, []float64{1, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			html := string(Bars{ID: "b", Title: "Referrals", Desc: "Per day", Unit: "referrals", Points: tt.points}.HTML())
			wellFormed(t, html)
			accessible(t, html, "b")
			h := barSizes(t, html, "height")
			if len(h) != len(tt.points) {
				t.Fatalf("bars = %d, want %d", len(h), len(tt.points))
			}
			for i := range h {
				if math.Abs(h[i]/h[0]-tt.want[i]) > 0.01 {
					t.Errorf("bar %d height %v, ratio %v, want %v", i, h[i], h[i]/h[0], tt.want[i])
				}
			}
			for _, p := range tt.points {
				if !strings.Contains(html, "<td>"+Number(p.Value)+"</td>") {
					t.Errorf("value %v missing from the figures table", p.Value)
				}
			}
		})
	}
}

func TestTallestBarFitsThePlot(t *testing.T) {
	html := string(Bars{ID: "b", Title: "t", Points: []Point{{"a", 37}, {"b", 12}}}.HTML())
	h := barSizes(t, html, "height")
	plot := float64(height - top - bottom)
	if h[0] > plot || h[0] < plot*0.7 {
		t.Errorf("tallest bar %v, plot %v", h[0], plot)
	}
}

func TestTextFromCallersIsEscaped(t *testing.T) {
	evil := `<script>alert("x")</script>`
	charts := map[string]string{
		"bars":      string(Bars{ID: "a", Title: evil, Desc: evil, Unit: evil, Points: []Point{{evil, 1}}}.HTML()),
		"histogram": string(Histogram{ID: "h", Title: evil, Buckets: []Point{{evil, 2}}}.HTML()),
		"funnel":    string(Funnel{ID: "f", Title: evil, Stages: []Stage{{evil, 3}, {"won", 1}}}.HTML()),
		"lines":     string(Lines{ID: "l", Title: evil, Labels: []string{evil, "b"}, Series: []Series{{evil, []float64{1, 2}}}}.HTML()),
		"cohorts":   string(Cohorts{ID: "c", Title: evil, Desc: evil, Columns: []string{evil}, Rows: []CohortRow{{evil, 3, []float64{0.5}}}}.HTML()),
		"id":        string(Bars{ID: `x" onload="alert(1)`, Title: "t"}.HTML()),
	}
	for name, html := range charts {
		if strings.Contains(html, "<script") || strings.Contains(html, `" onload=`) {
			t.Errorf("%s: caller text not escaped:\n%s", name, html)
		}
		if name != "id" && !strings.Contains(html, "&lt;script&gt;") {
			t.Errorf("%s: escaped text missing", name)
		}
		wellFormed(t, html)
	}
}

func TestHistogramHasOneBarPerBucket(t *testing.T) {
	html := string(Histogram{ID: "h", Title: "Days to won", Unit: "referrals",
		Buckets: []Point{{"0–7 d", 4}, {"8–14 d", 8}, {"15–30 d", 2}, {"31+ d", 0}}}.HTML())
	accessible(t, html, "h")
	h := barSizes(t, html, "height")
	if len(h) != 4 || h[1] != 2*h[0] || h[2] != h[0]/2 || h[3] != 0 {
		t.Errorf("heights %v", h)
	}
	w := barSizes(t, html, "width")
	if w[0] < 60 {
		t.Errorf("histogram bars should be adjacent and wide, got %v", w[0])
	}
}

func TestFunnelConversionAndWidths(t *testing.T) {
	f := Funnel{ID: "f", Title: "Funnel", Desc: "d", Stages: []Stage{{"referred", 200}, {"qualified", 50}, {"won", 20}, {"paid", 0}, {"renewed", 0}}}
	want := []string{"", "25%", "40%", "0%", "–"}
	for i, w := range want {
		if got := f.Conversion(i); got != w {
			t.Errorf("Conversion(%d) = %q, want %q", i, got, w)
		}
	}
	html := string(f.HTML())
	accessible(t, html, "f")
	w := barSizes(t, html, "width")
	if len(w) != 5 || math.Abs(w[1]/w[0]-0.25) > 0.001 || math.Abs(w[2]/w[0]-0.1) > 0.001 || w[3] != 0 {
		t.Errorf("widths %v", w)
	}
	for _, s := range []string{"50 · 25%", "20 · 40%", "<td>40%</td>"} {
		if !strings.Contains(html, s) {
			t.Errorf("missing %q", s)
		}
	}
	if got := (Funnel{Stages: []Stage{{"a", 3}, {"b", 1}}}).Conversion(1); got != "33.3%" {
		t.Errorf("one decimal: %q", got)
	}
}

func TestLinesDrawEverySeriesDistinctly(t *testing.T) {
	c := Lines{ID: "l", Title: "Revenue and cost", Unit: "EUR", Labels: []string{"Jan", "Feb", "Mar"},
		Series: []Series{{"Revenue", []float64{0, 1000, 2500}}, {"Reward cost", []float64{0, 200, 300}}}}
	html := string(c.HTML())
	wellFormed(t, html)
	accessible(t, html, "l")
	lines := regexp.MustCompile(`<polyline class="rf-line" fill="none" stroke="([^"]+)"[^>]*points="([^"]+)"`).FindAllStringSubmatch(html, -1)
	if len(lines) != 2 || lines[0][1] == lines[1][1] {
		t.Fatalf("lines %v", lines)
	}
	if !strings.Contains(html, `stroke-dasharray="6 4"`) {
		t.Error("second series has no dash pattern")
	}
	ys := func(pts string) []float64 {
		var out []float64
		for _, p := range strings.Fields(pts) {
			_, y, _ := strings.Cut(p, ",")
			v, _ := strconv.ParseFloat(y, 64)
			out = append(out, v)
		}
		return out
	}
	rev := ys(lines[0][2])
	base := float64(height - bottom)
	if len(rev) != 3 || rev[0] != base || !(rev[2] < rev[1] && rev[1] < rev[0]) {
		t.Errorf("revenue points %v", rev)
	}
	if r := (base - rev[2]) / (base - rev[1]); math.Abs(r-2.5) > 0.01 {
		t.Errorf("heights not proportional: %v", r)
	}
	for _, s := range []string{"<th scope=\"col\">Reward cost</th>", "<td>2500</td>"} {
		if !strings.Contains(html, s) {
			t.Errorf("missing %s", s)
		}
	}
}

func TestCohortShades(t *testing.T) {
	tests := []struct {
		share       float64
		class, text string
	}{
		{0, "rf-heat-0", "0%"}, {0.04, "rf-heat-0", "4%"}, {0.25, "rf-heat-3", "25%"},
		{0.5, "rf-heat-5", "50%"}, {1, "rf-heat-10", "100%"}, {1.7, "rf-heat-10", "100%"},
		{math.NaN(), "rf-heat-none", "–"},
	}
	for _, tt := range tests {
		if c, x := Shade(tt.share); c != tt.class || x != tt.text {
			t.Errorf("Shade(%v) = %s %s, want %s %s", tt.share, c, x, tt.class, tt.text)
		}
	}
	html := string(Cohorts{ID: "c", Title: "Cohorts", Desc: "d", Columns: []string{"1 month", "2 months"},
		Rows: []CohortRow{{"2026-01", 40, []float64{0.25, 0.5}}, {"2026-02", 10, []float64{0.1}}}}.HTML())
	wellFormed(t, html)
	for _, s := range []string{`<th scope="row">2026-01</th><td>40</td><td class="rf-heat-3">25%</td><td class="rf-heat-5">50%</td>`,
		`<td class="rf-heat-1">10%</td><td class="rf-heat-none">–</td>`, `aria-describedby="c-desc"`} {
		if !strings.Contains(html, s) {
			t.Errorf("missing %s in %s", s, html)
		}
	}
	for i := 0; i <= 10; i++ {
		if !strings.Contains(Stylesheet, ".rf-heat-"+strconv.Itoa(i)+" {") {
			t.Errorf("stylesheet has no shade %d", i)
		}
	}
}

func TestEmptyChartsSayNoData(t *testing.T) {
	for name, html := range map[string]string{
		"bars": string(Bars{ID: "b", Title: "t"}.HTML()), "lines": string(Lines{ID: "l", Title: "t"}.HTML()),
		"funnel": string(Funnel{ID: "f", Title: "t"}.HTML()), "cohorts": string(Cohorts{ID: "c", Title: "t"}.HTML()),
	} {
		if !strings.Contains(html, "No data for this period") {
			t.Errorf("%s: no empty notice", name)
		}
	}
}

func TestAxisTicksAreRound(t *testing.T) {
	tests := []struct{ max, top, step float64 }{
		{0, 1, 0.25}, {3, 3, 1}, {7, 8, 2}, {37, 40, 10}, {100, 100, 25}, {1234, 1500, 500}, {900, 1000, 250}, {0.3, 0.3, 0.1},
	}
	for _, tt := range tests {
		top, step := niceMax(tt.max)
		if math.Abs(top-tt.top) > 1e-9 || math.Abs(step-tt.step) > 1e-9 {
			t.Errorf("niceMax(%v) = %v, %v; want %v, %v", tt.max, top, step, tt.top, tt.step)
		}
	}
	for v, want := range map[float64]string{0: "0", 12: "12", 2.5: "2.5", 12500: "12.5k", 3100000: "3.1M", 1.234: "1.23"} {
		if got := Number(v); got != want {
			t.Errorf("Number(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestManyBarsLabelAFew(t *testing.T) {
	pts := make([]Point, 31)
	for i := range pts {
		pts[i] = Point{"day " + strconv.Itoa(i+1), float64(i)}
	}
	html := string(Bars{ID: "b", Title: "t", Points: pts}.HTML())
	if n := strings.Count(html, `text-anchor="middle" fill="#16181d"`); n > maxTicks+1 || n < 3 {
		t.Errorf("%d x labels for 31 bars", n)
	}
}
