package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/referflow/referflow/infra/browser"
	"github.com/referflow/referflow/infra/local/stack"
)

// TestBrowserOperatorRecordsAMilestoneByHandAndExports: a referral waits
// for its deal to be qualified and the CRM will never say it. The
// operator records the milestone by hand on the referral's page, with a
// reason: the workflow goes on as if the CRM had reported it (the
// qualified reward is paid, the execution waits for the next milestone),
// the timeline and the audit log name the operator and the reason. Then
// the operator exports two months of referrals: the export reads them in
// bounded parts, the page shows its progress and reloads itself (a pause
// link stops it: the page without the reload is checked with axe, as
// WCAG 2.2.1 asks a way to turn a time limit off), then offers the CSV,
// which holds the referral and no personal data but its company. Pages are
// screenshotted at desktop and phone width.
func TestBrowserOperatorRecordsAMilestoneByHandAndExports(t *testing.T) {
	b := browser.Start(t)
	e := start(t, nil)
	name, email := company(t)
	ref := e.refer(email, name)
	e.waitWaiting(ref.ReferralID, "qualified")

	tab := b.Tab(t, browser.Viewports[0])
	consoleSignIn(t, e, tab)
	page := e.api + "/console/referrals/" + ref.ReferralID
	tab.Do(chromedp.Navigate(page))
	tab.Wait(`!!document.querySelector('#ms-name')`)
	if opts := tab.Text("#ms-name"); !strings.Contains(opts, "qualified") || !strings.Contains(opts, "won") {
		t.Fatalf("milestones offered: %q", opts)
	}
	const why = "Qualified on a call with the buyer; the CRM sync is down"
	tab.Do(chromedp.SetValue(chromedp.CSS(`#ms-name`), "qualified"), chromedp.SendKeys(chromedp.CSS(`#ms-reason`), why),
		chromedp.Click(chromedp.CSS(`form.by-hand button`)))
	tab.Wait(`location.search.includes('done=milestone')`)
	if n := tab.Text(".notice"); n != "The milestone was recorded." {
		t.Errorf("notice: %q", n)
	}
	e.waitWaiting(ref.ReferralID, "won") // the workflow went on past qualified
	e.eventually("the qualified reward paid", 60*time.Second, func() (bool, string) {
		_, v, _ := e.status(ref)
		st, _ := v.reward("qualified", "referrer")
		return st == "paid", "reward " + st
	})
	tab.Do(chromedp.Navigate(page))
	tab.Wait(`!!document.querySelector('.timeline')`)
	main := tab.Text("main")
	for _, want := range []string{"Milestone qualified recorded by hand by " + stack.LocalOperator + ": " + why, "(recorded by hand)", "qualified · referrer"} {
		if !strings.Contains(main, want) {
			t.Errorf("the referral's page lacks %q:\n%s", want, main)
		}
	}
	if opts := tab.Text("#ms-name"); strings.Contains(opts, "qualified") {
		t.Errorf("a reached milestone is still offered: %q", opts)
	}
	tab.Screenshot("console-milestone-by-hand")
	tab.AssertAccessible()
	e.assertNoPersonalData(ref.ReferralID, why)

	tab.Do(chromedp.Navigate(e.api + "/console/audit"))
	tab.Wait(`!!document.querySelector('h1')`)
	if audit := tab.Text("main"); !strings.Contains(audit, "referral.milestone") || !strings.Contains(audit, why) {
		t.Errorf("the audit log lacks the milestone:\n%s", audit)
	}

	exportReferrals(t, e, tab, ref.ReferralID, name)

	// The erasure page finds the person before anything is erased; a
	// partner's details open for editing.
	tab.Do(chromedp.Navigate(e.api + "/console/erase"))
	tab.Wait(`!!document.querySelector('#er-email')`)
	tab.Do(chromedp.SendKeys(chromedp.CSS(`#er-email`), email), chromedp.Click(chromedp.CSS(`form.picker button`)))
	tab.Wait(`!!document.querySelector('#er-reason')`)
	if p := tab.Text("main"); !strings.Contains(p, "1 referral(s)") {
		t.Errorf("the erasure page:\n%s", p)
	}
	tab.Screenshot("console-erase-check")
	tab.AssertAccessible()
	tab.Do(chromedp.Navigate(e.api + "/console/partners/edit?program=" + defaultProgram + "&code=" + demoCode))
	tab.Wait(`!!document.querySelector('#pe-email')`)
	tab.Screenshot("console-partner-edit")
	tab.AssertAccessible()

	phone := b.Tab(t, browser.Viewports[len(browser.Viewports)-1]) // signed in already: the same browser
	for _, p := range []struct{ path, shot string }{{page, "console-milestone-by-hand-phone"}, {e.api + "/console/exports", "console-exports-phone"}} {
		phone.Do(chromedp.Navigate(p.path))
		phone.Wait(`!!document.querySelector('h1')`)
		phone.Screenshot(p.shot)
		phone.AssertAccessible()
	}
}

// exportReferrals exports the last 61 days of referrals (three bounded
// parts) through the exports page and checks the CSV holds id.
func exportReferrals(t *testing.T, e *env, tab *browser.Tab, id, company string) {
	t.Helper()
	today := time.Now().UTC()
	tab.Do(chromedp.Navigate(e.api + "/console/exports"))
	tab.Wait(`!!document.querySelector('#ex-kind')`)
	tab.Screenshot("console-exports")
	tab.AssertAccessible()
	tab.Do(chromedp.SetValue(chromedp.CSS(`#ex-kind`), "referrals"),
		chromedp.SetValue(chromedp.CSS(`#ex-from`), today.AddDate(0, 0, -60).Format(time.DateOnly)),
		chromedp.SetValue(chromedp.CSS(`#ex-to`), today.Format(time.DateOnly)),
		chromedp.Click(chromedp.CSS(`form.picker button`)))
	tab.Wait(`/^\/console\/exports\/exp_/.test(location.pathname) && !!document.querySelector('h1')`)
	run := strings.SplitN(tab.URL(), "?", 2)[0]
	tab.Do(chromedp.Navigate(run + "?refresh=off"))
	tab.Wait(`!!document.querySelector('h1')`)
	if p := tab.Text("main"); !strings.Contains(p, "row(s) so far") || !strings.Contains(p, "of 61 day(s) read") || !strings.Contains(p, "Go on") {
		t.Errorf("a running export's page:\n%s", p)
	}
	if tab.Attr("#ex-progress", "value") == "" || tab.Attr("#ex-progress", "max") != "100" {
		t.Error("no progress bar")
	}
	tab.Screenshot("console-export-running")
	tab.AssertAccessible()

	tab.Do(chromedp.Navigate(run)) // reloads itself until it is done
	tab.Wait(`!!document.querySelector('a[href*="/download?part=1"]')`)
	if n := tab.Text(".notice"); !strings.HasPrefix(n, "The export is ready:") {
		t.Errorf("notice: %q", n)
	}
	if tab.Attr(`meta[http-equiv="refresh"]`, "content") != "" {
		t.Error("a finished export still reloads")
	}
	tab.Screenshot("console-export-ready")
	tab.AssertAccessible()
	csv := browser.Run(tab, chromedp.EvaluateAsDevTools[string](`fetch(document.querySelector('a[href*="/download?part=1"]').href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if !strings.HasPrefix(csv, "referral_id,received_at,program,") || !strings.Contains(csv, id) || !strings.Contains(csv, company) ||
		strings.Contains(csv, "Jane Doe") || strings.Contains(csv, "@") {
		t.Errorf("the CSV:\n%s", csv)
	}
}
