package main

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/intake"
)

// The pages a person posting the plain HTML form sees: a thank-you page
// (when the program has no thank-you URL of its own) and an error page
// listing what is wrong. They are self-contained (the style is inline,
// allowed by its hash in the Content-Security-Policy), load nothing from
// elsewhere and work at phone width.

//go:embed pages/*.html pages/page.css
var pageFS embed.FS

var (
	pageTemplates = template.Must(template.ParseFS(pageFS, "pages/*.html"))
	pageCSS       = func() string { b, _ := pageFS.ReadFile("pages/page.css"); return string(b) }()
	// pageCSP allows the pages' inline style (by its hash) and nothing else.
	pageCSP = func() string {
		sum := sha256.Sum256([]byte(pageCSS))
		return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
			"'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
	}()
)

// fieldLabels name the form's fields the way a person reads them.
var fieldLabels = map[string]string{
	"program":         "Program",
	"referrer_code":   "Referral code",
	"referee_email":   "Email of the person you refer",
	"referee_name":    "Name of the person you refer",
	"referee_company": "Company",
	"referee_domain":  "Company website",
	"referee_phone":   "Phone",
	"message":         "Message",
	"referee_country": "Country",
	"industry":        "Industry",
	"company_size":    "Company size",
}

// titles are the error page's heading per error code.
var titles = map[string]string{
	"invalid_request":         "Some fields need your attention",
	"unknown_referrer":        "This referral code is not known",
	"unknown_program":         "This referral program is not known",
	"duplicate_referral":      "Already referred",
	"origin_not_allowed":      "This form cannot be sent from this site",
	"body_too_large":          "The form is too long",
	"idempotency_key_reused":  "This form was already sent",
	"temporarily_unavailable": "Please try again in a moment",
}

type problem struct{ Label, Problem string }

// thankYouPage is the product's thank-you page (202) for an accepted
// referral, linking to its status page.
func thankYouPage(a Accepted, company string) apigw.Response {
	return page(http.StatusAccepted, "thanks.html", map[string]any{"CSS": template.CSS(pageCSS), "StatusURL": a.StatusURL, "Company": company})
}

// errorPage is the page for a refusal, with its status code: what is
// wrong with each field, and a link back to the form (the page that
// posted it, when the browser said).
func errorPage(req *apigw.Request, r *intake.Refusal) apigw.Response {
	var probs []problem
	for f, msg := range r.Fields {
		label := fieldLabels[f]
		if label == "" {
			label = f
		}
		probs = append(probs, problem{Label: label, Problem: msg})
	}
	sort.Slice(probs, func(i, j int) bool { return probs[i].Label < probs[j].Label })
	title := titles[r.Code]
	if title == "" {
		title = "We could not take your referral"
	}
	return page(r.Status, "error.html", map[string]any{
		"CSS": template.CSS(pageCSS), "Title": title, "Message": sentence(r.Message), "Problems": probs, "Back": backLink(req),
	})
}

// sentence writes an API message ("this company ... program") as a
// sentence for people: a capital first letter and a full stop.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// backLink is the page that posted the form (its Referer, when it is an
// http(s) URL), or "".
func backLink(req *apigw.Request) string {
	u, err := url.Parse(apigw.Header(req, "referer"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return u.String()
}

func page(status int, name string, data any) apigw.Response {
	var b bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&b, name, data); err != nil {
		return apigw.Error(http.StatusInternalServerError, "internal_error", "could not render the page", nil)
	}
	return apigw.Response{StatusCode: status, Body: b.String(), Headers: map[string]string{
		"content-type": "text/html; charset=utf-8", "cache-control": "no-store",
		"content-security-policy": pageCSP, "x-content-type-options": "nosniff", "referrer-policy": "same-origin",
	}}
}
