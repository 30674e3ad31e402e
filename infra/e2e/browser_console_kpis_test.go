package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/referflow/referflow/infra/browser"
	"github.com/referflow/referflow/infra/local/build"
	"github.com/referflow/referflow/infra/local/stack"
	"github.com/referflow/referflow/internal/kpis"
)

// TestBrowserOperatorUploadsAProgramAndReadsTheKPIs: an operator uploads
// a program file with a mistake, reads the problem next to the file, fixes
// it and publishes a new version; then, after a scripted set of referrals
// whose figures the test knows, reads them on the KPI page.
func TestBrowserOperatorUploadsAProgramAndReadsTheKPIs(t *testing.T) {
	b := browser.Start(t)
	e := start(t, nil)
	root, err := build.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "programs", "b2b-example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Four referrals: all accepted, two qualified (one reward of 100.00 each,
	// paid at once), one won with a 24,000.00 deal (500.00 to the referrer
	// and 1,000.00 to the new customer, paid after the local hold).
	want := e.scriptKPIs(4, 2, 24000)
	for i, vp := range browser.Viewports {
		t.Run(vp.Name, func(t *testing.T) {
			tab := b.Tab(t, vp)
			if i == 0 { // the tabs share the browser's cookies
				consoleSignIn(t, e, tab)
			}
			uploadProgram(t, e, tab, string(example))

			// The page opens on the month of today; a script that crossed
			// into a new month is read over its own days instead.
			now := time.Now().UTC()
			first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			path, from := "/console/kpis", first
			if want.From < first {
				path, from = "/console/kpis?period=custom&from="+want.From+"&to="+want.To, want.From
			}
			tab.Do(chromedp.Navigate(e.api + path))
			tab.Wait(`!!document.querySelector('#kpi-funnel')`)
			page := tab.Text("main")
			for _, s := range []string{"KPIs: " + defaultProgram, "Referrals received\n4", "Customers won\n1", "24000.00 USD", "1700.00 USD", "1312%",
				"Referral volume", "Conversion", "Revenue and cost", "Time to milestone", "Top partners", "From " + from} {
				if !strings.Contains(page, s) {
					t.Errorf("the KPI page lacks %q:\n%s", s, page)
				}
			}
			funnel := tab.Text("#kpi-funnel table")
			if !strings.Contains(funnel, "accepted\t4") || !strings.Contains(funnel, "qualified\t2\t50%") || !strings.Contains(funnel, "won\t1\t50%") {
				t.Errorf("funnel figures:\n%s", funnel)
			}
			if href := tab.Attr(`a[href^="/console/kpis/report.html"]`, "href"); !strings.Contains(href, "from="+from) {
				t.Errorf("report link %q", href)
			}
			tab.Screenshot("console-kpis")
			tab.AssertAccessible()

			// The period picker works without JavaScript: a custom range
			// of the script's days only still counts them all.
			tab.Do(chromedp.SetValue(chromedp.CSS(`#kpi-from`), want.From), chromedp.SetValue(chromedp.CSS(`#kpi-to`), want.To),
				chromedp.Click(chromedp.CSS(`form.picker:nth-of-type(2) button`)))
			tab.Wait(`location.search.includes('period=custom')`)
			if got := tab.Text(".tiles li:first-child .value"); got != "4" {
				t.Errorf("custom range: received %q", got)
			}
			// A bad range is refused next to the picker, not read.
			tab.Do(chromedp.Navigate(e.api + "/console/kpis?period=custom&from=2026-02-01&to=2026-01-01"))
			tab.Wait(`!!document.querySelector('[role=alert]')`)
			if txt := tab.Text("[role=alert]"); !strings.Contains(txt, "must not be before from") {
				t.Errorf("bad range: %s", txt)
			}
			tab.Screenshot("console-kpis-bad-range")
			tab.AssertAccessible()
		})
	}
}

// scriptKPIs refers n referrals, qualifies q of them and wins one with
// amount, then waits until the KPI counters count all of it; it returns
// the report read as GET /admin/kpis reads it.
func (e *env) scriptKPIs(n, q, amount int) kpis.Report {
	e.t.Helper()
	start := time.Now().UTC()
	var ids, emails []string
	for range n {
		name, email := company(e.t)
		ids, emails = append(ids, e.refer(email, name).ReferralID), append(emails, email)
	}
	for i := range q {
		e.waitWaiting(ids[i], "qualified")
		if code, out := e.hubspot(hubspotDeal(920000+i, "qualifiedtobuy", ids[i], "")); code != http.StatusOK {
			e.t.Fatalf("qualify: %d %s", code, out)
		}
	}
	e.waitWaiting(ids[0], "won")
	// Won through a Standard Webhooks CRM, with the deal's amount.
	if code, out := e.genericEvent("msg_console_kpis_won", map[string]any{"referral_id": ids[0], "crm_record_id": "console-kpis-won",
		"stage": "won", "amount": amount, "currency": "USD"}); code != http.StatusOK {
		e.t.Fatalf("win: %d %s", code, out)
	}
	// The days the script spans (it may cross midnight, even a month's end).
	now := time.Now().UTC()
	per, _ := kpis.ParsePeriod(map[string]string{"period": "custom", "from": start.Format(time.DateOnly), "to": now.Format(time.DateOnly)}, now)
	svc := &kpis.Service{Store: e.st}
	var rep kpis.Report
	e.eventually("the KPI counters", 90*time.Second, func() (bool, string) {
		var err error
		rep, err = svc.Report(context.Background(), defaultProgram, per)
		if err != nil {
			return false, err.Error()
		}
		got := fmt.Sprintf("received %d accepted %d customers %d revenue %s paid %s", rep.Referrals.Received, rep.Referrals.Accepted,
			rep.Customers, rep.Revenue.Amount, rep.RewardCost.Paid)
		return got == fmt.Sprintf("received %d accepted %d customers 1 revenue %d.00 paid 1700.00", n, n, amount), got
	})
	return rep
}

// consoleSignIn signs the local operator in to the console through the
// emailed link.
func consoleSignIn(t *testing.T, e *env, tab *browser.Tab) {
	t.Helper()
	tab.Do(chromedp.Navigate(e.api + "/console"))
	tab.WaitURL(e.api + "/console/sign-in")
	asked := time.Now()
	tab.Do(chromedp.SendKeys(chromedp.CSS(`#email`), stack.LocalOperator),
		chromedp.Click(chromedp.CSS(`form[action="/console/sign-in"] button`)))
	tab.Wait(`document.querySelector('h1').textContent === 'Check your email'`)
	link := regexp.MustCompile(regexp.QuoteMeta(e.api) + `/console/sign-in/[A-Za-z0-9_-]+`)
	var url string
	e.eventually("the console sign-in email", 30*time.Second, func() (bool, string) {
		for _, m := range e.mailbox(stack.LocalOperator) {
			if l := link.FindString(m.Text); l != "" && !m.SentAt.Before(asked.Add(-time.Second)) {
				url = l
				return true, ""
			}
		}
		return false, "no new sign-in link"
	})
	tab.Do(chromedp.Navigate(url))
	tab.Wait(`!!document.querySelector('main form button')`)
	tab.Do(chromedp.Click(chromedp.CSS(`main form button`)))
	// WaitURL matches a prefix, which the confirm page's own URL has.
	tab.Wait(`location.pathname === '/console' && document.readyState === 'complete'`)
}

// uploadProgram checks a program file with a mistake, then publishes it
// fixed, as an operator does on the programs page.
func uploadProgram(t *testing.T, e *env, tab *browser.Tab, example string) {
	t.Helper()
	broken := strings.Replace(example, "currency: USD", "currency: USD\nbudget_per_month: 100", 1)
	if broken == example {
		t.Fatal("the example program's currency is not where the test expects it")
	}
	tab.Do(chromedp.Navigate(e.api + "/console/programs"))
	tab.Wait(`!!document.querySelector('#prog-file')`)
	tab.Do(chromedp.SetValue(chromedp.CSS(`#prog-file`), broken), chromedp.Click(chromedp.CSS(`button[value=check]`)))
	tab.Wait(`!!document.querySelector('#file-problems')`)
	if p := tab.Text("#file-problems"); !strings.Contains(p, "budget_per_month") || !strings.Contains(p, "nothing was published") {
		t.Errorf("problems shown: %s", p)
	}
	if tab.Attr("#prog-file", "aria-describedby") != "file-problems" {
		t.Error("the file field does not point at its problems")
	}
	tab.Screenshot("console-program-problems")
	tab.AssertAccessible()

	spring := "B2B partner program (spring, " + tab.Name + ")" // each viewport publishes a version of its own
	fixed := strings.Replace(example, "name: B2B partner program", "name: "+spring, 1)
	tab.Do(chromedp.SetValue(chromedp.CSS(`#prog-file`), fixed), chromedp.Click(chromedp.CSS(`button[value=publish]`)))
	tab.Wait(`!!document.querySelector('.notice')`)
	page := tab.Text("main")
	if !regexp.MustCompile(`Version \d+ is published`).MatchString(page) || !strings.Contains(page, spring) {
		t.Errorf("after publishing:\n%s", page)
	}
	tab.Screenshot("console-program-published")
	tab.AssertAccessible()
}
