package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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
	"github.com/referflow/referflow/infra/seed"
	"github.com/referflow/referflow/web/embed"
)

// personAt is a referral a browser made, for the privacy check at the end.
type personAt struct{ id, email, company string }

// browserPerson is a unique company and email for a referral a browser
// makes (test names are too long for a domain label).
func browserPerson() (companyName, email string) {
	n := seq.Add(1)
	return fmt.Sprintf("Browser Co %d", n), fmt.Sprintf("jane.doe@browser-%d-%d.example", time.Now().UnixNano()%1e9, n)
}

// The partner side as people see it, through the local stack and Debian's
// Chromium: a referral link lands on the example marketing site (another
// origin) with its code, the one-tag embed renders the form there, a bad
// email is shown inline, a corrected one is confirmed with the tracking
// link, which opens the status page; with JavaScript off the plain form
// reaches the thank-you page. Each page is checked at desktop and phone
// width, screenshotted, and has no serious or critical axe-core violation.
func TestBrowserReferralLinkEmbedFormAndStatusPage(t *testing.T) {
	b := browser.Start(t) // first: says what is missing before the stack starts
	e := start(t, nil)
	site := e.stack.Site
	if site == "" || !strings.HasPrefix(site, "http://localhost:") {
		t.Fatalf("READY names no example site: %q", site)
	}
	t.Run("links and script over HTTP", func(t *testing.T) { linksOverHTTP(t, e, site) })
	var made []personAt
	// A program without a thank-you URL of its own, on the same site.
	root, err := build.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "programs", "b2b-example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	noThanks := regexp.MustCompile(`(?m)^thank_you_url:.*$`).ReplaceAllString(string(example), "")
	noThanks = regexp.MustCompile(`(?m)^id: b2b-partners`).ReplaceAllString(noThanks, "id: b2b-no-thanks")
	if !strings.Contains(noThanks, "id: b2b-no-thanks") || strings.Contains(noThanks, "thank_you_url:") {
		t.Fatal("the example program is not shaped as the test expects")
	}
	e.publish(string(stack.SiteProgram([]byte(noThanks), site)), seed.Overrides{})
	e.addReferrer("b2b-no-thanks", "NOTHANKS", "partner@no-thanks.example")
	for _, vp := range browser.Viewports {
		t.Run(vp.Name, func(t *testing.T) {
			made = append(made, embedJourney(t, e, b, vp, site))
			made = append(made, plainForm(t, e, b, vp, site))
			made = append(made, productThanks(t, e, b, vp, site, "b2b-no-thanks", "NOTHANKS"))
		})
	}
	t.Run("site form enhanced", func(t *testing.T) { made = append(made, ownForm(t, e, b, site)) })
	for _, p := range made {
		if p.id != "" && e.execExists(p.id) {
			e.assertNoPersonalData(p.id, p.email, "Jane Doe", p.company)
		}
	}
}

// linksOverHTTP checks what a browser cannot see: the redirect itself,
// which clicks count, and the script's and CORS headers.
func linksOverHTTP(t *testing.T, e *env, site string) {
	client := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	follow := func(path, ua string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, e.api+path, nil)
		req.Header.Set("User-Agent", ua)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		return resp
	}
	const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"
	resp := follow("/r/"+demoCode+"?utm_source=newsletter&utm_medium=email&fbclid=x", firefox)
	want := site + "/?ref=" + demoCode + "&utm_medium=email&utm_source=newsletter"
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("link: %d %v, want 302 to %s", resp.StatusCode, resp.Header, want)
	}
	follow("/r/"+demoCode, firefox)                    // the same visitor again today
	follow("/r/"+demoCode, "Twitterbot/1.0")           // an unfurler
	follow("/r/"+demoCode, "Mozilla/5.0 Safari/605.1") // another visitor
	if got := follow("/r/NO-SUCH-CODE?utm_campaign=x", firefox).Header.Get("Location"); got != site+"/?utm_campaign=x" {
		t.Errorf("unknown code: Location %q, want the landing page without a code", got)
	}
	now := time.Now().UTC()
	clicks, err := e.st.Clicks(context.Background(), defaultProgram, demoCode, now.Add(-time.Hour), now)
	if err != nil || clicks[now.Format("2006-01-02")] != 2 {
		t.Errorf("clicks %v (%v), want 2 today: two visitors, no bot", clicks, err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.api+embed.VersionedPath(), nil)
	req.Header.Set("Origin", site)
	js, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	js.Body.Close()
	if js.StatusCode != 200 || js.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
		js.Header.Get("Cache-Control") != embed.CacheImmutable || js.Header.Get("ETag") != embed.ETag() {
		t.Errorf("embed.js: %d %v", js.StatusCode, js.Header)
	}
	pre, _ := http.NewRequest(http.MethodOptions, e.api+"/referrals", nil)
	pre.Header.Set("Origin", site)
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "content-type,idempotency-key")
	if resp, err := client.Do(pre); err != nil || resp.Header.Get("Access-Control-Allow-Origin") != site {
		t.Errorf("preflight from the example site: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
}

// embedJourney follows the referral link in the browser to the embed,
// submits a bad then a good form, and opens the status page.
func embedJourney(t *testing.T, e *env, b *browser.Browser, vp browser.Viewport, site string) personAt {
	tab := b.Tab(t, vp)
	tab.Do(chromedp.Navigate(e.api + "/r/" + demoCode + "?utm_campaign=spring"))
	tab.WaitURL(site + "/?ref=" + demoCode + "&utm_campaign=spring")
	code := `document.querySelector('.rf-form [name=referrer_code]')`
	tab.Wait(code + ` && ` + code + `.value === '` + demoCode + `'`)
	if c := browser.Run(tab, chromedp.Evaluate[string](`document.cookie`)); !strings.Contains(c, "referflow_ref="+demoCode) {
		t.Errorf("the site has no referral cookie: %q", c)
	}
	tab.Screenshot("embed")
	tab.AssertAccessible()

	companyName, email := browserPerson()
	field := func(name string) chromedp.CSS { return chromedp.CSS(".rf-form [name=" + name + "]") }
	tab.Do(
		chromedp.SendKeys(field("referee_name"), "Jane Doe"),
		chromedp.SendKeys(field("referee_email"), "jane@"),
		chromedp.SendKeys(field("referee_company"), companyName),
		chromedp.Click(chromedp.CSS(".rf-submit")),
	)
	tab.Wait(`document.querySelector('.rf-form [name=referee_email]').getAttribute('aria-invalid') === 'true'`)
	emailID := tab.Attr(".rf-form [name=referee_email]", "id")
	errorID := tab.Attr(".rf-form [name=referee_email]", "aria-describedby")
	if msg := tab.Text("#" + errorID); !strings.Contains(msg, "Work email is not an email address") {
		t.Errorf("inline error %q (#%s)", msg, errorID)
	}
	if f := tab.Focused(); f != emailID {
		t.Errorf("focus on %q, want the email field %q", f, emailID)
	}
	tab.Screenshot("invalid")
	tab.AssertAccessible()

	tab.Do(
		chromedp.Evaluate[chromedp.Void](`document.querySelector('.rf-form [name=referee_email]').value = ''`),
		chromedp.SendKeys(field("referee_email"), email),
		chromedp.Click(chromedp.CSS(".rf-submit")),
	)
	tab.Wait(`!!document.querySelector('.rf-done a')`)
	if f := tab.Focused(); f != "div" || !strings.Contains(tab.Text(".rf-done"), "Thank you") {
		t.Errorf("confirmation: focus on %q, text %q", f, tab.Text(".rf-done"))
	}
	track := tab.Attr(".rf-done a", "href")
	if !strings.HasPrefix(track, e.api+"/referrals/ref_") || !strings.Contains(track, "?token=") {
		t.Fatalf("tracking link %q", track)
	}
	id := strings.TrimPrefix(strings.SplitN(track, "?", 2)[0], e.api+"/referrals/")
	tab.Screenshot("confirmation")
	tab.AssertAccessible()
	if r, err := e.st.Referral(context.Background(), id); err != nil || r.ReferrerCode != demoCode || r.RefereeEmail != email {
		t.Errorf("stored referral %+v (%v), want code %s from the link", r, err, demoCode)
	}

	tab.Do(chromedp.Click(chromedp.CSS(".rf-done a")))
	tab.WaitURL(e.api + "/referrals/" + id)
	if h := tab.Text("h1"); h != "Referral status" {
		t.Errorf("status page heading %q", h)
	}
	page := tab.Text("main")
	for _, leak := range []string{email, companyName, "Jane"} {
		if strings.Contains(page, leak) {
			t.Errorf("the status page shows %q", leak)
		}
	}
	tab.Screenshot("status")
	tab.AssertAccessible()

	// Last click wins (the program's default): a later link's code
	// replaces the cookie, and a visit without a code keeps it.
	tab.Do(chromedp.Navigate(site + "/?ref=LATER9"))
	tab.Wait(code + ` && ` + code + `.value === 'LATER9' && document.cookie.includes('referflow_ref=LATER9')`)
	tab.Do(chromedp.Navigate(site + "/"))
	tab.Wait(code + ` && ` + code + `.value === 'LATER9'`)
	return personAt{id: id, email: email, company: companyName}
}

// plainForm posts the no-JavaScript form and lands on the thank-you page.
func plainForm(t *testing.T, e *env, b *browser.Browser, vp browser.Viewport, site string) personAt {
	tab := b.Tab(t, vp, browser.NoScript)
	tab.Do(chromedp.Navigate(site + "/plain?ref=" + url.QueryEscape(demoCode)))
	if v := browser.Run(tab, chromedp.Value(chromedp.CSS("#referrer_code"))); v != demoCode {
		t.Errorf("plain form code %q", v)
	}
	tab.Screenshot("plain")
	tab.AssertAccessible()
	companyName, email := browserPerson()
	tab.Do(
		chromedp.SendKeys(chromedp.CSS("#referee_name"), "Jane Doe"),
		chromedp.SendKeys(chromedp.CSS("#referee_email"), email),
		chromedp.SendKeys(chromedp.CSS("#referee_company"), companyName),
		chromedp.Click(chromedp.CSS(".plain button")),
	)
	tab.WaitURL(site + "/thanks")
	if h := tab.Text("h1"); h != "Thank you!" {
		t.Errorf("thank-you page heading %q", h)
	}
	tab.Screenshot("thanks")
	tab.AssertAccessible()
	ids, err := e.st.ReferralsByEmail(context.Background(), email)
	if err != nil || len(ids) != 1 {
		t.Fatalf("referrals of the plain form's email: %v %v", ids, err)
	}

	// The same company again: the product's own error page, for people.
	tab.Do(chromedp.Navigate(site + "/plain?ref=" + url.QueryEscape(demoCode)))
	tab.Do(
		chromedp.SendKeys(chromedp.CSS("#referee_email"), email),
		chromedp.SendKeys(chromedp.CSS("#referee_company"), companyName),
		chromedp.Click(chromedp.CSS(".plain button")),
	)
	tab.WaitURL(e.api + "/referrals")
	if h := tab.Text("h1"); !strings.Contains(strings.ToLower(h), "already") {
		t.Errorf("duplicate referral page heading %q", h)
	}
	tab.Screenshot("intake-duplicate")
	tab.AssertAccessible()
	return personAt{id: ids[0], email: email, company: companyName}
}

// productThanks posts the plain form to a program without a thank-you URL
// of its own: the product's thank-you page answers, with the link to the
// referral's status page.
func productThanks(t *testing.T, e *env, b *browser.Browser, vp browser.Viewport, site, programID, code string) personAt {
	tab := b.Tab(t, vp)
	tab.Do(chromedp.Navigate(site + "/plain?ref=" + url.QueryEscape(code)))
	companyName, email := browserPerson()
	tab.Do(
		chromedp.SetValue(chromedp.CSS(`input[name=program]`), programID),
		chromedp.SendKeys(chromedp.CSS("#referee_email"), email),
		chromedp.SendKeys(chromedp.CSS("#referee_company"), companyName),
		chromedp.Click(chromedp.CSS(".plain button")),
	)
	tab.WaitURL(e.api + "/referrals")
	if h := tab.Text("h1"); h != "Thank you for your referral" {
		t.Fatalf("the product's thank-you page heading %q", h)
	}
	tab.Screenshot("intake-thanks")
	tab.AssertAccessible()
	ids, err := e.st.ReferralsByEmail(context.Background(), email)
	if err != nil || len(ids) != 1 {
		t.Fatalf("referrals of the form's email: %v %v", ids, err)
	}
	return personAt{id: ids[0], email: email, company: companyName}
}

// ownForm checks that the script enhances a site's own <form
// data-referflow>: errors next to the site's fields, then the confirmation.
func ownForm(t *testing.T, e *env, b *browser.Browser, site string) personAt {
	tab := b.Tab(t, browser.Desktop)
	tab.Do(chromedp.Navigate(site + "/own?ref=" + demoCode))
	tab.Wait(`!!document.querySelector('form[data-referflow] .rf-status')`)
	companyName, email := browserPerson()
	tab.Do(
		chromedp.SendKeys(chromedp.CSS("#own-email"), "not-an-email"),
		chromedp.SendKeys(chromedp.CSS("#own-company"), companyName),
		chromedp.Click(chromedp.CSS("form[data-referflow] button")),
	)
	tab.Wait(`document.getElementById('own-email').getAttribute('aria-invalid') === 'true'`)
	if by := tab.Attr("#own-email", "aria-describedby"); by != "own-email-error" {
		t.Errorf("aria-describedby %q", by)
	}
	if msg := tab.Text("#own-email-error"); msg != "Their work email is not an email address." {
		t.Errorf("inline error %q", msg)
	}
	tab.Screenshot("own-invalid")
	tab.AssertAccessible()
	tab.Do(
		chromedp.Evaluate[chromedp.Void](`document.getElementById('own-email').value = ''`),
		chromedp.SendKeys(chromedp.CSS("#own-email"), email),
		chromedp.Click(chromedp.CSS("form[data-referflow] button")),
	)
	tab.Wait(`!!document.querySelector('.rf-done a')`)
	tab.AssertAccessible()
	ids, err := e.st.ReferralsByEmail(context.Background(), email)
	if err != nil || len(ids) != 1 {
		t.Fatalf("referrals of the own form's email: %v %v", ids, err)
	}
	return personAt{id: ids[0], email: email, company: companyName}
}
