package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/referflow/referflow/infra/browser"
	"github.com/referflow/referflow/infra/local/build"
	"github.com/referflow/referflow/infra/local/stack"
	"github.com/referflow/referflow/infra/seed"
)

// The operator console as an operator uses it, in Debian's Chromium through
// the local stack: two referrals from existing customers' domains wait
// for review and a qualified reward of 100 USD waits for approval (the
// program approves below 50 automatically). The operator signs in with the
// link from the local mailbox, approves one referral and rejects the other
// from the review queue, approves the reward, and opens the referral's
// page: the referrals move on, the reward is paid, and the audit log names
// the operator for each action. Every page is checked with axe and
// screenshotted at desktop width, the queues, referral and audit pages
// also at phone width.
func TestBrowserOperatorWorksTheQueues(t *testing.T) {
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
	prog := strings.Replace(string(example), "  customer_domains: []", "  customer_domains: [review-one.example, review-two.example]", 1)
	prog = strings.Replace(prog, "  existing_customer: reject", "  existing_customer: review", 1)
	prog += "\napproval:\n  auto_below: 50\n"
	if !strings.Contains(prog, "review-two.example") || !strings.Contains(prog, "existing_customer: review") {
		t.Fatal("the example program's eligibility is not where the test expects it")
	}
	e.publish(prog, seed.Overrides{})

	approveMe := e.refer("ann@review-one.example", "Review Me Approve")
	rejectMe := e.refer("bob@review-two.example", "Review Me Reject")
	reward := e.refer("cat@console-reward.example", "Console Reward Co")
	for _, a := range []accepted{approveMe, rejectMe} {
		e.waitStatus(a, "in_review", 60*time.Second)
	}
	e.waitWaiting(reward.ReferralID, "qualified")
	if code, out := e.hubspot(hubspotDeal(820001, "qualifiedtobuy", reward.ReferralID, "24000")); code != 200 {
		t.Fatalf("HubSpot webhook: %d %s", code, out)
	}
	e.eventually("the qualified reward waiting for approval", 60*time.Second, func() (bool, string) {
		_, v, _ := e.status(reward)
		st, _ := v.reward("qualified", "referrer")
		return st == "pending", "reward " + st
	})

	tab := b.Tab(t, browser.Viewports[0])
	tab.Do(chromedp.Navigate(e.api + "/console"))
	tab.WaitURL(e.api + "/console/sign-in")
	tab.Screenshot("console-sign-in")
	tab.AssertAccessible()
	consoleSignIn(t, e, tab) // browser_console_kpis_test.go: through the emailed link
	tab.Wait(`document.querySelector('h1') && document.querySelector('h1').textContent === 'Queues'`)
	page := tab.Text("main")
	for _, want := range []string{approveMe.ReferralID, rejectMe.ReferralID, "Review Me Approve", "100.00 USD"} {
		if !strings.Contains(page, want) {
			t.Fatalf("the queues do not show %q:\n%s", want, page)
		}
	}
	tab.Screenshot("console-queues")
	tab.AssertAccessible()
	phone := b.Tab(t, browser.Viewports[len(browser.Viewports)-1]) // the same browser: signed in already
	phone.Do(chromedp.Navigate(e.api + "/console"))
	phone.Wait(`!!document.querySelector('h1')`)
	phone.Screenshot("console-queues-phone")
	phone.AssertAccessible()

	decide := func(id, reason, button string) {
		form := `form[action="/console/referrals/` + id + `/review"]`
		tab.Do(
			chromedp.SendKeys(chromedp.CSS(form+` input[name="reason"]`), reason),
			chromedp.Click(chromedp.CSS(form+` button[value="`+button+`"]`)),
		)
		tab.Wait(`location.search.includes('done=')`)
	}
	decide(approveMe.ReferralID, "An existing customer's new division: welcome", "approve")
	if n := tab.Text(".notice"); n != "The referral was approved." {
		t.Errorf("notice after approving: %q", n)
	}
	tab.Screenshot("console-approved")
	decide(rejectMe.ReferralID, "Already a customer of ours", "reject")
	e.waitStatus(approveMe, "in_progress", 60*time.Second)
	e.waitStatus(rejectMe, "rejected", 60*time.Second)

	approve := `form[action="/console/rewards/` + reward.ReferralID + `/qualified/referrer/approve"] button`
	tab.Do(chromedp.Navigate(e.api + "/console"))
	tab.Wait(`!!document.querySelector('` + approve + `')`)
	tab.Do(chromedp.Click(chromedp.CSS(approve)))
	tab.Wait(`location.search.includes('done=reward-approved')`)
	e.eventually("the approved reward paid", 60*time.Second, func() (bool, string) {
		_, v, _ := e.status(reward)
		st, _ := v.reward("qualified", "referrer")
		return st == "paid", "reward " + st
	})
	tab.Screenshot("console-reward-approved")
	tab.AssertAccessible()

	tab.Do(chromedp.Navigate(e.api + "/console/referrals/" + reward.ReferralID))
	tab.Wait(`!!document.querySelector('h1')`)
	page = tab.Text("main")
	for _, want := range []string{"Console Reward Co", "version", "Timeline", "qualified · referrer", "paid", "Ledger"} {
		if !strings.Contains(page, want) {
			t.Errorf("the referral's page lacks %q:\n%s", want, page)
		}
	}
	if href := browser.Run(tab, chromedp.Evaluate[string](`document.querySelector('a[href*="console.aws.amazon.com/states"]').href`)); !strings.Contains(href, "executions/details/arn:") {
		t.Errorf("execution link %q", href)
	}
	tab.Screenshot("console-referral")
	tab.AssertAccessible()

	tab.Do(chromedp.Navigate(e.api + "/console/audit"))
	tab.Wait(`!!document.querySelector('h1')`)
	audit := tab.Text("main")
	for _, want := range []string{"review.approve", "review.reject", "reward.approve", stack.LocalOperator, "Already a customer of ours"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, audit)
		}
	}
	tab.Screenshot("console-audit")
	tab.AssertAccessible()

	tab.Do(chromedp.Navigate(e.api + "/console/referrals?status=rejected"))
	tab.Wait(`!!document.querySelector('h1')`)
	if !strings.Contains(tab.Text("main"), rejectMe.ReferralID) {
		t.Errorf("the search by status does not find the rejected referral")
	}
	tab.Screenshot("console-search")
	tab.AssertAccessible()

	for _, p := range []struct{ path, shot string }{
		{"/console/referrals/" + reward.ReferralID, "console-referral-phone"},
		{"/console/audit", "console-audit-phone"},
	} {
		phone.Do(chromedp.Navigate(e.api + p.path))
		phone.Wait(`!!document.querySelector('h1')`)
		phone.Screenshot(p.shot)
		phone.AssertAccessible()
	}
}
