package site

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b), rec.Header()
}

func TestPages(t *testing.T) {
	h := Handler(Config{API: "http://127.0.0.1:3000/", Program: "b2b-partners"})
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/", []string{`<script src="http://127.0.0.1:3000/embed.js" data-program="b2b-partners" data-target="#referral-form" async></script>`, `<div id="referral-form"></div>`, `<a href="/plain">`}},
		{"/plain?ref=DEMO", []string{`<form class="plain" action="http://127.0.0.1:3000/referrals" method="post">`, `name="program" value="b2b-partners"`,
			`name="referrer_code" value="DEMO"`, `name="_gotcha"`, `name="referee_email" type="email" autocomplete="email" required`}},
		{"/plain?ref=%22%3E%3Cscript%3E", []string{`value="&#34;&gt;&lt;script&gt;"`}},
		{"/thanks", []string{"<h1>Thank you!</h1>"}},
		{"/own?ref=DEMO", []string{`<form class="plain" data-referflow action="http://127.0.0.1:3000/referrals" method="post">`, `name="referrer_code" value="DEMO"`,
			`<script src="http://127.0.0.1:3000/embed.js" data-program="b2b-partners" async></script>`}},
	} {
		code, body, hdr := get(t, h, c.path)
		if code != 200 || hdr.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("%s: %d %v", c.path, code, hdr)
		}
		csp := hdr.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self' http://127.0.0.1:3000;") || !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:3000;") {
			t.Errorf("%s: CSP %q", c.path, csp)
		}
		for _, w := range append(c.want, `<html lang="en">`, "<main>", "</main>") {
			if !strings.Contains(body, w) {
				t.Errorf("%s does not contain %q:\n%s", c.path, w, body)
			}
		}
	}
	if code, _, _ := get(t, h, "/elsewhere"); code != http.StatusNotFound {
		t.Errorf("unknown page: %d", code)
	}
}
