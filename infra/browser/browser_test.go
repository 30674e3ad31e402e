package browser

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
)

const goodPage = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Good</title></head>
<body><main><h1>Good page</h1><form><label for="e">Email</label><input id="e" type="email"></form>
<p id="js">scripts off</p><script>document.getElementById('js').textContent = 'scripts on'</script></main></body></html>`

// badPage breaks rules axe-core rates serious or critical: an image
// without a text alternative, an unlabelled field, unreadable contrast.
const badPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bad</title></head>
<body><main><h1>Bad page</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<input type="text"><p style="color:#ccc;background:#fff">faint text</p></main></body></html>`

func server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/bad" {
			_, _ = w.Write([]byte(badPage))
			return
		}
		_, _ = w.Write([]byte(goodPage))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAxeFindsWhatBlocksPeopleAndPassesTheRest(t *testing.T) {
	b := Start(t)
	srv := server(t)
	tab := b.Tab(t, Desktop)
	tab.Do(chromedp.Navigate(srv.URL + "/bad"))
	var blocking []string
	for _, v := range tab.Axe() {
		if v.Blocking() {
			blocking = append(blocking, v.ID)
		}
	}
	for _, want := range []string{"image-alt", "label", "color-contrast"} {
		if !slices.Contains(blocking, want) {
			t.Errorf("axe did not report %s on the bad page (blocking: %v)", want, blocking)
		}
	}
	tab.Do(chromedp.Navigate(srv.URL + "/good"))
	for _, v := range tab.Axe() {
		if v.Blocking() {
			t.Errorf("the good page: %s", v)
		}
	}
}

func TestViewportsScreenshotsAndScriptsOff(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(ArtifactsEnv, dir)
	b := Start(t)
	srv := server(t)
	for _, vp := range Viewports {
		tab := b.Tab(t, vp)
		tab.Do(chromedp.Navigate(srv.URL + "/"))
		if w := Run(tab, chromedp.Evaluate[int64](`window.innerWidth`)); w != vp.Width {
			t.Errorf("%s: innerWidth %d, want %d", vp.Name, w, vp.Width)
		}
		if got := tab.Text("#js"); got != "scripts on" {
			t.Errorf("%s: %q, want the page's script to run", vp.Name, got)
		}
		path := tab.Screenshot("good")
		png, err := os.ReadFile(path)
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || filepath.Dir(path) != dir {
			t.Errorf("%s: screenshot %s is not a PNG in %s (%v)", vp.Name, path, dir, err)
		}
	}
	off := b.Tab(t, Phone, NoScript)
	off.Do(chromedp.Navigate(srv.URL + "/"))
	if got := off.Text("#js"); got != "scripts off" {
		t.Errorf("NoScript tab: %q, want the page's script not to run", got)
	}
	off.AssertAccessible() // the harness still runs axe-core there
}

func TestLoopback(t *testing.T) {
	for raw, want := range map[string]bool{
		"http://127.0.0.1:3000/embed.js": true,
		"http://localhost:8080/":         true,
		"http://[::1]:80/":               true,
		"ws://127.0.0.1:9/":              true,
		"data:image/png;base64,AAAA":     true,
		"about:blank":                    true,
		"https://www.example.com/":       false,
		"http://10.0.0.1/":               false,
		"https://fonts.googleapis.com/x": false,
	} {
		if got := loopback(raw); got != want {
			t.Errorf("loopback(%q) = %v, want %v", raw, got, want)
		}
	}
}
