package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/referflow/referflow/infra/browser"
	"github.com/referflow/referflow/infra/local/build"
	"github.com/referflow/referflow/infra/seed"
)

// The partner portal as a partner sees it, in Debian's Chromium through the
// local stack: the partner asks for a sign-in link, opens it from the email
// the functions sent (read from the local mailbox), confirms, and sees the
// referral they made waiting for its first milestone; after a signed
// HubSpot webhook qualifies the deal, the page shows the milestone reached
// and the reward on hold, and the partner has been emailed both. Every page
// on the way (and the referral's page, the join, profile and preferences
// pages, the local mailbox) is checked at desktop and phone width,
// screenshotted, and has no serious or critical axe-core violation.
func TestBrowserPartnerSignsInAndFollowsTheirReferral(t *testing.T) {
	const partner = "partner@demo-referrer.example" // the seeded demo partner (code DEMO)
	b := browser.Start(t)
	e := start(t, nil)
	// The example program pays the qualified reward at once; here it is held
	// for an hour, so the partner sees it on hold.
	root, err := build.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "programs", "b2b-example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	held := regexp.MustCompile(`(?m)^(    hold: )0( .*)$`).ReplaceAllString(string(example), "${1}1h${2}")
	if held == string(example) {
		t.Fatal("the example program's qualified hold is not where the test expects it")
	}
	e.publish(held, seed.Overrides{})

	for i, vp := range browser.Viewports {
		t.Run(vp.Name, func(t *testing.T) {
			name, email := browserPerson()
			a := e.refer(email, name)
			tab := b.Tab(t, vp)
			signIn(t, e, tab, partner)
			tab.Wait(`document.querySelector('h1') && document.querySelector('h1').textContent.startsWith('Welcome')`)
			page := tab.Text("main")
			html := browser.Run(tab, chromedp.Evaluate[string](`document.querySelector('main').innerHTML`))
			if !strings.Contains(page, name) || !strings.Contains(page, "Qualified: waiting") || !strings.Contains(html, e.api+"/r/"+demoCode) {
				t.Fatalf("the partner's page does not show the referral waiting:\n%s", page)
			}
			if strings.Contains(page, email) {
				t.Error("the partner's list shows the referee's email")
			}
			tab.Screenshot("portal-home")
			tab.AssertAccessible()

			// The CRM qualifies the deal (a signed HubSpot webhook).
			e.waitWaiting(a.ReferralID, "qualified")
			if code, out := e.hubspot(hubspotDeal(810000+i, "qualifiedtobuy", a.ReferralID, "24000")); code != 200 {
				t.Fatalf("HubSpot webhook: %d %s", code, out)
			}
			e.eventually("the referrer's qualified reward on hold", 60*time.Second, func() (bool, string) {
				_, v, _ := e.status(a)
				st, _ := v.reward("qualified", "referrer")
				return st == "on_hold", "reward " + st
			})
			tab.Do(chromedp.Reload())
			tab.Wait(`document.querySelector('main') && document.querySelector('main').textContent.includes('Qualified: reached')`)
			page = tab.Text("main")
			if !regexp.MustCompile(`(?i)qualified \(cash\): [^,\n]+, on hold`).MatchString(page) {
				t.Errorf("the partner's page does not show the reward on hold:\n%s", page)
			}
			tab.Screenshot("portal-qualified")
			tab.AssertAccessible()

			tab.Do(chromedp.Click(chromedp.CSS(`main a[href="/portal/referrals/` + a.ReferralID + `"]`)))
			tab.WaitURL(e.api + "/portal/referrals/" + a.ReferralID)
			if h := tab.Text("h1"); h != name {
				t.Errorf("referral page heading %q", h)
			}
			tab.Screenshot("portal-referral")
			tab.AssertAccessible()

			for _, p := range []struct{ path, shot string }{
				{"/portal/profile", "portal-profile"},
				{"/portal/preferences", "portal-preferences"},
				{"/portal/join?program=" + defaultProgram, "portal-join"},
				{"/portal/referrals/ref_not_theirs", "portal-not-found"},
				{"/_local/mail", "local-mailbox"},
			} {
				tab.Do(chromedp.Navigate(e.api + p.path))
				tab.Wait(`!!document.querySelector('h1')`)
				tab.Screenshot(p.shot)
				tab.AssertAccessible()
			}

			// Signing out ends the session: the portal asks to sign in again.
			tab.Do(chromedp.Navigate(e.api + "/portal"))
			tab.Do(chromedp.Click(chromedp.CSS(`form[action="/portal/sign-out"] button`)))
			tab.Wait(`location.pathname !== '/portal'`)
			tab.Do(chromedp.Navigate(e.api + "/portal"))
			tab.WaitURL(e.api + "/portal/sign-in")

			// The partner was told by email at each step.
			e.eventually("the received, milestone and reward emails", 30*time.Second, func() (bool, string) {
				var subjects []string
				for _, m := range e.mailbox(partner) {
					if strings.Contains(m.Subject+m.Text, name) {
						subjects = append(subjects, m.Subject)
					}
				}
				all := strings.Join(subjects, " | ")
				return strings.Contains(all, "We received your referral of "+name) && strings.Contains(all, "reached Qualified") &&
					strings.Contains(all, "You earned a reward"), all
			})
		})
	}
}

// signIn takes the tab through the sign-in form, the emailed link and its
// confirm button, checking and screenshotting each page.
func signIn(t *testing.T, e *env, tab *browser.Tab, partner string) {
	t.Helper()
	tab.Do(chromedp.Navigate(e.api + "/portal"))
	tab.WaitURL(e.api + "/portal/sign-in")
	tab.Screenshot("portal-sign-in")
	tab.AssertAccessible()
	asked := time.Now()
	tab.Do(
		chromedp.SendKeys(chromedp.CSS("#email"), partner),
		chromedp.Click(chromedp.CSS(`form[action="/portal/sign-in"] button`)),
	)
	tab.Wait(`document.querySelector('h1').textContent === 'Check your email'`)
	tab.Screenshot("portal-check-email")
	tab.AssertAccessible()

	link := regexp.MustCompile(regexp.QuoteMeta(e.api) + `/portal/sign-in/[A-Za-z0-9_-]+`)
	var url string
	e.eventually("the sign-in email", 30*time.Second, func() (bool, string) {
		for _, m := range e.mailbox(partner) { // newest first
			if l := link.FindString(m.Text); l != "" && !m.SentAt.Before(asked.Add(-time.Second)) {
				url = l
				return true, ""
			}
		}
		return false, "no new sign-in link"
	})
	tab.Do(chromedp.Navigate(url))
	tab.Wait(`!!document.querySelector('main form button')`)
	tab.Screenshot("portal-confirm")
	tab.AssertAccessible()
	tab.Do(chromedp.Click(chromedp.CSS(`main form button`)))
	tab.WaitURL(e.api + "/portal")
}
