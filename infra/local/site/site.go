// Package site is the local stack's example marketing site: the pages a
// company puts on its own site to take referrals, served on a loopback
// origin of their own so that `make run` and the browser tests exercise
// what a real site does (a script from another origin, CORS, a
// first-party cookie, a plain form posting across origins):
//
//	/        the one-tag embed (<script src=API/embed.js data-program=...>)
//	/plain   the same form as plain HTML, for browsers without JavaScript
//	         (?ref=CODE fills in the referral code)
//	/own     the site's own <form data-referflow>, which the script enhances
//	/thanks  the thank-you page intake redirects plain form posts to
//
// The example program names this site as its landing page, thank-you page
// and site origin.
package site

import (
	"embed"
	"html/template"
	"net/http"
	"strings"
)

//go:embed pages/*.html
var pageFS embed.FS

var pages = template.Must(template.ParseFS(pageFS, "pages/*.html"))

// Paths of the site's pages.
const (
	PathEmbed  = "/"
	PathPlain  = "/plain"
	PathThanks = "/thanks"
	PathOwn    = "/own"
)

// Config is what the pages need: the HTTP API's base URL and the program
// their forms post to.
type Config struct {
	API     string
	Program string
}

// Handler serves the site's pages; any other path is 404. Every page is
// sent with a Content-Security-Policy a careful site would have: scripts
// and requests only from itself and the API, so the embed is shown to
// work under one.
func Handler(c Config) http.Handler {
	api := strings.TrimSuffix(c.API, "/")
	mux := http.NewServeMux()
	serve := func(name, title string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			data := map[string]string{"API": api, "Program": c.Program, "Title": title, "Code": r.URL.Query().Get("ref")}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' "+api+"; connect-src 'self' "+api+
				"; style-src 'self' 'unsafe-inline'; img-src 'self'; form-action 'self' "+api+"; base-uri 'none'; frame-ancestors 'none'")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			if err := pages.ExecuteTemplate(w, name, data); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		}
	}
	mux.HandleFunc("GET "+PathEmbed+"{$}", serve("index.html", "Refer a company"))
	mux.HandleFunc("GET "+PathPlain, serve("plain.html", "Refer a company without JavaScript"))
	mux.HandleFunc("GET "+PathThanks, serve("thanks.html", "Thank you"))
	mux.HandleFunc("GET "+PathOwn, serve("own.html", "Refer a company with the site's own form"))
	return mux
}
