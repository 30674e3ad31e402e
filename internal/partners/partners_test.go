package partners_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// outbox is a mail.Sender that keeps what it was given.
type outbox struct {
	mu   sync.Mutex
	sent []mail.Message
	err  error
}

func (o *outbox) Send(_ context.Context, m mail.Message) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return "", o.err
	}
	if err := m.Validate(); err != nil {
		return "", err
	}
	o.sent = append(o.sent, m)
	return "m", nil
}

func setup(t *testing.T, join string) (*partners.Service, *store.Store, *outbox) {
	t.Helper()
	st := storetest.New(t)
	p := &program.Program{Schema: 1, ID: "p1", Name: "Acme partners", Partners: program.Partners{Join: join, SignInMinutes: 30}}
	p.SetDefaults()
	if _, err := st.PublishProgram(context.Background(), p, t0); err != nil {
		t.Fatal(err)
	}
	box := &outbox{}
	return &partners.Service{Store: st, Mail: box, SignIn: notify.SignIn, From: "Referflow <referflow@example.com>",
		Now: func() time.Time { return t0 }}, st, box
}

// linkToken finds the sign-in link in a message and returns its token.
func linkToken(t *testing.T, m mail.Message) string {
	t.Helper()
	link := regexp.MustCompile(`https://portal\.example/portal/sign-in/([A-Za-z0-9_-]+)`).FindStringSubmatch(m.Text)
	if link == nil {
		t.Fatalf("no sign-in link in:\n%s", m.Text)
	}
	return link[1]
}

func TestInviteAddsAnInvitedPartnerAndSendsASignInLink(t *testing.T) {
	ctx := context.Background()
	svc, st, box := setup(t, program.JoinInvitation)
	p, err := svc.Invite(ctx, partners.New{ProgramID: " P1 ", Email: " Ann@Agency.example ", Name: "Ann"}, "https://portal.example/")
	if err != nil {
		t.Fatal(err)
	}
	if p.State() != referral.ReferrerInvited || len(p.Code) != referral.CodeLength || p.Email != "ann@agency.example" {
		t.Fatalf("invited %+v", p)
	}
	if len(box.sent) != 1 || box.sent[0].To[0] != "ann@agency.example" || box.sent[0].From != svc.From {
		t.Fatalf("sent %+v", box.sent)
	}
	tok := linkToken(t, box.sent[0])
	got, err := st.SignInTokenAt(ctx, partners.HashToken(tok), t0)
	if err != nil || got.Code != p.Code || !got.ExpiresAt.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("stored token %+v, %v (the program says 30 minutes)", got, err)
	}
	if _, err := st.SignInTokenAt(ctx, tok, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("the token is stored in clear")
	}
	// The same email again is refused, and gets no second email.
	if _, err := svc.Invite(ctx, partners.New{ProgramID: "p1", Email: "ann@agency.example", Name: "Ann"}, "https://portal.example"); !errors.Is(err, partners.ErrExists) {
		t.Fatalf("second invite: %v", err)
	}
	if len(box.sent) != 1 {
		t.Fatal("a second email was sent")
	}
	// A chosen code that is taken is refused.
	if _, err := svc.Invite(ctx, partners.New{ProgramID: "p1", Email: "bob@agency.example", Name: "Bob", Code: p.Code}, "https://portal.example"); !errors.Is(err, partners.ErrCodeTaken) {
		t.Fatalf("taken code: %v", err)
	}
}

func TestInviteRefusesBadInputAndWritesNothing(t *testing.T) {
	ctx := context.Background()
	svc, st, box := setup(t, "")
	cases := []struct {
		n      partners.New
		fields []string
	}{
		{partners.New{}, []string{"program", "email", "name"}},
		{partners.New{ProgramID: "p1", Email: "nope", Name: "x", Code: "a b"}, []string{"email", "code"}},
		{partners.New{ProgramID: "p1", Email: "a@b.example", Name: strings.Repeat("x", 201)}, []string{"name"}},
		{partners.New{ProgramID: "nope", Email: "a@b.example", Name: "A"}, []string{"program"}},
	}
	for _, c := range cases {
		_, err := svc.Invite(ctx, c.n, "https://portal.example")
		var inv *partners.Invalid
		if !errors.As(err, &inv) || len(inv.Fields) != len(c.fields) {
			t.Fatalf("%+v: %v, want fields %v", c.n, err, c.fields)
		}
		for _, f := range c.fields {
			if inv.Fields[f] == "" {
				t.Errorf("%+v: no problem for %s in %v", c.n, f, inv.Fields)
			}
		}
	}
	if page, _, _ := st.PartnersOf(ctx, "p1", 10, ""); len(page) != 0 || len(box.sent) != 0 {
		t.Fatal("bad input wrote or sent something")
	}
}

func TestJoinFollowsTheProgramsPolicy(t *testing.T) {
	ctx := context.Background()
	n := partners.New{Email: "cat@agency.example", Name: "Cat"}
	for _, c := range []struct {
		join   string
		status referral.ReferrerStatus
		mails  int
	}{{program.JoinOpen, referral.ReferrerActive, 1}, {program.JoinApproval, referral.ReferrerPending, 0}, {"", referral.ReferrerPending, 0}} {
		svc, st, box := setup(t, c.join)
		prog, _ := st.CurrentProgram(ctx, "p1")
		p, err := svc.Join(ctx, prog, n, "https://portal.example")
		if err != nil || p.State() != c.status || len(box.sent) != c.mails {
			t.Fatalf("join %q: %+v, %v, %d emails", c.join, p, err, len(box.sent))
		}
		// Joining again adds nothing; an active partner gets a fresh link.
		again, err := svc.Join(ctx, prog, n, "https://portal.example")
		if err != nil || again != nil || len(box.sent) != 2*c.mails {
			t.Fatalf("join %q again: %+v, %v, %d emails", c.join, again, err, len(box.sent))
		}
	}
	svc, st, box := setup(t, program.JoinInvitation)
	prog, _ := st.CurrentProgram(ctx, "p1")
	if _, err := svc.Join(ctx, prog, n, "https://portal.example"); !errors.Is(err, partners.ErrInvitationOnly) {
		t.Fatalf("invitation-only join: %v", err)
	}
	if list, _, _ := st.PartnersOf(ctx, "p1", 10, ""); len(list) != 0 || len(box.sent) != 0 {
		t.Fatal("an invitation-only program took a partner")
	}
}

func TestOperatorsMovePartnersBetweenStatuses(t *testing.T) {
	ctx := context.Background()
	svc, st, box := setup(t, program.JoinApproval)
	prog, _ := st.CurrentProgram(ctx, "p1")
	p, err := svc.Join(ctx, prog, partners.New{Email: "dan@agency.example", Name: "Dan"}, "https://portal.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Enable(ctx, "p1", p.Code); !errors.Is(err, partners.ErrState) {
		t.Fatalf("enable a pending partner: %v", err)
	}
	a, err := svc.Approve(ctx, "p1", p.Code, "https://portal.example")
	if err != nil || !a.Active() || len(box.sent) != 1 {
		t.Fatalf("approve: %+v, %v, %d emails", a, err, len(box.sent))
	}
	if _, err := svc.Approve(ctx, "p1", p.Code, "https://portal.example"); !errors.Is(err, partners.ErrState) {
		t.Fatalf("approve twice: %v", err)
	}
	if d, err := svc.Disable(ctx, "p1", p.Code); err != nil || d.State() != referral.ReferrerDisabled {
		t.Fatalf("disable: %+v, %v", d, err)
	}
	if sent, err := svc.SendSignIn(ctx, prog, &store.Partner{Referrer: referral.Referrer{Code: p.Code, Email: p.Email, Status: referral.ReferrerDisabled}}, "https://portal.example"); sent || err != nil {
		t.Fatalf("a disabled partner was sent a link: %v %v", sent, err)
	}
	if e, err := svc.Enable(ctx, "p1", p.Code); err != nil || !e.Active() {
		t.Fatalf("enable: %+v, %v", e, err)
	}
	if _, err := svc.Disable(ctx, "p1", "NOPE"); !errors.Is(err, partners.ErrNotFound) {
		t.Fatalf("unknown partner: %v", err)
	}
	c, err := svc.ChangeCode(ctx, "p1", p.Code, "dan-agency")
	if err != nil || c.Code != "dan-agency" || c.Key != p.Code {
		t.Fatalf("change code: %+v, %v", c, err)
	}
	// The old code still finds the partner for operators.
	if c2, err := svc.Disable(ctx, "p1", p.Code); err != nil || c2.Code != "dan-agency" {
		t.Fatalf("disable by the old code: %+v, %v", c2, err)
	}
	var inv *partners.Invalid
	if _, err := svc.ChangeCode(ctx, "p1", "dan-agency", "no good"); !errors.As(err, &inv) {
		t.Fatalf("bad code: %v", err)
	}
	page, err := svc.List(ctx, "p1", 10, "")
	if err != nil || len(page.Partners) != 1 || page.Partners[0].Code != "dan-agency" {
		t.Fatalf("list: %+v, %v", page, err)
	}
	if _, err := svc.List(ctx, "nope", 10, ""); !errors.Is(err, partners.ErrNotFound) {
		t.Fatalf("list of an unknown program: %v", err)
	}
}

func TestSignInLinkTokens(t *testing.T) {
	tok, hash, err := partners.NewToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 || hash != partners.HashToken(tok) || len(hash) != 64 {
		t.Fatalf("token %q (%d bytes, %v), hash %q", tok, len(raw), err, hash)
	}
	if u, _ := url.Parse("https://x.example" + partners.SignInPath + tok); u.Path != partners.SignInPath+tok {
		t.Fatal("the token needs escaping in a path")
	}
	other, _, _ := partners.NewToken(nil)
	if other == tok {
		t.Fatal("two tokens alike")
	}
}

func TestJoiningAndApprovalSendTheWelcomeEmail(t *testing.T) {
	ctx := context.Background()
	welcome := partners.NotifyWelcome(func(context.Context) ([]string, error) { return []string{"partners-test-link-secret"}, nil },
		func() time.Time { return t0 })
	svc, st, box := setup(t, program.JoinOpen)
	svc.Welcome = welcome
	prog, _ := st.CurrentProgram(ctx, "p1")
	p, err := svc.Join(ctx, prog, partners.New{Email: "eve@agency.example", Name: "Eve"}, "https://portal.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(box.sent) != 2 || box.sent[1].Tags["kind"] != string(notify.KindWelcome) || !strings.Contains(box.sent[1].Text, "https://portal.example/r/"+p.Code) {
		t.Fatalf("sent %d: %+v", len(box.sent), box.sent)
	}
	// Approval sends it when the partner is approved, not when they ask.
	svc, st, box = setup(t, program.JoinApproval)
	svc.Welcome = welcome
	prog, _ = st.CurrentProgram(ctx, "p1")
	p, err = svc.Join(ctx, prog, partners.New{Email: "eve@agency.example", Name: "Eve"}, "https://portal.example")
	if err != nil || len(box.sent) != 0 {
		t.Fatalf("asked to join: %v, %d emails", err, len(box.sent))
	}
	if _, err := svc.Approve(ctx, "p1", p.Code, "https://portal.example"); err != nil || len(box.sent) != 2 {
		t.Fatalf("approved: %v, %d emails", err, len(box.sent))
	}
}
