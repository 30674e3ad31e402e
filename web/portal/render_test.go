package portal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/web/portal"
)

var (
	headingTag = regexp.MustCompile(`<h([1-6])[ >]`)
	inputTag   = regexp.MustCompile(`<(input|textarea|select)\b[^>]*>`)
	idAttr     = regexp.MustCompile(`\bid="([^"]+)"`)
	typeAttr   = regexp.MustCompile(`\btype="([^"]+)"`)
)

// checkPage checks what every page must be for people: a language, a
// title, one main landmark, one h1 and headings in order, a label for
// every field, and nothing the CSP would block or that loads elsewhere.
func checkPage(t *testing.T, name, body string) {
	t.Helper()
	fail := func(format string, args ...any) { t.Errorf("%s: "+format, append([]any{name}, args...)...) }
	if !strings.Contains(body, `<html lang="en">`) || !regexp.MustCompile(`<title>[^<]+</title>`).MatchString(body) {
		fail("no language or title")
	}
	if strings.Count(body, "<main") != 1 || !strings.Contains(body, `<meta name="viewport"`) {
		fail("%d main landmarks, or no viewport", strings.Count(body, "<main"))
	}
	levels := headingTag.FindAllStringSubmatch(body, -1)
	if len(levels) == 0 || levels[0][1] != "1" {
		fail("the first heading is not an h1")
	}
	prev, h1s := 0, 0
	for _, l := range levels {
		n, _ := strconv.Atoi(l[1])
		if n == 1 {
			h1s++
		}
		if n > prev+1 {
			fail("heading h%d follows h%d", n, prev)
		}
		prev = n
	}
	if h1s != 1 {
		fail("%d h1 headings", h1s)
	}
	for _, loc := range inputTag.FindAllStringIndex(body, -1) {
		tag := body[loc[0]:loc[1]]
		typ := typeAttr.FindStringSubmatch(tag)
		if typ != nil && (typ[1] == "hidden" || typ[1] == "submit") {
			continue
		}
		if id := idAttr.FindStringSubmatch(tag); id != nil && strings.Contains(body, `<label for="`+id[1]+`"`) {
			continue
		}
		before := body[:loc[0]]
		if strings.LastIndex(before, "<label") > strings.LastIndex(before, "</label>") {
			continue // wrapped in its label
		}
		fail("field without a label: %s", tag)
	}
	if strings.Contains(body, " style=") || regexp.MustCompile(`<script>`).MatchString(body) || regexp.MustCompile(`(src|href)="https?://`).MatchString(body) {
		fail("inline style or script, or a resource from elsewhere")
	}
}

func TestEveryPageIsAccessibleAndSelfContained(t *testing.T) {
	w := newWorld(t, func(p *program.Program) { p.Partners.Join = program.JoinApproval })
	w.refer("a", "ANN42", "Acme", "jane@acme.example", t0)
	visitor := w.browser()
	pages := map[string]response{
		"sign-in":         visitor.get("/portal/sign-in?program=p1"),
		"sign-in sent":    visitor.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {"x@y.example"}}),
		"sign-in invalid": visitor.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {"x"}}),
		"join":            visitor.get("/portal/join?program=p1"),
		"join invalid":    visitor.post("/portal/join?program=p1", "/portal/join", url.Values{"program": {"p1"}}),
		"link gone":       visitor.get("/portal/sign-in/nope"),
		"not found":       visitor.get("/portal/nowhere"),
	}
	ann := w.browser()
	ann.signIn(annEmail)
	pages["home"] = ann.get("/portal")
	pages["home with errors"] = ann.post("/portal", "/portal/referrals", url.Values{"referee_email": {"x"}})
	pages["referral"] = ann.get("/portal/referrals/" + w.ids["a"])
	pages["profile"] = ann.get("/portal/profile")
	pages["preferences"] = ann.get("/portal/preferences")
	pages["signed-in 404"] = ann.get("/portal/referrals/nope")
	for name, r := range pages {
		if !strings.HasPrefix(r.Headers["content-type"], "text/html") {
			t.Errorf("%s: content type %q", name, r.Headers["content-type"])
		}
		for k, v := range map[string]string{"content-security-policy": portal.CSP, "x-content-type-options": "nosniff",
			"referrer-policy": "same-origin", "cache-control": "no-store"} {
			if r.Headers[k] != v {
				t.Errorf("%s: %s = %q, want %q", name, k, r.Headers[k], v)
			}
		}
		checkPage(t, name, r.body)
	}
	if !strings.Contains(portal.CSP, "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'") {
		t.Fatalf("CSP %q", portal.CSP)
	}
}

func TestAssetsAreServedByThePortalWithLongCache(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	page := b.get("/portal/sign-in").body
	for _, re := range []string{`href="(/portal/assets/portal\.[0-9a-f]{12}\.css)"`, `src="(/portal/assets/copy\.[0-9a-f]{12}\.js)"`} {
		m := regexp.MustCompile(re).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no %s in the page", re)
		}
		r := b.get(m[1])
		mustStatus(t, r, 200)
		if r.Headers["cache-control"] != "public, max-age=31536000, immutable" || r.body == "" || r.Headers["x-content-type-options"] != "nosniff" {
			t.Fatalf("%s: %v", m[1], r.Headers)
		}
	}
	mustStatus(t, b.get("/portal/assets/portal.000000000000.css"), 404)
}

func TestUnknownRoutesAndBadPostsArePages(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	r := b.get("/portal/no/such/page")
	mustStatus(t, r, 404)
	if !strings.Contains(r.body, "Page not found") || strings.HasPrefix(r.body, "{") {
		t.Fatalf("404:\n%s", r.body)
	}
	mustStatus(t, b.do(http.MethodPut, "/portal", nil), http.StatusMethodNotAllowed)
	big := url.Values{"email": {strings.Repeat("x", 20<<10)}}
	mustStatus(t, b.do(http.MethodPost, "/portal/sign-in", big), http.StatusRequestEntityTooLarge)
	if got := b.get("/portal"); got.StatusCode != http.StatusSeeOther || got.Headers["location"] != "/portal/sign-in" {
		t.Fatalf("signed out /portal: %d %v", got.StatusCode, got.Headers)
	}
}

// The QR code drawn in SVG holds exactly the modules of the code.
func TestQRCodeSVGHasTheCodesModules(t *testing.T) {
	w := newWorld(t)
	ann := w.browser()
	ann.signIn(annEmail)
	home := ann.get("/portal").body
	svg := regexp.MustCompile(`<svg class="qr"[^>]*viewBox="0 0 (\d+) \d+"[^>]*>.*?<path fill="#000" d="([^"]*)"/></svg>`).FindStringSubmatch(home)
	if svg == nil {
		t.Fatalf("no QR code:\n%s", home)
	}
	q, err := qrcode.New("https://portal.test/r/ANN42", qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	want := q.Bitmap()
	if n, _ := strconv.Atoi(svg[1]); n != len(want) {
		t.Fatalf("viewBox %d, want %d modules", n, len(want))
	}
	got := make([][]bool, len(want))
	for i := range got {
		got[i] = make([]bool, len(want))
	}
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h1v1h-1z`).FindAllStringSubmatch(svg[2], -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		got[y][x] = true
	}
	for y := range want {
		for x := range want[y] {
			if got[y][x] != want[y][x] {
				t.Fatalf("module (%d,%d) is %v, want %v", x, y, got[y][x], want[y][x])
			}
		}
	}
}
