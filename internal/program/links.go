package program

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// This file holds what a program says about its referral links
// (GET /r/{code}) and the embeddable form's attribution:
//
//	links:
//	  landing_url: https://www.example.com/partners  # where /r/{code} sends people (required for links)
//	  param: ref           # query parameter carrying the code (default ref)
//	  cookie_days: 90      # first-party cookie on the marketing site (default 90, 0 = no cookie)
//	  attribution: last    # first | last click wins (default last)
//
// Every field may be left out: the accessors below give the defaults, so a
// program stored before links existed reads like one that leaves them out
// (its links answer "not set up" until it names a landing URL).

// Defaults and bounds of Links.
const (
	DefaultLinkParam  = "ref"
	DefaultCookieDays = 90
	// MaxCookieDays is the longest cookie browsers keep (Chrome caps
	// cookies at 400 days).
	MaxCookieDays = 400
)

// Attribution rules: which referral code a visitor who followed several
// partners' links is credited to.
const (
	AttributionFirst = "first" // the first code seen keeps the visitor until the cookie expires
	AttributionLast  = "last"  // the latest link followed wins
)

// Links configures the program's referral links and the cookie the
// embeddable form keeps on the marketing site.
type Links struct {
	// LandingURL is the page /r/{code} redirects to, with the code and the
	// link's utm_* parameters added to its query. Empty: the program's
	// links are not set up and answer a 404 page.
	LandingURL string `json:"landing_url,omitempty"`
	// Param is the query parameter carrying the code (ParamName gives the
	// default).
	Param string `json:"param,omitempty"`
	// CookieDays is the lifetime of the referral-code cookie on the
	// marketing site: nil = DefaultCookieDays, 0 = no cookie (Cookie).
	CookieDays *int `json:"cookie_days,omitempty"`
	// Attribution is AttributionFirst or AttributionLast (Rule gives the
	// default).
	Attribution string `json:"attribution,omitempty"`
}

// ParamName is the query parameter carrying the code: Param, else
// DefaultLinkParam.
func (l Links) ParamName() string {
	if l.Param == "" {
		return DefaultLinkParam
	}
	return l.Param
}

// Cookie is the cookie lifetime in days: CookieDays, else
// DefaultCookieDays; 0 means no cookie.
func (l Links) Cookie() int {
	if l.CookieDays == nil {
		return DefaultCookieDays
	}
	return *l.CookieDays
}

// Rule is the attribution rule: Attribution, else AttributionLast.
func (l Links) Rule() string {
	if l.Attribution == "" {
		return AttributionLast
	}
	return l.Attribution
}

// fileLinks is the links section as written in a program file.
type fileLinks struct {
	LandingURL  string `json:"landing_url" yaml:"landing_url"`
	Param       string `json:"param" yaml:"param"`
	CookieDays  *int   `json:"cookie_days" yaml:"cookie_days"`
	Attribution string `json:"attribution" yaml:"attribution"`
}

// convert copies the links section, trimmed and with the rule
// lower-cased; nothing in it needs parsing.
func (fl fileLinks) convert() Links {
	l := Links{
		LandingURL:  strings.TrimSpace(fl.LandingURL),
		Param:       strings.TrimSpace(fl.Param),
		Attribution: strings.ToLower(strings.TrimSpace(fl.Attribution)),
	}
	if fl.CookieDays != nil {
		days := *fl.CookieDays
		l.CookieDays = &days
	}
	return l
}

// paramPattern is what a link's query parameter may be: letters, digits,
// '_', '-' and '.', as people type them in URLs.
var paramPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)

var attributionRules = []string{AttributionFirst, AttributionLast}

// validateLinks checks the links section: an absolute https landing URL
// (http only for localhost), a plain parameter name that is not a utm_
// one, a cookie lifetime within 0..MaxCookieDays and a known rule.
func (p *Program) validateLinks(ps *problems) {
	l := p.Links
	if l.LandingURL != "" {
		if msg := checkLandingURL(l.LandingURL); msg != "" {
			ps.add("links.landing_url", "%s", msg)
		}
	}
	if l.Param != "" {
		switch {
		case !paramPattern.MatchString(l.Param):
			ps.add("links.param", "%q must be 1-32 letters, digits, _, - or .", l.Param)
		case strings.HasPrefix(strings.ToLower(l.Param), "utm_"):
			ps.add("links.param", "%q must not start with utm_ (links pass utm_ parameters through)", l.Param)
		}
	}
	if d := l.Cookie(); d < 0 || d > MaxCookieDays {
		ps.add("links.cookie_days", "must be between 0 (no cookie) and %d (default %d)", MaxCookieDays, DefaultCookieDays)
	}
	if l.Attribution != "" && !oneOf(l.Attribution, attributionRules) {
		ps.add("links.attribution", "unknown rule %q (want %s)", l.Attribution, want(attributionRules))
	}
}

// checkLandingURL says what is wrong with u as a landing page (an absolute
// https URL without credentials, or http for localhost), or "" when it is
// one.
func checkLandingURL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil || parsed.Host == "" || parsed.Opaque != "" {
		return fmt.Sprintf("%q is not an absolute URL (want e.g. https://www.example.com/partners)", u)
	}
	if parsed.User != nil {
		return fmt.Sprintf("%q must not carry credentials", u)
	}
	switch parsed.Scheme {
	case "https":
	case "http":
		if host := parsed.Hostname(); host != "localhost" && host != "127.0.0.1" {
			return fmt.Sprintf("%q must use https (http is allowed only for localhost and 127.0.0.1)", u)
		}
	default:
		return fmt.Sprintf("%q must use https", u)
	}
	return ""
}
