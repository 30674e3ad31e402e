package main

import (
	_ "embed" // the page template is compiled in
	"html/template"
	"net/http"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// pageData is what a page for people says: its title and heading, some
// paragraphs, a link to try again, and a hint for whoever runs the program.
type pageData struct {
	Title, Heading string
	Lines          []string
	Retry          string
	Hint           string
}

// notSetUp is the page of a link whose program has no landing page.
var notSetUp = pageData{
	Title:   "Referral link not set up",
	Heading: "This referral link does not lead anywhere yet",
	Lines:   []string{"The program behind this link has no landing page yet, so there is nothing to show you here."},
	Hint:    "Running the program? Give it a landing page (links.landing_url in the program file, see docs/embed.md) and publish it again.",
}

// unavailablePage is the page of a link that could not be looked up: try
// the same link again.
func unavailablePage(req *apigw.Request) apigw.Response {
	retry := req.RawPath
	if retry == "" {
		retry = "/r/" + req.PathParameters["code"]
	}
	if req.RawQueryString != "" {
		retry += "?" + req.RawQueryString
	}
	resp := page(http.StatusServiceUnavailable, pageData{
		Title:   "Please try again",
		Heading: "We could not open this link just now",
		Lines:   []string{"This is usually over in a few seconds."},
		Retry:   retry,
	})
	resp.Headers["retry-after"] = "5"
	return resp
}

// page renders d as an HTML answer with status: never cached, no scripts,
// no outside resources, not to be framed.
func page(status int, d pageData) apigw.Response {
	var b strings.Builder
	if err := pageTemplate.Execute(&b, d); err != nil {
		return apigw.Error(http.StatusInternalServerError, "internal_error", "could not render the page", nil)
	}
	return apigw.Response{StatusCode: status, Body: b.String(), Headers: map[string]string{
		"content-type":            "text/html; charset=utf-8",
		"cache-control":           "no-store",
		"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		"x-content-type-options":  "nosniff",
		"referrer-policy":         "no-referrer",
	}}
}
