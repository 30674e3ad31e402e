package portal

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
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/portal.css assets/copy.js
var assetFS embed.FS

// CSP is the Content-Security-Policy of every portal answer: everything
// from the portal itself, images also inline (the QR code is inline SVG).
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// asset is an embedded file served under a name holding its content hash,
// so it can be cached for a year.
type asset struct {
	name, contentType string
	body              []byte
}

func newAsset(file, contentType string) asset {
	b, err := assetFS.ReadFile("assets/" + file)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	base, ext, _ := strings.Cut(file, ".")
	return asset{name: base + "." + hex.EncodeToString(sum[:6]) + "." + ext, contentType: contentType, body: b}
}

var (
	styles = newAsset("portal.css", "text/css; charset=utf-8")
	script = newAsset("copy.js", "text/javascript; charset=utf-8")
)

// Assets are the paths of the stylesheet and the script pages link.
type Assets struct{ CSS, JS string }

var assetPaths = Assets{CSS: "/portal/assets/" + styles.name, JS: "/portal/assets/" + script.name}

// serveAsset answers GET /portal/assets/<name>.
func serveAsset(method, name string) apigw.Response {
	if method != http.MethodGet && method != http.MethodHead {
		return withSecurityHeaders(apigw.Response{StatusCode: http.StatusMethodNotAllowed, Headers: map[string]string{"allow": "GET, HEAD"}})
	}
	for _, a := range []asset{styles, script} {
		if a.name == name {
			return withSecurityHeaders(apigw.Response{StatusCode: http.StatusOK, Body: string(a.body), Headers: map[string]string{
				"content-type": a.contentType, "cache-control": "public, max-age=31536000, immutable",
			}})
		}
	}
	return withSecurityHeaders(apigw.Response{StatusCode: http.StatusNotFound, Body: "not found", Headers: map[string]string{"content-type": "text/plain; charset=utf-8"}})
}

// view is what every page template gets.
type view struct {
	Title   string // the page's own title
	Site    string // the portal's title
	Assets  Assets
	Partner *store.Partner // the signed-in partner, or nil
	CSRF    string         // the session's CSRF token (signed-in pages)
	Data    any            // the page's own data
}

var funcs = template.FuncMap{
	"date":    func(t time.Time) string { return t.UTC().Format("2 January 2006") },
	"fieldOf": fieldOf,
}

// formField is one labelled input of a form, with its problem.
type formField struct {
	Name, Label, Type, Autocomplete, Value, Error string
	Required                                      bool
}

// fieldOf makes a formField (templates: fieldOf name label type
// autocomplete value errors required).
func fieldOf(name, label, typ, autocomplete, value string, errs map[string]string, required bool) formField {
	return formField{Name: name, Label: label, Type: typ, Autocomplete: autocomplete, Value: value, Error: errs[name], Required: required}
}

var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(n.Name(), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n.Name()))
	}
	return out
}()

// render answers status with page name, for the signed-in partner of r
// when there is one, and sets cookies.
func (h *Handler) render(r *request, status int, name, title string, prog *program.Program, data any, cookies ...string) apigw.Response {
	v := view{Title: title, Site: siteTitle(prog), Assets: assetPaths, Data: data}
	if r.sess != nil {
		v.Partner, v.CSRF = r.sess.partner, r.sess.csrf
		if prog == nil {
			v.Site = siteTitle(r.sess.program)
		}
	}
	var b bytes.Buffer
	if err := pages[name].ExecuteTemplate(&b, "layout", v); err != nil {
		r.log.Error("render page failed", "page", name, "error", err)
		return apigw.Response{StatusCode: http.StatusInternalServerError, Body: fallbackPage,
			Headers: map[string]string{"content-type": "text/html; charset=utf-8"}}
	}
	return apigw.Response{StatusCode: status, Body: b.String(), Cookies: cookies,
		Headers: map[string]string{"content-type": "text/html; charset=utf-8"}}
}

// fallbackPage is the answer when a page cannot be rendered.
const fallbackPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Something went wrong</title></head>` +
	`<body><main><h1>Something went wrong</h1><p>Please try again in a moment.</p></main></body></html>`

func siteTitle(p *program.Program) string {
	if p == nil {
		return "Partner portal"
	}
	return p.PortalTitle()
}

// withSecurityHeaders adds the headers every portal answer carries; an
// answer that says nothing about caching is not cached (personal pages).
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

// seeOther redirects (303) to a portal path, setting cookies.
func seeOther(location string, cookies ...string) apigw.Response {
	return apigw.Response{StatusCode: http.StatusSeeOther, Cookies: cookies, Headers: map[string]string{"location": location}}
}

// message is the data of the message page: a heading's words, paragraphs
// and an optional link.
type message struct {
	Lines    []string
	Link     string
	LinkText string
}

// errorPage is an HTML page for an error status.
func (h *Handler) errorPage(r *request, status int, title, text string) apigw.Response {
	link, linkText := "/portal", "Go to the portal"
	if r.sess == nil {
		link, linkText = "/portal/sign-in", "Sign in"
	}
	return h.render(r, status, "message", title, nil, message{Lines: []string{text}, Link: link, LinkText: linkText})
}

// notFound is the 404 page: an unknown page, or one that is not the
// partner's to see (the same answer).
func (h *Handler) notFound(r *request) apigw.Response {
	return h.errorPage(r, http.StatusNotFound, "Page not found", "There is no page at this address, or it is not yours to see.")
}

// unavailable is the page of a failure (storage, mail, settings): 500,
// nothing to do but try again.
func (h *Handler) unavailable(r *request) apigw.Response {
	return h.errorPage(r, http.StatusInternalServerError, "Something went wrong", "We could not show this page just now. Please try again in a moment.")
}
