package notify

import (
	"errors"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/program"
)

const base = "https://refer.acme.example"

// evil is user-supplied text (a company name, a partner's name, program
// wording) that must come out escaped in HTML.
const evil = `Evil & Co <script>alert(1)</script> "quoted"`

func testProgram() *program.Program {
	return &program.Program{
		ID: "b2b", Name: "Acme Partners", Currency: "USD",
		Review: program.Review{DeadlineSeconds: 7 * 86400},
		Milestones: []program.Milestone{
			{Name: "qualified"},
			{Name: "won", Rewards: []program.Reward{
				{Party: program.PartyReferrer, Kind: program.KindCash, Currency: "USD", AmountMinor: 50000},
				{Party: program.PartyReferee, Kind: program.KindDiscount, Currency: "USD", AmountMinor: 100000},
			}},
		},
		LaterImpliesEarlier: true,
		Emails: program.EmailSettings{
			From: "Acme Partners <partners@acme.example>", ReplyTo: "help@acme.example",
			Operators: []string{"ops@acme.example", "sales@acme.example"},
		},
	}
}

// sampleView is a view of kind k filled the way Plan, Welcome,
// MonthlySummary and SignIn fill it, with user-supplied text in it.
func sampleView(k Kind) View {
	v := View{
		Kind: k, Program: "Acme Partners", Name: evil, Company: evil, Referral: "ref_01",
		Status: "in_review", Milestone: "won", Amount: "500.00 USD", Code: "ANN42",
		Reasons: []string{"This company is already a customer."}, Link: base + "/portal",
		Expires: "15 minutes", Share: base + "/r/ANN42", Incentives: []string{"a discount of 1000.00 USD"},
		Summary: &Summary{Month: "March 2026", Referrals: []StatusCount{{"in_progress", 2}}, Earned: "100.00 USD", OnHold: "0", Paid: "100.00 USD"},
	}
	switch k.Audience() {
	case Operator:
		v.Admin, v.Link = base+"/admin/referrals/ref_01", ""
		v.RewardID, v.Party, v.Rail, v.Steps = "rw_1", "referrer", "Stripe", []string{evil}
	default:
		v.Preferences = base + PreferencesPath + "?token=tok"
	}
	return v
}

var hrefs = regexp.MustCompile(`(?:href|src)="([^"]*)"`)

func TestEveryKindRendersBothPartsWithItsLinks(t *testing.T) {
	p := testProgram()
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			v := sampleView(k)
			m, err := render(p, v, "someone@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Validate(); err != nil {
				t.Fatalf("message does not validate: %v", err)
			}
			if strings.ContainsAny(m.Subject, "\r\n") || strings.TrimSpace(m.Subject) == "" {
				t.Errorf("subject %q", m.Subject)
			}
			link := v.Preferences
			if k.Audience() == Operator {
				link = v.Admin
			}
			if !strings.Contains(m.Text, link) || !strings.Contains(m.HTML, `href="`+link+`"`) {
				t.Errorf("the text or HTML part lacks the link %s", link)
			}
			for _, want := range []string{`<html lang="en">`, "<main", "<footer", `<meta name="viewport"`} {
				if !strings.Contains(m.HTML, want) {
					t.Errorf("HTML lacks %s", want)
				}
			}
			// Nothing is loaded from elsewhere: every link is one of ours.
			for _, h := range hrefs.FindAllStringSubmatch(m.HTML, -1) {
				if !strings.HasPrefix(html.UnescapeString(h[1]), base+"/") {
					t.Errorf("HTML links to %s", h[1])
				}
			}
			if m.Tags["kind"] != string(k) || m.Tags["program"] != "b2b" {
				t.Errorf("tags %v", m.Tags)
			}
			_, unsub := m.Headers["List-Unsubscribe"]
			if want := k.Audience() != Operator && k != KindSignIn; unsub != want {
				t.Errorf("List-Unsubscribe present = %v, want %v", unsub, want)
			}
		})
	}
}

func TestUserSuppliedTextIsEscapedInHTML(t *testing.T) {
	p := testProgram()
	for _, k := range Kinds() {
		p.Emails.Wording = map[string]program.EmailWording{string(k): {Intro: "Hi <b>there</b> & welcome"}}
		m, err := render(p, sampleView(k), "someone@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, "<b>there</b>") {
			t.Errorf("%s: user-supplied markup reaches the HTML unescaped", k)
		}
		if !strings.Contains(m.HTML, "Hi &lt;b&gt;there&lt;/b&gt; &amp; welcome") {
			t.Errorf("%s: the program's intro is not shown escaped", k)
		}
		if !strings.Contains(m.Text, "Hi <b>there</b> & welcome") {
			t.Errorf("%s: the text part does not show the intro as written", k)
		}
	}
}

func TestWordingOverridesTheDefaults(t *testing.T) {
	p := testProgram()
	p.Emails.Wording = map[string]program.EmailWording{
		string(KindReferralReceived): {Subject: "Merci!", Intro: "First paragraph.\n\nSecond paragraph."},
	}
	m, err := render(p, sampleView(KindReferralReceived), "a@b.example")
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Merci!" {
		t.Errorf("subject %q", m.Subject)
	}
	if !strings.Contains(m.HTML, ">First paragraph.</p>") || !strings.Contains(m.HTML, ">Second paragraph.</p>") {
		t.Errorf("blank lines do not make paragraphs:\n%s", m.HTML)
	}
	// Another kind keeps its default.
	m, _ = render(p, sampleView(KindRewardPaid), "a@b.example")
	if m.Subject != "Your reward of 500.00 USD was paid" {
		t.Errorf("default subject %q", m.Subject)
	}
}

func TestSignIn(t *testing.T) {
	p := testProgram()
	link := "https://refer.acme.example/portal/sign-in/confirm?token=abc&x=1"
	m, err := SignIn(p, "ann@partner.example", "Ann", link, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if m.From != p.Emails.From || len(m.To) != 1 || m.To[0] != "ann@partner.example" || len(m.ReplyTo) != 1 {
		t.Errorf("addresses from %q to %v reply %v", m.From, m.To, m.ReplyTo)
	}
	if m.Subject != "Your sign-in link for Acme Partners" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, part := range []string{m.Text, html.UnescapeString(m.HTML)} {
		if !strings.Contains(part, link) || !strings.Contains(part, "15 minutes") || !strings.Contains(part, "Hello Ann,") {
			t.Errorf("part lacks the link, its lifetime or the greeting:\n%s", part)
		}
	}
	if !strings.Contains(m.HTML, `href="https://refer.acme.example/portal/preferences"`) {
		t.Error("no preference page link")
	}
	if _, err := SignIn(p, "ann@partner.example", "", "", time.Minute); !errors.Is(err, mail.ErrInvalid) {
		t.Errorf("no link: %v", err)
	}
	// A program without a sender leaves From to the caller.
	p.Emails = program.EmailSettings{}
	if m, _ := SignIn(p, "ann@partner.example", "", link, time.Hour); m.From != "" || m.Validate() == nil {
		t.Errorf("from %q", m.From)
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		15 * time.Minute: "15 minutes", time.Minute: "1 minute", time.Hour: "1 hour", 90 * time.Minute: "90 minutes",
		24 * time.Hour: "24 hours", 7 * 24 * time.Hour: "7 days", 30 * time.Second: "30 seconds",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

// The catalogue and the program's list of kinds are one list.
func TestCatalogueIsTheProgramsKinds(t *testing.T) {
	if len(Kinds()) != len(program.EmailKinds) || len(templates) != len(program.EmailKinds) {
		t.Fatalf("%d kinds, %d templates, %d program kinds", len(Kinds()), len(templates), len(program.EmailKinds))
	}
	for _, k := range Kinds() {
		if k.Audience() == "" {
			t.Errorf("%s has no audience", k)
		}
	}
}
