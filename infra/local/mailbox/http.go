package mailbox

import (
	"embed"
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strings"
)

//go:embed page.html.tmpl
var pageFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"join": strings.Join,
}).ParseFS(pageFS, "page.html.tmpl"))

// Handler serves the box under Path (mount it at Path and Path+"/"):
// GET lists (JSON or HTML by Accept), GET Path/{id} shows one message,
// DELETE Path empties the box.
func (b *Box) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path, b.serveList)
	mux.HandleFunc("GET "+Path+"/{id}", b.serveOne)
	mux.HandleFunc("DELETE "+Path, func(w http.ResponseWriter, r *http.Request) {
		b.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func (b *Box) serveList(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	msgs := b.Messages(to)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, msgs)
		return
	}
	render(w, http.StatusOK, "list", map[string]any{"Messages": msgs, "To": to, "Path": Path})
}

func (b *Box) serveOne(w http.ResponseWriter, r *http.Request) {
	m, ok := b.Message(r.PathValue("id"))
	switch {
	case !ok && wantsJSON(r):
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{
			"code": "not_found", "message": "no message with this id", "fields": map[string]string{},
		}})
	case !ok:
		render(w, http.StatusNotFound, "missing", map[string]any{"Path": Path})
	case wantsJSON(r):
		writeJSON(w, http.StatusOK, m)
	default:
		names := make([]string, 0, len(m.Headers))
		for k := range m.Headers {
			names = append(names, k)
		}
		sort.Strings(names)
		render(w, http.StatusOK, "message", map[string]any{"M": m, "HeaderNames": names, "Path": Path})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// render writes an HTML page; the pages allow no script and frame the
// messages' HTML in a sandbox without scripts or same-origin access.
func render(w http.ResponseWriter, status int, name string, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self' about:; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, data)
}
