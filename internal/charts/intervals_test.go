package charts

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestIntervalsPlaceDotsAndWhiskersOnOneScale: each estimate is a dot at
// its value between whisker ends at its bounds, all on one scale; an
// estimate without data has neither; labels are escaped.
func TestIntervalsPlaceDotsAndWhiskersOnOneScale(t *testing.T) {
	c := Intervals{ID: "exp", Title: "Conversion by variant", Desc: "Dots and whiskers.", Estimates: []Estimate{
		{Label: "A", Value: 0.2, Low: 0.1, Hi: 0.3, Ok: true, Note: "206 referrals"},
		{Label: "<B>", Value: 0.4, Low: 0.3, Hi: 0.5, Ok: true, Note: "206 referrals"},
		{Label: "C", Note: "0 referrals"},
	}}
	html := string(c.HTML())
	wellFormed(t, html)
	accessible(t, html, "exp")
	dots := regexp.MustCompile(`<circle class="rf-dot" cx="([0-9.]+)"`).FindAllStringSubmatch(html, -1)
	if len(dots) != 2 {
		t.Fatalf("%d dots, want 2 (none for an estimate without data)", len(dots))
	}
	x := func(m []string) float64 { v, _ := strconv.ParseFloat(m[1], 64); return v }
	// The scale runs 0..50%: the dot of 40% is twice as far from 0 as 20%'s.
	const left = 96.0
	if a, b := x(dots[0])-left, x(dots[1])-left; a <= 0 || b < 1.99*a || b > 2.01*a {
		t.Errorf("dots at %v and %v from the axis start", a, b)
	}
	if !strings.Contains(html, "&lt;B&gt;: 40% (30% to 50%)") || strings.Contains(html, "<B>") {
		t.Error("the label is not escaped, or the dot's title is missing")
	}
	if !strings.Contains(html, "<td>20%</td><td>10% to 30%</td><td>206 referrals</td>") || !strings.Contains(html, "<th scope=\"row\">C</th><td>–</td>") {
		t.Errorf("hidden table:\n%s", html)
	}
}
