package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/money"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/console.css
var assetFS embed.FS

// CSP is the Content-Security-Policy of every console answer: everything
// from the console itself, no script at all, images also inline (SVG
// charts).
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

type asset struct {
	name, contentType string
	body              []byte
}

var styles = func() asset {
	b, err := assetFS.ReadFile("assets/console.css")
	if err != nil {
		panic(err)
	}
	b = append(b, sectionStyles...) // the KPI figures and section pages (kpis.go)
	sum := sha256.Sum256(b)
	return asset{name: "console." + hex.EncodeToString(sum[:6]) + ".css", contentType: "text/css; charset=utf-8", body: b}
}()

// StylesPath is the path of the console's stylesheet.
var StylesPath = "/console/assets/" + styles.name

func serveAsset(method, name string) apigw.Response {
	if method != http.MethodGet && method != http.MethodHead {
		return withSecurityHeaders(apigw.Response{StatusCode: http.StatusMethodNotAllowed, Headers: map[string]string{"allow": "GET, HEAD"}})
	}
	if name != styles.name {
		return withSecurityHeaders(apigw.Response{StatusCode: http.StatusNotFound, Body: "not found", Headers: map[string]string{"content-type": "text/plain; charset=utf-8"}})
	}
	return withSecurityHeaders(apigw.Response{StatusCode: http.StatusOK, Body: string(styles.body), Headers: map[string]string{
		"content-type": styles.contentType, "cache-control": "public, max-age=31536000, immutable"}})
}

// NavEntry is one entry of the console's navigation.
type NavEntry struct {
	Name, Href     string
	Current, Alive bool // the page's own entry; its section is registered
}

var navOrder = []NavEntry{
	{Name: "Queues", Href: "/console"}, {Name: "Referrals", Href: "/console/referrals"},
	{Name: "Partners", Href: "/console/partners"}, {Name: "Programs", Href: "/console/programs"},
	{Name: "KPIs", Href: "/console/kpis"}, {Name: "Experiments", Href: "/console/experiments"}, {Name: "Exports", Href: "/console/exports"},
	{Name: "Audit", Href: "/console/audit"},
}

// View is what every page template gets.
type View struct {
	Title  string
	CSS    string
	Op     *Operator // nil before sign-in
	CSRF   string
	Nav    []NavEntry
	Notice string // a notice from ?done=
	Data   any
}

var funcs = template.FuncMap{
	"date":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
	"when":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
	"money": money.Format,
}

var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(n.Name(), ".html")
		if name != "layout" {
			out[name] = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n.Name()))
		}
	}
	return out
}()

// Render answers status with page name (templates/<name>.html, defining
// "content") inside the layout, for the signed-in operator of r when
// there is one, and sets cookies.
func (h *Handler) Render(r *Request, status int, name, title string, data any, cookies ...string) apigw.Response {
	v := View{Title: title, CSS: StylesPath, Data: data, Notice: notices[r.Query("done")]}
	if r.Op != nil {
		v.Op, v.CSRF = r.Op, r.Op.CSRF
		for _, e := range navOrder {
			e.Current, e.Alive = e.Name == r.nav, registered(e.Name)
			v.Nav = append(v.Nav, e)
		}
	}
	t, ok := pages[name]
	var b bytes.Buffer
	if !ok {
		r.Log.Error("no such page", "page", name)
		return apigw.Response{StatusCode: http.StatusInternalServerError, Body: fallbackPage, Headers: map[string]string{"content-type": "text/html; charset=utf-8"}}
	}
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		r.Log.Error("render page failed", "page", name, "error", err)
		return apigw.Response{StatusCode: http.StatusInternalServerError, Body: fallbackPage, Headers: map[string]string{"content-type": "text/html; charset=utf-8"}}
	}
	return apigw.Response{StatusCode: status, Body: b.String(), Cookies: cookies, Headers: map[string]string{"content-type": "text/html; charset=utf-8"}}
}

const fallbackPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Something went wrong</title></head>` +
	`<body><main><h1>Something went wrong</h1><p>Please try again in a moment.</p></main></body></html>`

// notices are the notices a page shows after an action (?done=).
var notices = map[string]string{
	"approved": "The referral was approved.", "rejected": "The referral was rejected.",
	"reward-approved": "The reward was approved.", "reward-declined": "The reward was declined.",
	"rearmed": "The reward was re-armed: it is paid again.", "voided": "The reward was voided.",
	"resumed": "The referral was resumed.", "milestone": "The milestone was recorded.",
}

// withSecurityHeaders adds the headers every console answer carries.
func withSecurityHeaders(resp apigw.Response) apigw.Response {
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	resp.Headers["content-security-policy"] = CSP
	resp.Headers["x-content-type-options"] = "nosniff"
	resp.Headers["referrer-policy"] = "same-origin"
	if resp.Headers["cache-control"] == "" {
		resp.Headers["cache-control"] = "no-store"
	}
	return resp
}

// message is the data of the message page.
type message struct {
	Lines          []string
	Link, LinkText string
}

// ErrorPage is an HTML page for an error status.
func (h *Handler) ErrorPage(r *Request, status int, title, text string) apigw.Response {
	link, linkText := "/console", "Go to the queues"
	if r.Op == nil {
		link, linkText = "/console/sign-in", "Sign in"
	}
	return h.Render(r, status, "message", title, message{Lines: []string{text}, Link: link, LinkText: linkText})
}

// NotFound is the 404 page.
func (h *Handler) NotFound(r *Request) apigw.Response {
	return h.ErrorPage(r, http.StatusNotFound, "Page not found", "There is no page at this address.")
}

// Unavailable is the page of a failure: 500, nothing to do but try again.
func (h *Handler) Unavailable(r *Request) apigw.Response {
	return h.ErrorPage(r, http.StatusInternalServerError, "Something went wrong", "We could not do this just now. Please try again in a moment.")
}
