// Package browser gives tests a real browser: Debian's Chromium, headless,
// driven through chromedp, with a fresh profile per test, desktop and
// phone viewports, full-page screenshots kept as test artefacts, and
// axe-core accessibility checks.
//
//	b := browser.Start(t)                 // fails, saying to run `make browser-deps`, when Chromium or axe-core is missing
//	tab := b.Tab(t, browser.Phone)
//	tab.Do(chromedp.Navigate(site + "/"))
//	tab.Screenshot("embed")               // infra/e2e/artifacts/<test>-embed-phone.png
//	tab.AssertAccessible()                // fails on any serious or critical axe violation
//
// The browser stays on this machine: host names other than localhost do
// not resolve in it, it makes no background requests, and a tab whose page
// requests any host off loopback fails its test. Set REFERFLOW_SKIP_BROWSER=1
// to skip browser tests explicitly; they never skip on their own.
package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/referflow/referflow/infra/local/build"
)

// Environment variables the harness reads.
const (
	// ChromiumEnv names the browser binary (default: /usr/bin/chromium,
	// then chromium, chromium-browser or google-chrome on PATH).
	ChromiumEnv = "REFERFLOW_CHROMIUM"
	// ArtifactsEnv is where screenshots go (default: infra/e2e/artifacts in
	// the repository).
	ArtifactsEnv = "REFERFLOW_ARTIFACTS"
	// SkipEnv=1 skips browser tests (they fail when the browser is missing
	// otherwise).
	SkipEnv = "REFERFLOW_SKIP_BROWSER"
	// AxeEnv names axe.min.js (default: .cache/npm/node_modules/axe-core/axe.min.js
	// in the repository, where `make browser-deps` installs it).
	AxeEnv = "REFERFLOW_AXE"
)

// Setup is what to run when something is missing.
const Setup = "run `make browser-deps` (installs Debian's chromium and axe-core from npm), or set " + SkipEnv + "=1 to skip browser tests"

// Timeout bounds every Do and Run of a tab.
const Timeout = 30 * time.Second

// flags are the browser's command-line switches: headless, no sandbox (tests
// may run as root), no GPU or QUIC, nothing in the background, and every
// host name but localhost unresolvable.
var flags = []chromedp.ExecAllocatorOption{
	chromedp.Headless,
	chromedp.NoSandbox,
	chromedp.DisableGPU,
	chromedp.NoFirstRun,
	chromedp.NoDefaultBrowserCheck,
	chromedp.Flag("disable-quic", true),
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("disable-default-apps", true),
	chromedp.Flag("disable-extensions", true),
	chromedp.Flag("disable-breakpad", true),
	chromedp.Flag("disable-dev-shm-usage", true),
	chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
	chromedp.Flag("metrics-recording-only", true),
	chromedp.Flag("password-store", "basic"),
	chromedp.Flag("no-proxy-server", true),
	chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]"),
	chromedp.Flag("force-color-profile", "srgb"),
	chromedp.Flag("lang", "en-US"),
}

// Browser is one headless Chromium with a fresh profile, for one test.
type Browser struct {
	t     testing.TB
	ctx   context.Context // the browser's first tab (kept open)
	axe   string          // axe-core's source
	dir   string          // where screenshots go
	mu    sync.Mutex
	shots map[string]bool
}

// Start launches Chromium for t and stops it in t.Cleanup. It fails t with
// what to run (Setup) when Chromium or axe-core is missing, and skips t
// only when REFERFLOW_SKIP_BROWSER=1.
func Start(t testing.TB) *Browser {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skip(SkipEnv + "=1: browser tests skipped, so the pages are not checked in a browser (unset it and run make browser-deps)")
	}
	bin, err := Chromium()
	if err != nil {
		t.Fatalf("browser: %v: %s", err, Setup)
	}
	axe, err := AxeCore()
	if err != nil {
		t.Fatalf("browser: %v: %s", err, Setup)
	}
	dir, err := Artifacts()
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	var out logTail
	opts := append([]chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()), chromedp.CombinedOutput(&out)}, flags...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no timeout
		t.Fatalf("browser: start %s: %v\n%s", bin, err, out.String())
	}
	return &Browser{t: t, ctx: ctx, axe: axe, dir: dir, shots: map[string]bool{}}
}

// Chromium finds the browser: REFERFLOW_CHROMIUM, /usr/bin/chromium, then
// chromium, chromium-browser or google-chrome on PATH.
func Chromium() (string, error) {
	if p := os.Getenv(ChromiumEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", ChromiumEnv, p, err)
		}
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found (/usr/bin/chromium, chromium, chromium-browser or google-chrome on PATH, or " + ChromiumEnv + ")")
}

// AxeCore reads axe-core's axe.min.js: REFERFLOW_AXE, else the copy `make
// browser-deps` installs under .cache/npm in the repository.
func AxeCore() (string, error) {
	path := os.Getenv(AxeEnv)
	if path == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		path = filepath.Join(root, ".cache", "npm", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("axe-core is missing: %w", err)
	}
	return string(b), nil
}

// Artifacts is the directory screenshots are written to (created):
// REFERFLOW_ARTIFACTS, else infra/e2e/artifacts in the repository.
func Artifacts() (string, error) {
	dir := os.Getenv(ArtifactsEnv)
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "infra", "e2e", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("artifacts directory: %w", err)
	}
	return dir, nil
}

func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return build.RepoRoot(wd)
}

// logTail keeps the last 8 KiB of the browser's output, for start errors.
type logTail struct {
	mu  sync.Mutex
	buf []byte
}

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if n := len(l.buf); n > 8<<10 {
		l.buf = l.buf[n-8<<10:]
	}
	return len(p), nil
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.TrimSpace(string(l.buf))
}

var _ io.Writer = (*logTail)(nil)
