package browser

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Viewport is a window size a page is tried at.
type Viewport struct {
	Name          string // in screenshot names
	Width, Height int64
	Mobile        bool // mobile emulation: meta viewport, touch, device scale 2
}

// The two viewports pages are checked at.
var (
	Desktop = Viewport{Name: "desktop", Width: 1280, Height: 900}
	Phone   = Viewport{Name: "phone", Width: 360, Height: 740, Mobile: true}
)

// Viewports lists Desktop and Phone, for tests that try both.
var Viewports = []Viewport{Desktop, Phone}

// Tab is one browser tab at one viewport.
type Tab struct {
	Viewport
	b   *Browser
	t   testing.TB
	ctx context.Context

	noScript bool

	mu      sync.Mutex
	offHost []string // requests to hosts off loopback
}

// TabOption changes a new tab.
type TabOption func(tab *Tab) error

// NoScript turns the pages' JavaScript off in the tab, as in a browser
// with JavaScript disabled (the harness still evaluates, and Axe still
// runs).
func NoScript(tab *Tab) error {
	tab.noScript = true
	return scriptsOff(tab.ctx, true)
}

func scriptsOff(ctx context.Context, off bool) error {
	_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: off})
	return err
}

// Tab opens a new tab at vp for test t (a subtest of the browser's test,
// or the test itself), in the browser's profile: cookies are shared
// between its tabs. Every request the tab's pages make is watched: one to
// a host off loopback fails t when the tab closes (t.Cleanup).
func (b *Browser) Tab(t testing.TB, vp Viewport, opts ...TabOption) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	tab := &Tab{Viewport: vp, b: b, t: t, ctx: ctx}
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range requests {
			if err != nil {
				return
			}
			if !loopback(ev.Request.URL) {
				tab.mu.Lock()
				tab.offHost = append(tab.offHost, ev.Request.URL)
				tab.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		tab.mu.Lock()
		defer tab.mu.Unlock()
		if len(tab.offHost) > 0 {
			t.Errorf("browser: the %s tab requested hosts off loopback: %v", vp.Name, tab.offHost)
		}
	})
	emulate := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if vp.Mobile {
		emulate = []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile}
	}
	tab.Do(chromedp.EmulateViewport(vp.Width, vp.Height, emulate...))
	for _, o := range opts {
		if err := o(tab); err != nil {
			t.Fatalf("browser: tab option: %v", err)
		}
	}
	return tab
}

// loopback reports whether a request stays on this machine (or needs no
// network at all: data:, blob:, about:).
func loopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return true
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Context is the tab's chromedp context (for chromedp.Events and calls the
// harness does not wrap).
func (tab *Tab) Context() context.Context { return tab.ctx }

// Do runs actions in the tab, within Timeout; an error fails the test.
func (tab *Tab) Do(actions ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tab.t.Fatalf("browser (%s): %v", tab.Name, err)
	}
}

// Run runs one action in tab and returns its value, within Timeout; an
// error fails the test.
func Run[T any](tab *Tab, a chromedp.Action[T]) T {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tab.t.Fatalf("browser (%s): %v", tab.Name, err)
	}
	return v
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// Screenshot writes a full-page PNG of the tab as a test artefact,
// <test>-<name>-<viewport>.png in Artifacts, and returns its path. A name
// used twice in one test fails it.
func (tab *Tab) Screenshot(name string) string {
	tab.t.Helper()
	png := Run(tab, chromedp.FullScreenshot(100))
	file := unsafeName.ReplaceAllString(tab.t.Name()+"-"+name+"-"+tab.Name, "_") + ".png"
	tab.b.mu.Lock()
	dup := tab.b.shots[file]
	tab.b.shots[file] = true
	tab.b.mu.Unlock()
	if dup {
		tab.t.Fatalf("browser: screenshot %s taken twice in this test", file)
	}
	path := filepath.Join(tab.b.dir, file)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tab.t.Fatalf("browser: write screenshot: %v", err)
	}
	tab.t.Logf("screenshot %s", path)
	return path
}

// Text is the rendered text of the first element matching a CSS selector,
// waiting (up to Timeout) for one to exist.
func (tab *Tab) Text(css string) string {
	tab.t.Helper()
	return Run(tab, chromedp.Text(chromedp.CSS(css)))
}

// Attr is an attribute of the first element matching a CSS selector ("" when
// it has none).
func (tab *Tab) Attr(css, name string) string {
	tab.t.Helper()
	return Run(tab, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {getAttribute(){return ''}}).getAttribute(%q) || ''`, css, name)))
}

// Wait waits (up to Timeout) until a JavaScript expression is true in the
// page (scripts must be on).
func (tab *Tab) Wait(js string) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, Timeout)
	defer cancel()
	var err error
	// A poll started while a form post navigates is cut off with the old
	// page ("Inspected target navigated or closed", "Cannot find context
	// with specified id"): poll the new one.
	for {
		if _, err = chromedp.Run(ctx, chromedp.Poll[bool](js)); err == nil || ctx.Err() != nil || !navigatedAway(err) {
			break
		}
		time.Sleep(50 * time.Millisecond) // the new page is loading
	}
	if err != nil {
		text := Run(tab, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ''`))
		tab.t.Fatalf("browser (%s): waiting for %s at %s: %v\npage text:\n%s", tab.Name, js, tab.URL(), err, text)
	}
}

// URL is the tab's current location.
func (tab *Tab) URL() string {
	tab.t.Helper()
	return Run(tab, chromedp.Location())
}

// Focused describes the focused element: its id, else its tag name.
func (tab *Tab) Focused() string {
	tab.t.Helper()
	return Run(tab, chromedp.Evaluate[string](`(e => e ? (e.id || e.tagName.toLowerCase()) : '')(document.activeElement)`))
}

// WaitURL waits (up to Timeout) until the tab's location starts with
// prefix; it works with scripts off too.
func (tab *Tab) WaitURL(prefix string) {
	tab.t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		at := tab.URL()
		if strings.HasPrefix(at, prefix) {
			return
		}
		if time.Now().After(deadline) {
			tab.t.Fatalf("browser (%s): the page did not reach %s within %s (at %s)", tab.Name, prefix, Timeout, at)
		}
		time.Sleep(50 * time.Millisecond) // polling the tab's location
	}
}

// navigatedAway reports whether err is Chromium's answer to a script run in
// a page that was replaced while it ran.
func navigatedAway(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "navigated or closed") || strings.Contains(msg, "Cannot find context with specified id") ||
		strings.Contains(msg, "Execution context was destroyed")
}
