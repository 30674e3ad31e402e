package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/referflow/referflow/infra/browser"
	"github.com/referflow/referflow/infra/seed"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/program"
)

// TestBrowserOperatorEndsAnExperiment: a program runs an experiment (A
// pays 100.00 when a deal is won, B doubles it); a partner of each
// variant refers once and B's deal is won. The operator opens the
// experiments page for the program: the verdict says there is not enough
// data yet and the table shows each variant's referrals, shares with
// their intervals, customers and cost. The operator ends the experiment
// keeping B, with a reason: the page confirms it, the program's next
// version runs no experiment and pays by B's tiers, the page no longer
// offers to end it and the audit log keeps the reason. Pages are
// screenshotted at desktop and phone width and checked with axe.
func TestBrowserOperatorEndsAnExperiment(t *testing.T) {
	b := browser.Start(t)
	e := start(t, nil)
	const id = "exp-browser"
	yaml := experimentYAML(id)
	e.publish(yaml, seed.Overrides{})
	refs := referInEachVariant(t, e, id, yaml)

	tab := b.Tab(t, browser.Viewports[0])
	consoleSignIn(t, e, tab)
	page := e.api + "/console/experiments?program=" + id
	phone := b.Tab(t, browser.Viewports[len(browser.Viewports)-1]) // signed in already: the same browser
	for _, tb := range []*browser.Tab{tab, phone} {
		tb.Do(chromedp.Navigate(page))
		tb.Wait(`!!document.querySelector('#run-` + id + `-title')`)
		checkRunningExperiment(t, tb, id)
		tb.Screenshot("console-experiments")
		tb.AssertAccessible()
	}

	const why = "B brings as many customers for the partners we want to keep"
	tab.Do(chromedp.SendKeys(chromedp.CSS(`#why-`+id+`-B`), why),
		chromedp.Click(chromedp.CSS(`button[name="keep"][value="B"]`)))
	tab.Wait(`location.search.includes('ended=` + id + `')`)
	want := "The experiment of " + id + " has ended: version 2 keeps variant B's rule for new referrals; referrals assigned before keep their variant's rewards."
	if n := tab.Text(".notice"); n != want {
		t.Errorf("notice: %q, want %q", n, want)
	}
	tab.Screenshot("console-experiment-ended")
	tab.AssertAccessible()

	p, err := e.st.CurrentProgram(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 2 || p.Experiment != nil || len(p.Tiers) != 1 || p.Tiers[0].MultiplierBP != 20000 {
		t.Errorf("the program's current version: v%d, experiment %+v, tiers %+v; want v2 with B's tiers and no experiment", p.Version, p.Experiment, p.Tiers)
	}
	for _, tb := range []*browser.Tab{tab, phone} {
		tb.Do(chromedp.Navigate(page))
		tb.Wait(`!!document.querySelector('h1')`)
		if main := tb.Text("main"); strings.Contains(main, "double-e2e") || strings.Contains(main, "End and keep") ||
			!strings.Contains(main, "No program runs an experiment now.") {
			t.Errorf("after the end, the experiments page (%s):\n%s", tb.Name, main)
		}
	}
	phone.Screenshot("console-experiment-ended")
	phone.AssertAccessible()

	tab.Do(chromedp.Navigate(e.api + "/console/audit"))
	tab.Wait(`!!document.querySelector('h1')`)
	if audit := tab.Text("main"); !strings.Contains(audit, "experiment.end") || !strings.Contains(audit, why) {
		t.Errorf("the audit log lacks the end of the experiment:\n%s", audit)
	}
	// The admin API names each referral's experiment and variant, still.
	for v, rid := range refs {
		if code, body := e.admin(http.MethodGet, "/admin/referrals/"+rid, adminToken, nil); code != http.StatusOK ||
			body["experiment"] != "double-e2e" || body["variant"] != v {
			t.Errorf("GET /admin/referrals/%s (variant %s): %d experiment %v variant %v", rid, v, code, body["experiment"], body["variant"])
		}
	}
}

// referInEachVariant adds a partner assigned A and one assigned B to
// program id, has each refer once and wins B's deal (B's referrer earns
// 200.00); it returns the referral ids by variant once the KPI counters
// count them.
func referInEachVariant(t *testing.T, e *env, id, yaml string) map[string]string {
	t.Helper()
	p, err := program.Load([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	made := map[string]accepted{}
	refs := map[string]string{}
	for i := 0; refs["A"] == "" || refs["B"] == ""; i++ {
		code := fmt.Sprintf("EXB%02d", i)
		if _, v := p.Assign(code, ""); refs[v] == "" {
			e.addReferrer(id, code, fmt.Sprintf("pat%d@exb-partner-%d.example", i, i))
			name, email := ruleCompany()
			made[v] = e.referWith(id, code, email, name, nil)
			refs[v] = made[v].ReferralID
		}
	}
	e.waitWaiting(refs["B"], "won")
	e.won(refs["B"])
	if _, paid := e.waitStatus(made["B"], "completed", 60*time.Second).reward("won", "referrer"); paid != 20000 {
		t.Errorf("B's referrer earned %d, want 20000", paid)
	}
	q := url.Values{"program": {id}, "period": {"day"}, "at": {time.Now().UTC().Format(time.DateOnly)}}
	e.eventually("the KPIs count each variant", 60*time.Second, func() (bool, string) {
		r := e.kpiReport(q)
		if len(r.Experiments) != 1 || len(r.Experiments[0].Variants) != 2 {
			return false, fmt.Sprintf("%+v", r.Experiments)
		}
		a, b := r.Experiments[0].Variants[0], r.Experiments[0].Variants[1]
		return a.Referrals == 1 && a.Accepted == 1 && b.Referrals == 1 && b.Customers == 1 && b.RewardCost.Paid == "200.00",
			fmt.Sprintf("A %+v B %+v", a, b)
	})
	return refs
}

// checkRunningExperiment checks the verdict, the table of variants and
// the forms that end the experiment on the page of program id.
func checkRunningExperiment(t *testing.T, tab *browser.Tab, id string) {
	t.Helper()
	section := tab.Text(".running-experiment")
	for _, want := range []string{
		"Rules " + id + " (" + id + "): experiment double-e2e", "Running under version 1 of the program.",
		"Experiment double-e2e: each variant's conversion at each stage (95% intervals), cost and revenue",
	} {
		if !strings.Contains(section, want) {
			t.Errorf("the experiment's section (%s) lacks %q:\n%s", tab.Name, want, section)
		}
	}
	if v := tab.Text(`#run-` + id + `-exp-double-e2e-verdict`); v != kpis.NotEnoughData {
		t.Errorf("the verdict (%s): %q, want %q", tab.Name, v, kpis.NotEnoughData)
	}
	if n := strings.Count(section, kpis.NotEnoughData); n != 1 {
		t.Errorf("the verdict is said %d times (%s), want once", n, tab.Name)
	}
	table := `.running-experiment table.figures`
	cells := func(rows string) string {
		return browser.Run(tab, chromedp.Evaluate[string](fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).map(r => Array.from(r.cells).map(c => c.textContent).join('|')).join('\n')`, table+" "+rows)))
	}
	if head := cells("thead tr"); head != "Variant|Referrals|accepted|won|Customers|Against the control|Cost per customer (USD)|Revenue (USD)" {
		t.Errorf("the table's head (%s): %s", tab.Name, head)
	}
	// One referral each: accepted 1 of 1 (Wilson 20.7–100%); B's won.
	wantRows := "A|1|100% (20.7–100%)|0% (0–79.4%)|0|control|–|0.00\n" +
		"B|1|100% (20.7–100%)|100% (20.7–100%)|1|–|200.00|0.00"
	if rows := cells("tbody tr"); rows != wantRows {
		t.Errorf("the variants (%s):\n%s\nwant\n%s", tab.Name, rows, wantRows)
	}
	// The wide table scrolls in its own region; the page itself fits the screen.
	if w := browser.Run(tab, chromedp.Evaluate[string](`(d => d.scrollWidth + ' ' + d.clientWidth)(document.documentElement)`)); strings.Split(w, " ")[0] != strings.Split(w, " ")[1] {
		t.Errorf("the page is wider than the screen (%s): scroll and client widths %s", tab.Name, w)
	}
	for _, v := range []string{"A", "B"} {
		if l := tab.Text(`label[for="why-` + id + `-` + v + `"]`); l != "Why keep "+v {
			t.Errorf("variant %s's reason is labelled %q", v, l)
		}
		if btn := tab.Text(`button[name="keep"][value="` + v + `"]`); btn != "End and keep variant "+v {
			t.Errorf("variant %s's button says %q", v, btn)
		}
	}
}
