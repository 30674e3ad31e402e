package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/localtest"
)

// benchPortalReferrals is how many referrals the benchmark's partner has:
// the page lists them all with their milestones and rewards.
const benchPortalReferrals = 25

// BenchmarkPortalPage measures the partner portal's home page, the page a
// partner opens most: b.N signed-in GET /portal of a partner with
// benchPortalReferrals referrals, through the local HTTP API and the real
// built portal function. It reports the server time (p50 and p95 of the
// round trip on loopback: the function's run plus the local API's hop) and
// the page weight (the HTML and every asset it references, as a first
// visit downloads them).
//
//	go test -run '^$' -bench PortalPage -benchtime 50x ./infra/e2e
func BenchmarkPortalPage(b *testing.B) {
	s := localtest.Start(b, localtest.Options{Env: stackVars(nil)})
	e := &env{stack: s, api: s.API, http: &http.Client{Timeout: 30 * time.Second}}
	e.init(b)
	for i := 0; i < benchPortalReferrals; i++ {
		body := fmt.Sprintf(`{"referrer_code":%q,"referee_email":"buyer%d@portal-bench-%d.example","referee_company":"Portal Bench %d"}`, demoCode, i, i, i)
		if code, out, err := e.rawPost("/referrals", "application/json", []byte(body), nil); err != nil || code != http.StatusAccepted {
			b.Fatalf("referral %d: %d %s %v", i, code, out, err)
		}
	}
	client := signedInPartner(b, e.api, "partner@demo-referrer.example")
	get := func(path string) (int, []byte, time.Duration) {
		req, _ := http.NewRequest(http.MethodGet, e.api+path, nil)
		req.Header.Set("Accept", "text/html")
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, body, time.Since(start)
	}
	code, page, _ := get("/portal")
	if code != http.StatusOK || !strings.Contains(string(page), "Portal Bench") {
		b.Fatalf("GET /portal = %d:\n%s", code, page)
	}
	weight := len(page)
	for _, m := range regexp.MustCompile(`(?:href|src)="(/[^"]+\.(?:css|js|svg|png|ico)[^"]*)"`).FindAllStringSubmatch(string(page), -1) {
		code, asset, _ := get(m[1])
		if code != http.StatusOK {
			b.Fatalf("asset %s = %d", m[1], code)
		}
		weight += len(asset)
	}
	b.ResetTimer()
	times := make([]time.Duration, b.N)
	for i := range times {
		if code, _, d := get("/portal"); code != http.StatusOK {
			b.Fatalf("GET /portal = %d", code)
		} else {
			times[i] = d
		}
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	pct := func(p float64) time.Duration { return times[min(len(times)-1, int(p*float64(len(times))))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.95).Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(weight)/1024, "page-KB")
	b.ReportMetric(0, "ns/op")
	fmt.Printf("\nportal home page, partner with %d referrals, %d requests: p50 %s, p95 %s; page weight %.1f KB (HTML %.1f KB + assets)\n",
		benchPortalReferrals, b.N, pct(0.50).Round(100*time.Microsecond), pct(0.95).Round(100*time.Microsecond), float64(weight)/1024, float64(len(page))/1024)
}

// signedInPartner signs partner in as a browser does (sign-in form, the
// link from the local mailbox, its confirm button) and returns a client
// holding the session cookie.
func signedInPartner(tb testing.TB, api, partner string) *http.Client {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Timeout: 30 * time.Second, Jar: loopbackJar{jar},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string, form url.Values) (int, string) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, api+path, body)
		req.Header.Set("Accept", "text/html")
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", api)
		}
		res, err := c.Do(req)
		if err != nil {
			tb.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		page, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(page)
	}
	submit := func(from, to string) int {
		_, page := do(http.MethodGet, from, nil)
		m := portalCSRF.FindStringSubmatch(page)
		if m == nil {
			tb.Fatalf("GET %s has no form token", from)
		}
		form := url.Values{"csrf": {m[1]}}
		if to == "/portal/sign-in" {
			form.Set("email", partner)
		}
		code, _ := do(http.MethodPost, to, form)
		return code
	}
	if code := submit("/portal/sign-in", "/portal/sign-in"); code != http.StatusOK {
		tb.Fatalf("POST /portal/sign-in = %d", code)
	}
	link := regexp.MustCompile(regexp.QuoteMeta(api) + `(/portal/sign-in/[A-Za-z0-9_-]+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, api+"/_local/mail?to="+url.QueryEscape(partner), nil)
		req.Header.Set("Accept", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		var msgs []struct{ Text string }
		_ = json.NewDecoder(res.Body).Decode(&msgs)
		res.Body.Close()
		for _, m := range msgs {
			if l := link.FindStringSubmatch(m.Text); l != nil {
				if code := submit(l[1], l[1]); code != http.StatusSeeOther {
					tb.Fatalf("POST %s = %d", l[1], code)
				}
				return c
			}
		}
		if time.Now().After(deadline) {
			tb.Fatal("no sign-in email in the local mailbox after 30 s")
		}
		time.Sleep(300 * time.Millisecond)
	}
}
