package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// loopbackJar is a cookie jar that, like a browser, treats the local
// stack's loopback http origin as secure: the portal's cookies are Secure
// (and __Secure- prefixed), and Go's jar sends those over https only.
type loopbackJar struct{ *cookiejar.Jar }

func secureURL(u *url.URL) *url.URL {
	cp := *u
	if cp.Scheme == "http" && (cp.Hostname() == "127.0.0.1" || cp.Hostname() == "localhost") {
		cp.Scheme = "https"
	}
	return &cp
}

func (j loopbackJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.Jar.SetCookies(secureURL(u), cookies)
}
func (j loopbackJar) Cookies(u *url.URL) []*http.Cookie { return j.Jar.Cookies(secureURL(u)) }

// portalBrowser is a person on the portal: cookies kept, redirects not
// followed (the test reads them), Origin sent on forms as a browser does.
type portalBrowser struct {
	e      *env
	client *http.Client
}

func (e *env) portalBrowser() *portalBrowser {
	jar, _ := cookiejar.New(nil)
	return &portalBrowser{e: e, client: &http.Client{Timeout: 20 * time.Second, Jar: loopbackJar{jar},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *portalBrowser) do(method, path string, form url.Values) (*http.Response, string) {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.api+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.e.api)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp, string(page)
}

var portalCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// submit posts a form of the page at from, with its CSRF token.
func (b *portalBrowser) submit(from, path string, form url.Values) (*http.Response, string) {
	b.e.t.Helper()
	_, page := b.do(http.MethodGet, from, nil)
	m := portalCSRF.FindStringSubmatch(page)
	if m == nil {
		b.e.t.Fatalf("GET %s has no form token:\n%s", from, page)
	}
	form.Set("csrf", m[1])
	return b.do(http.MethodPost, path, form)
}

// A partner signs in to the portal by the link emailed to them (read from
// the local mailbox) and sees the referral they made; an unknown email
// gets the same answer and no email.
func TestPartnerSignsInByEmailedLinkAndSeesTheirReferral(t *testing.T) {
	const partner = "partner@demo-referrer.example" // the seeded demo partner (code DEMO)
	e := start(t, nil)
	name, email := company(t)
	e.refer(email, name)

	b := e.portalBrowser()
	resp, known := b.submit("/portal/sign-in", "/portal/sign-in", url.Values{"email": {partner}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(known, "a link to sign in is on its way") {
		t.Fatalf("POST /portal/sign-in = %d:\n%s", resp.StatusCode, known)
	}
	nobody := "nobody@" + strings.Split(email, "@")[1]
	resp, unknown := b.submit("/portal/sign-in", "/portal/sign-in", url.Values{"email": {nobody}})
	same := func(page, addr string) string {
		return portalCSRF.ReplaceAllString(strings.ReplaceAll(page, addr, "EMAIL"), "")
	}
	if resp.StatusCode != http.StatusOK || same(known, partner) != same(unknown, nobody) {
		t.Fatalf("an unknown email is answered differently (%d):\n%s", resp.StatusCode, unknown)
	}

	link := regexp.MustCompile(regexp.QuoteMeta(e.api) + `(/portal/sign-in/[A-Za-z0-9_-]+)`)
	var path string
	e.eventually("the sign-in email", 30*time.Second, func() (bool, string) {
		for _, m := range e.mailbox(partner) {
			if l := link.FindStringSubmatch(m.Text); l != nil {
				path = l[1]
				return true, ""
			}
		}
		return false, "no sign-in link yet"
	})
	if len(e.mailbox(nobody)) != 0 {
		t.Fatal("an unknown email was sent something")
	}

	resp, _ = b.submit(path, path, url.Values{})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/portal" {
		t.Fatalf("POST %s = %d %v", path, resp.StatusCode, resp.Header)
	}
	cookie := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	for _, attr := range []string{"__Secure-referflow_portal=", "Path=/portal", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("session cookie lacks %q: %s", attr, cookie)
		}
	}
	resp, home := b.do(http.MethodGet, "/portal", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(home, name) || !strings.Contains(home, e.api+"/r/"+demoCode) {
		t.Fatalf("GET /portal = %d:\n%s", resp.StatusCode, home)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("portal headers: %v", resp.Header)
	}
	if strings.Contains(home, email) {
		t.Error("the partner's page shows the referee's email")
	}
	// The link was used: it works no more.
	if resp, _ := e.portalBrowser().submit("/portal/sign-in", path, url.Values{}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the link worked twice: %d", resp.StatusCode)
	}
}
