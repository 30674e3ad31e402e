package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/web/portal"
)

// normalize hides what differs between two sign-in answers by design:
// the email typed and the form's token.
func normalize(body, email string) string {
	body = strings.ReplaceAll(body, email, "EMAIL")
	return csrfField.ReplaceAllString(body, `name="csrf" value="X"`)
}

func TestSignInAnswersTheSamePageForKnownAndUnknownEmails(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	known := b.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {" Ann@Agency.example "}})
	unknown := b.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {"nobody@agency.example"}})
	mustStatus(t, known, 200)
	mustStatus(t, unknown, 200)
	if normalize(known.body, annEmail) != normalize(unknown.body, "nobody@agency.example") {
		t.Fatalf("the answers differ:\n%s\n----\n%s", known.body, unknown.body)
	}
	if !strings.Contains(known.body, "If <strong>ann@agency.example</strong> belongs to a partner, a link to sign in is on its way") {
		t.Fatalf("the page does not say the link is on its way:\n%s", known.body)
	}
	if len(w.mail.to(annEmail)) != 1 || len(w.mail.to("nobody@agency.example")) != 0 {
		t.Fatalf("emails sent: %+v", w.mail.sent)
	}
	// Bad input is the form again, 400, and sends nothing.
	bad := b.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {"not an email"}})
	mustStatus(t, bad, 400)
	if !strings.Contains(bad.body, `aria-invalid="true"`) || len(w.mail.sent) != 1 {
		t.Fatalf("bad email:\n%s", bad.body)
	}
}

// A script posting just an email (no page, so no token, Origin or
// Referer) gets the same page, known email or not; a browser's post
// without a token is still refused (TestCSRFAndOriginAreChecked).
func TestSignInFromAScriptAnswersTheSamePage(t *testing.T) {
	w := newWorld(t)
	script := w.browser()
	script.origin = ""
	known := script.do(http.MethodPost, "/portal/sign-in", url.Values{"email": {annEmail}})
	unknown := script.do(http.MethodPost, "/portal/sign-in", url.Values{"email": {"nobody@agency.example"}})
	mustStatus(t, known, 200)
	mustStatus(t, unknown, 200)
	if normalize(known.body, annEmail) != normalize(unknown.body, "nobody@agency.example") {
		t.Fatalf("the answers differ:\n%s\n----\n%s", known.body, unknown.body)
	}
	if len(w.mail.to(annEmail)) != 1 || len(w.mail.to("nobody@agency.example")) != 0 {
		t.Fatalf("emails sent: %+v", w.mail.sent)
	}
	// A token that is there but wrong is refused, Origin or not.
	forged := script.do(http.MethodPost, "/portal/sign-in", url.Values{"email": {annEmail}, "csrf": {"x.00"}})
	mustStatus(t, forged, 403)
}

func TestSignInLinkIsSingleUseAndStartsASession(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	b.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {annEmail}})
	link := linkPath(t, w.mail.to(annEmail)[0])
	// Opening the link (a mail scanner does too) does not use it.
	for i := 0; i < 2; i++ {
		page := b.get(link)
		mustStatus(t, page, 200)
		if !strings.Contains(page.body, `<button type="submit">Sign in</button>`) {
			t.Fatalf("the link's page has no sign-in button:\n%s", page.body)
		}
	}
	resp := b.post(link, link, nil)
	mustStatus(t, resp, http.StatusSeeOther)
	var session string
	for _, c := range resp.Cookies {
		if strings.HasPrefix(c, portal.SessionCookie+"=") {
			session = c
		}
	}
	for _, attr := range []string{"; Path=/portal", "; HttpOnly", "; Secure", "; SameSite=Lax", "; Max-Age=2592000"} {
		if !strings.Contains(session, attr) {
			t.Errorf("session cookie %q lacks %q", session, attr)
		}
	}
	id := b.cookies[portal.SessionCookie]
	if len(id) < 43 {
		t.Fatalf("session id %q is short", id)
	}
	home := b.get("/portal")
	mustStatus(t, home, 200)
	if !strings.Contains(home.body, "ANN42") || !strings.Contains(home.body, "Welcome, Ann") {
		t.Fatalf("the partner's page:\n%s", home.body)
	}
	// The link works once, for anyone.
	other := w.browser()
	tok := csrfOf(t, other.get("/portal/sign-in"))
	again := other.do(http.MethodPost, link, url.Values{"csrf": {tok}})
	mustStatus(t, again, 404)
	if !strings.Contains(again.body, "This link no longer works") {
		t.Fatalf("a used link:\n%s", again.body)
	}
	mustStatus(t, other.get(link), 404)
}

func TestSignInLinkExpires(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	b.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {annEmail}})
	link := linkPath(t, w.mail.to(annEmail)[0])
	csrf := csrfOf(t, b.get(link))
	w.now = w.now.Add(15*time.Minute + time.Second) // the program's default sign_in_minutes
	mustStatus(t, b.get(link), 404)
	mustStatus(t, b.do(http.MethodPost, link, url.Values{"csrf": {csrf}}), 404)
	mustStatus(t, b.get("/portal"), http.StatusSeeOther)
}

func TestSessionExpiresAndSignOutEndsIt(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	b.signIn(annEmail)
	mustStatus(t, b.get("/portal"), 200)
	out := b.post("/portal", "/portal/sign-out", nil)
	mustStatus(t, out, http.StatusSeeOther)
	if _, ok := b.cookies[portal.SessionCookie]; ok {
		t.Fatal("the session cookie was not cleared")
	}
	b2 := w.browser()
	b2.signIn(annEmail)
	stolen := b2.cookies[portal.SessionCookie]
	w.now = w.now.Add(30*24*time.Hour + time.Second)
	if r := b2.get("/portal"); r.StatusCode != http.StatusSeeOther || r.Headers["location"] != "/portal/sign-in" {
		t.Fatalf("an expired session still works: %d", r.StatusCode)
	}
	// A signed-out session is gone for good, even with its cookie kept.
	w.now = t0
	b.cookies[portal.SessionCookie] = stolen
	b3 := w.browser()
	b3.signIn(annEmail)
	id := b3.cookies[portal.SessionCookie]
	b3.post("/portal", "/portal/sign-out", nil)
	b3.cookies[portal.SessionCookie] = id
	mustStatus(t, b3.get("/portal"), http.StatusSeeOther)
}

func TestInvitedPartnerBecomesActiveOnFirstSignIn(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	p, err := w.h.Partners.Invite(ctx, partners.New{ProgramID: "p1", Email: "cat@agency.example", Name: "Cat"}, "https://portal.test")
	if err != nil {
		t.Fatal(err)
	}
	b := w.browser()
	path := linkPath(t, w.mail.to("cat@agency.example")[0])
	mustStatus(t, b.post(path, path, nil), http.StatusSeeOther)
	got, err := w.st.Partner(ctx, "p1", p.Code)
	if err != nil || !got.Active() {
		t.Fatalf("after the first sign-in: %+v, %v", got, err)
	}
	mustStatus(t, b.get("/portal"), 200)
}

func TestDisabledPartnerCannotSignIn(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	b := w.browser()
	b.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {annEmail}})
	link := linkPath(t, w.mail.to(annEmail)[0])
	signedIn := w.browser()
	signedIn.signIn(annEmail)
	if _, err := w.h.Partners.Disable(ctx, "p1", "ANN42"); err != nil {
		t.Fatal(err)
	}
	// A link sent before, a session started before, and a new request: nothing works.
	mustStatus(t, b.post(link, link, nil), 404)
	mustStatus(t, signedIn.get("/portal"), http.StatusSeeOther)
	sent := len(w.mail.sent)
	mustStatus(t, b.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {annEmail}}), 200)
	if len(w.mail.sent) != sent {
		t.Fatal("a disabled partner was sent a link")
	}
}

func TestCSRFAndOriginAreChecked(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	cases := []struct {
		name string
		send func() response
	}{
		{"sign-in without a token", func() response {
			return b.do(http.MethodPost, "/portal/sign-in", url.Values{"email": {annEmail}})
		}},
		{"sign-in with another browser's token", func() response {
			tok := csrfOf(t, w.browser().get("/portal/sign-in"))
			return b.do(http.MethodPost, "/portal/sign-in", url.Values{"email": {annEmail}, "csrf": {tok}})
		}},
		{"sign-in with a forged signature", func() response {
			tok := csrfOf(t, b.get("/portal/sign-in"))
			nonce, _, _ := strings.Cut(tok, ".")
			return b.do(http.MethodPost, "/portal/sign-in", url.Values{"email": {annEmail}, "csrf": {nonce + ".00"}})
		}},
		{"from another origin", func() response {
			evil := w.browser()
			tok := csrfOf(t, evil.get("/portal/sign-in"))
			evil.origin = "https://evil.example"
			return evil.do(http.MethodPost, "/portal/sign-in", url.Values{"email": {annEmail}, "csrf": {tok}})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.send()
			mustStatus(t, r, 403)
			if !strings.HasPrefix(r.Headers["content-type"], "text/html") {
				t.Fatalf("not a page: %v", r.Headers)
			}
		})
	}
	if len(w.mail.sent) != 0 {
		t.Fatal("a refused request sent a link")
	}
	// Signed in: every POST needs the session's token.
	ann := w.browser()
	ann.signIn(annEmail)
	bob := w.browser()
	bob.signIn(bobEmail)
	form := url.Values{"referee_company": {"Acme"}, "referee_email": {"jane@acme.example"}}
	mustStatus(t, ann.do(http.MethodPost, "/portal/referrals", form), 403)
	form.Set("csrf", csrfOf(t, bob.get("/portal")))
	mustStatus(t, ann.do(http.MethodPost, "/portal/referrals", form), 403)
	mustStatus(t, ann.do(http.MethodPost, "/portal/sign-out", nil), 403)
	if len(w.started) != 0 {
		t.Fatal("a refused post submitted a referral")
	}
}

func TestSignInRateLimits(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	for i := 0; i < portal.SignInPerEmail+2; i++ {
		mustStatus(t, b.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {annEmail}}), 200)
	}
	if n := len(w.mail.to(annEmail)); n != portal.SignInPerEmail {
		t.Fatalf("%d links sent, want %d", n, portal.SignInPerEmail)
	}
	// A quarter of an hour later the email may ask again.
	w.now = w.now.Add(portal.SignInWindow)
	b.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {annEmail}})
	if n := len(w.mail.to(annEmail)); n != portal.SignInPerEmail+1 {
		t.Fatalf("after the window: %d links", n)
	}
	// One network asking for many emails is stopped with 429.
	flood := w.browser()
	flood.ip = "203.0.113.9"
	var last response
	for i := 0; i <= portal.SignInPerIP; i++ {
		last = flood.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {"x" + string(rune('a'+i%26)) + "@agency.example"}})
	}
	mustStatus(t, last, http.StatusTooManyRequests)
	if !strings.Contains(last.body, "Too many sign-in requests") {
		t.Fatalf("429 page:\n%s", last.body)
	}
	flood.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {bobEmail}})
	if len(w.mail.to(bobEmail)) != 0 {
		t.Fatal("a link was sent past the IP limit")
	}
}

func TestSignInWithSeveralProgramsSendsOneLinkEach(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	p2 := *w.prog
	p2.ID, p2.Name = "p2", "Second program"
	if _, err := w.st.PublishProgram(ctx, &p2, t0); err != nil {
		t.Fatal(err)
	}
	if err := w.st.CreateReferrer(ctx, referral.Referrer{ProgramID: "p2", Code: "ANN-P2", Email: annEmail, Name: "Ann"}); err != nil {
		t.Fatal(err)
	}
	b := w.browser()
	b.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {annEmail}})
	if n := len(w.mail.to(annEmail)); n != 2 {
		t.Fatalf("%d links for two programs", n)
	}
	// Asking for one program sends its link only.
	b.post("/portal/sign-in?program=p2", "/portal/sign-in", url.Values{"email": {annEmail}, "program": {"p2"}})
	msgs := w.mail.to(annEmail)
	if len(msgs) != 3 {
		t.Fatalf("program sign-in sent %d links in all", len(msgs))
	}
	tok, err := w.st.SignInTokenAt(ctx, partners.HashToken(strings.TrimPrefix(linkPath(t, msgs[2]), partners.SignInPath)), w.now)
	if err != nil || tok.ProgramID != "p2" || tok.Code != "ANN-P2" {
		t.Fatalf("the link opens %+v, %v; want p2's partner", tok, err)
	}
}
