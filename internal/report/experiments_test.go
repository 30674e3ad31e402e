package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/kpis"
)

// withExperiment is the sample report with a running experiment read from
// its counters (A the control, B converting 1.8x) and an ended one.
func withExperiment(t *testing.T) kpis.Report {
	t.Helper()
	p := kpis.Program{ID: "b2b", Currency: "EUR", Milestones: []string{"qualified", "<script>won"},
		Experiment: &kpis.ExperimentDef{ID: "double", Assign: "partner", Variants: []kpis.VariantDef{{Name: "A", Weight: 1}, {Name: "<B>", Weight: 1}}}}
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := kpis.Build(p, kpis.Period{Kind: kpis.PeriodDay, From: day, To: day}, []kpis.Item{
		{SK: "EXP#double#A", N: map[string]int64{"received": 206, "accepted": 190, "reached:qualified": 100, "reached:<script>won": 45, "customers": 45,
			"revenue:EUR": 4500000, "paid:EUR": 450000}},
		{SK: "EXP#double#<B>", N: map[string]int64{"received": 206, "accepted": 200, "reached:qualified": 150, "reached:<script>won": 81, "customers": 81,
			"revenue:EUR": 8100000, "paid:EUR": 1620000}},
		{SK: "EXP#older#A", N: map[string]int64{"received": 3}},
		{SK: "EXP#older#B", N: map[string]int64{"received": 2}},
	})
	rep := sample()
	rep.Experiments = r.Experiments
	return rep
}

func TestReportShowsEachExperiment(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, withExperiment(t), "Partners", ""); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, bad := range []string{"http://", "https://", "<script", "style=\"", "<B>"} {
		if strings.Contains(html, bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	for _, want := range []string{
		`<h2 id="exp-double-h">Experiment double</h2>`,
		"variant &lt;B&gt; converts 1.8x, 95% interval 1.3x–2.5x, 412 referrals",
		`id="exp-double-chart"`, `<circle class="rf-dot"`, `class="rf-whisker"`,
		"<caption>Experiment double: each variant's conversion at each stage (95% intervals), cost and revenue</caption>",
		`<th scope="col" class="num">&lt;script&gt;won</th>`,
		// B: accepted 97.1% (93.8–98.7%), won 39.3% (32.9–46.1%), 1.8x the control, 200.00 a customer
		`<th scope="row">&lt;B&gt;</th><td class="num">206</td><td class="num">97.1% (93.8–98.7%)</td><td class="num">72.8% (66.4–78.4%)</td><td class="num">39.3% (32.9–46.1%)</td><td class="num">81</td><td class="num">1.8x (1.3x–2.5x)</td><td class="num">200.00</td><td class="num">81000.00</td>`,
		`<th scope="row">A</th><td class="num">206</td>`, `<td class="num">control</td><td class="num">100.00</td>`,
		"Cost per customer (EUR)",
		`<h2 id="exp-older-h">Experiment older (ended)</h2>`, "not enough data yet",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(html, `<svg role="img"`); n != 5+2 {
		t.Errorf("%d SVG charts, want the report's 5 and one per experiment", n)
	}
}

func TestExperimentFiguresForAnotherPage(t *testing.T) {
	rep := withExperiment(t)
	h, err := ExperimentFigures(rep.Experiments[0], "page-")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="page-exp-double-h"`, `id="page-exp-double-chart"`, "412 referrals"} {
		if !strings.Contains(string(h), want) {
			t.Errorf("figures lack %q", want)
		}
	}
	v := NewView(sample(), "", "", "")
	if len(v.Experiments()) != 0 {
		t.Error("a report without experiments shows one")
	}
}
