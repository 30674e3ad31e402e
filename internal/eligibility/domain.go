package eligibility

import (
	_ "embed"
	"net/mail"
	"strings"
)

//go:embed freemail.txt
var freeMailText string

//go:embed disposable.txt
var disposableText string

// The lists are built once from the embedded files and only read afterwards.
var (
	freeMailDomains   = parseList(freeMailText)
	disposableDomains = parseList(disposableText)
)

func parseList(text string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out[strings.ToLower(line)] = true
	}
	return out
}

// DomainOf returns the lower-cased domain of an email address
// ("Bob@EU.Acme.com" gives "eu.acme.com"), or "" when the address has no
// usable domain. Display names ("Bob <bob@acme.com>") are accepted.
func DomainOf(email string) string {
	email = strings.TrimSpace(email)
	if email == "" {
		return ""
	}
	if a, err := mail.ParseAddress(email); err == nil {
		email = a.Address
	}
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 {
		return ""
	}
	d := NormalizeDomain(email[at+1:])
	if !strings.Contains(d, ".") || strings.ContainsAny(d, " @/:") {
		return ""
	}
	return d
}

// NormalizeDomain turns what a form may carry as a company domain or website
// ("https://www.Acme.com/about", "acme.com.") into a bare lower-case domain
// ("acme.com"). A leading "www." is dropped.
func NormalizeDomain(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.Contains(s[i:], "]") {
		s = s[:i]
	}
	s = strings.TrimSuffix(s, ".")
	s = strings.TrimPrefix(s, "www.")
	return s
}

// Under reports whether domain is parent or domain itself, or one of its
// subdomains: Under("eu.acme.com", "acme.com") is true,
// Under("notacme.com", "acme.com") is false. Both must be normalized.
func Under(domain, parent string) bool {
	if domain == "" || parent == "" {
		return false
	}
	return domain == parent || strings.HasSuffix(domain, "."+parent)
}

// inList reports whether domain or one of its parent domains is in list.
func inList(domain string, list map[string]bool) bool {
	for d := domain; d != ""; {
		if list[d] {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	return false
}

// IsFreeMail reports whether domain (or a parent of it) is a free-mail
// provider such as gmail.com or outlook.com, from a list embedded in the
// binary.
func IsFreeMail(domain string) bool {
	return inList(NormalizeDomain(domain), freeMailDomains)
}

// IsDisposable reports whether domain (or a parent of it) is a known
// disposable-mailbox service such as mailinator.com, from a list embedded in
// the binary.
func IsDisposable(domain string) bool {
	return inList(NormalizeDomain(domain), disposableDomains)
}

// multiLabelSuffixes are public suffixes of two labels under which companies
// register their domains (acme.co.uk, acme.github.io). The list is short on
// purpose: it covers the common country second-level domains and shared
// hosting, not the full Public Suffix List.
var multiLabelSuffixes = map[string]bool{
	"co.uk": true, "org.uk": true, "ac.uk": true, "gov.uk": true, "ltd.uk": true, "plc.uk": true, "me.uk": true,
	"com.au": true, "net.au": true, "org.au": true, "edu.au": true, "gov.au": true,
	"co.nz": true, "org.nz": true, "net.nz": true,
	"co.jp": true, "ne.jp": true, "or.jp": true, "ac.jp": true,
	"co.kr": true, "or.kr": true,
	"co.in": true, "net.in": true, "org.in": true, "firm.in": true,
	"co.za": true, "org.za": true,
	"com.br": true, "net.br": true, "org.br": true,
	"com.mx": true, "org.mx": true,
	"com.ar": true, "com.co": true, "com.pe": true, "com.uy": true, "com.ve": true,
	"com.cn": true, "net.cn": true, "org.cn": true,
	"com.hk": true, "org.hk": true,
	"com.sg": true, "org.sg": true, "com.my": true, "com.ph": true, "co.id": true, "co.th": true, "com.tw": true, "com.vn": true,
	"com.tr": true, "com.eg": true, "com.sa": true, "co.il": true, "org.il": true,
	// shared hosting: each subdomain is a different owner
	"github.io": true, "herokuapp.com": true, "vercel.app": true, "netlify.app": true, "pages.dev": true,
	"azurewebsites.net": true, "appspot.com": true, "blogspot.com": true, "wordpress.com": true, "myshopify.com": true,
	"com.pl": true, "co.at": true, "or.at": true, "com.ua": true, "com.ru": true,
}

// Organization returns the domain a company registers, used to tell whether
// two domains belong to the same organization: "eu.acme.com" and
// "us.acme.com" both give "acme.com", "shop.acme.co.uk" gives "acme.co.uk".
func Organization(domain string) string {
	d := NormalizeDomain(domain)
	labels := strings.Split(d, ".")
	n := len(labels)
	if n <= 2 {
		return d
	}
	if multiLabelSuffixes[labels[n-2]+"."+labels[n-1]] {
		return strings.Join(labels[n-3:], ".")
	}
	return strings.Join(labels[n-2:], ".")
}
