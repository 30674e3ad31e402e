package portal_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/intake"
	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/web/portal"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

const linkSecret = "portal-test-link-secret-0123456789"

// outbox is a mail.Sender that keeps the messages it is given.
type outbox struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (o *outbox) Send(_ context.Context, m mail.Message) (string, error) {
	if err := m.Validate(); err != nil {
		return "", err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m)
	return "id", nil
}

func (o *outbox) to(addr string) []mail.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []mail.Message
	for _, m := range o.sent {
		if m.To[0] == addr {
			out = append(out, m)
		}
	}
	return out
}

// world is a portal over a real table (moto), with a clock tests move.
type world struct {
	t       *testing.T
	h       *portal.Handler
	st      *store.Store
	mail    *outbox
	now     time.Time
	started []string
	prog    *program.Program
	ids     map[string]string // referral ids by the names tests gave them
}

const annEmail, bobEmail = "ann@agency.example", "bob@agency.example"

func newWorld(t *testing.T, sections ...func(*program.Program)) *world {
	t.Helper()
	w := &world{t: t, st: storetest.New(t), mail: &outbox{}, now: t0, ids: map[string]string{}}
	p := &program.Program{Schema: 1, ID: "p1", Name: "Acme partners", Currency: "USD",
		Milestones: []program.Milestone{{Name: "qualified"}, {Name: "won"}},
		Partners:   program.Partners{Join: program.JoinOpen, Leaderboard: program.LeaderboardNames}}
	for _, s := range sections {
		s(p)
	}
	p.SetDefaults()
	ctx := context.Background()
	if _, err := w.st.PublishProgram(ctx, p, t0); err != nil {
		t.Fatal(err)
	}
	w.prog, _ = w.st.CurrentProgram(ctx, "p1")
	for _, r := range []referral.Referrer{
		{ProgramID: "p1", Code: "ANN42", Email: annEmail, Name: "Ann", CreatedAt: t0},
		{ProgramID: "p1", Code: "BOB77", Email: bobEmail, Name: "Bob", DisplayName: "Bob's Agency", CreatedAt: t0},
	} {
		if err := w.st.CreateReferrer(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	clock := func() time.Time { return w.now }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w.h = &portal.Handler{
		Store:    w.st,
		Partners: &partners.Service{Store: w.st, Mail: w.mail, SignIn: notify.SignIn, From: "Acme <partners@acme.example>", Now: clock},
		Intake: &intake.Service{Store: w.st, DefaultProgram: "p1", Now: clock, Log: log, StartAttempts: 1,
			Start: func(_ context.Context, id string) error { w.started = append(w.started, id); return nil }},
		FormKeys:    storetest.Keys,
		LinkSecrets: func(context.Context) ([]string, error) { return []string{linkSecret}, nil },
		Now:         clock, Log: log, DefaultProgram: "p1",
	}
	return w
}

// browser is one visitor: cookies kept between requests, a network
// address, and headers a browser sends.
type browser struct {
	w       *world
	cookies map[string]string
	ip      string
	origin  string // Origin header sent on POSTs ("" = none)
}

func (w *world) browser() *browser {
	return &browser{w: w, cookies: map[string]string{}, ip: "198.51.100.7", origin: "https://portal.test"}
}

// response is an answer as a browser sees it.
type response struct {
	apigw.Response
	body string
}

func (b *browser) do(method, path string, form url.Values) response {
	b.w.t.Helper()
	u, _ := url.Parse(path)
	req := apigw.Request{
		RawPath: u.EscapedPath(), RawQueryString: u.RawQuery,
		Headers: map[string]string{"host": "portal.test", "x-forwarded-proto": "https", "accept": "text/html"},
	}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.HTTP.SourceIP = b.ip
	if q := u.Query(); len(q) > 0 {
		req.QueryStringParameters = map[string]string{}
		for k := range q {
			req.QueryStringParameters[k] = q.Get(k)
		}
	}
	for k, v := range b.cookies {
		req.Cookies = append(req.Cookies, k+"="+v)
	}
	if method == http.MethodPost {
		req.Headers["content-type"] = "application/x-www-form-urlencoded"
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(form.Encode())), true
		if b.origin != "" {
			req.Headers["origin"] = b.origin
		}
	}
	resp, err := b.w.h.Handle(context.Background(), req)
	if err != nil {
		b.w.t.Fatalf("%s %s: Handle returned an error: %v", method, path, err)
	}
	for _, c := range resp.Cookies {
		name, rest, _ := strings.Cut(c, "=")
		value, _, _ := strings.Cut(rest, ";")
		if strings.Contains(c, "Max-Age=0") {
			delete(b.cookies, name)
		} else {
			b.cookies[name] = value
		}
	}
	return response{Response: resp, body: resp.Body}
}

func (b *browser) get(path string) response { return b.do(http.MethodGet, path, nil) }

// post sends a form with the CSRF token of the page at from.
func (b *browser) post(from, path string, form url.Values) response {
	b.w.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if from != "" {
		form.Set("csrf", csrfOf(b.w.t, b.get(from)))
	}
	return b.do(http.MethodPost, path, form)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, r response) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no CSRF field in the page (%d):\n%s", r.StatusCode, r.body)
	}
	return m[1]
}

// signIn requests a link for email and follows it: the browser is then
// signed in.
func (b *browser) signIn(email string) {
	b.w.t.Helper()
	before := len(b.w.mail.to(email))
	b.post("/portal/sign-in", "/portal/sign-in", url.Values{"email": {email}})
	msgs := b.w.mail.to(email)
	if len(msgs) != before+1 {
		b.w.t.Fatalf("no sign-in email to %s", email)
	}
	path := linkPath(b.w.t, msgs[len(msgs)-1])
	resp := b.post(path, path, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Headers["location"] != "/portal" {
		b.w.t.Fatalf("confirming the link: %d %v\n%s", resp.StatusCode, resp.Headers, resp.body)
	}
}

var linkPattern = regexp.MustCompile(`https://portal\.test(/portal/sign-in/[A-Za-z0-9_-]+)`)

func linkPath(t *testing.T, m mail.Message) string {
	t.Helper()
	l := linkPattern.FindStringSubmatch(m.Text)
	if l == nil {
		t.Fatalf("no sign-in link in:\n%s", m.Text)
	}
	return l[1]
}

func mustStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d; headers %v\n%s", r.StatusCode, status, r.Headers, r.body)
	}
}
