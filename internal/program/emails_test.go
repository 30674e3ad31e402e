package program

import (
	"reflect"
	"strings"
	"testing"
)

func TestEmailsSectionLoads(t *testing.T) {
	p, err := Load([]byte(minimalYAML + `
emails:
  from: " Acme Partners <partners@acme.example> "
  reply_to: help@acme.example
  operators: [ops@acme.example, " sales@acme.example "]
  off: [Monthly_Summary, milestone_reached]
  referee_welcome: true
  wording:
    referral_received:
      subject: "Thanks for the referral"
      intro: "We call them this week."
`))
	if err != nil {
		t.Fatal(err)
	}
	want := EmailSettings{
		From: "Acme Partners <partners@acme.example>", ReplyTo: "help@acme.example",
		Operators:      []string{"ops@acme.example", "sales@acme.example"},
		Off:            []string{EmailMonthlySummary, EmailMilestoneReached},
		RefereeWelcome: true,
		Wording:        map[string]EmailWording{EmailReferralReceived: {Subject: "Thanks for the referral", Intro: "We call them this week."}},
	}
	if !reflect.DeepEqual(p.Emails, want) {
		t.Fatalf("emails = %+v\nwant     %+v", p.Emails, want)
	}
}

func TestEmailsDefaults(t *testing.T) {
	p, err := Load([]byte(minimalYAML))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range EmailKinds {
		if got, want := p.Sends(k), k != EmailRefereeWelcome; got != want {
			t.Errorf("Sends(%s) = %v by default, want %v", k, got, want)
		}
	}
	var none *Program
	if !none.Sends(EmailReferralReceived) || none.Sends(EmailRefereeWelcome) {
		t.Error("a nil program does not send the defaults")
	}
}

func TestSendsHonoursOffAndRefereeWelcome(t *testing.T) {
	p := &Program{Emails: EmailSettings{Off: []string{EmailRewardPaid, EmailRefereeWelcome}, RefereeWelcome: true}}
	if p.Sends(EmailRewardPaid) || !p.Sends(EmailRewardOnHold) {
		t.Error("off is not honoured")
	}
	if p.Sends(EmailRefereeWelcome) {
		t.Error("referee_welcome listed in off is sent")
	}
	p.Emails.Off = nil
	if !p.Sends(EmailRefereeWelcome) {
		t.Error("referee_welcome: true does not send it")
	}
	p.Emails.Off = []string{EmailSignIn}
	if !p.Sends(EmailSignIn) {
		t.Error("the sign-in email was switched off")
	}
}

func TestEmailsValidation(t *testing.T) {
	cases := []struct {
		name, section string
		paths         []string
	}{
		{"from not an address", "from: partners", []string{"emails.from"}},
		{"from with a header injection", "from: \"a@b.example\\nBcc: x@y.example\"", []string{"emails.from"}},
		{"two senders", "from: a@b.example, c@d.example", []string{"emails.from"}},
		{"reply_to not an address", "reply_to: nobody", []string{"emails.reply_to"}},
		{"operator not an address", "operators: [ops@acme.example, ops]", []string{"emails.operators[1]"}},
		{"blank operator", "operators: [\" \"]", []string{"emails.operators[0]"}},
		{"unknown kind off", "off: [newsletter]", []string{"emails.off[0]"}},
		{"sign-in switched off", "off: [sign_in]", []string{"emails.off[0]"}},
		{"wording of an unknown kind", "wording: {newsletter: {subject: hi}}", []string{"emails.wording.newsletter"}},
		{"subject on two lines", "wording: {welcome: {subject: \"a\\nb\"}}", []string{"emails.wording.welcome.subject"}},
		{"subject too long", "wording: {welcome: {subject: " + strings.Repeat("x", MaxEmailSubject+1) + "}}", []string{"emails.wording.welcome.subject"}},
		{"intro too long", "wording: {welcome: {intro: " + strings.Repeat("x", MaxEmailIntro+1) + "}}", []string{"emails.wording.welcome.intro"}},
		{"unknown field", "sender: a@b.example", []string{"emails.sender"}},
		{"a name with a comma must be quoted", "from: \"Acme, Inc. <a@b.example>\"", []string{"emails.from"}},
		{"a quoted name is fine", "from: '\"Acme, Inc.\" <a@b.example>'", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load([]byte(minimalYAML + "emails:\n  " + c.section + "\n"))
			if c.paths == nil {
				if err != nil {
					t.Fatalf("valid section refused: %v", err)
				}
				return
			}
			ve, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			var got []string
			for _, p := range ve.Problems {
				got = append(got, p.Path)
			}
			if strings.Join(got, ",") != strings.Join(c.paths, ",") {
				t.Fatalf("problems at %v, want %v (%v)", got, c.paths, err)
			}
		})
	}
}

// The wording of a stored program never changes its rules' fingerprint
// unless it changes: an unchanged file publishes no new version.
func TestEmailsTakePartInTheFingerprint(t *testing.T) {
	a, err := Load([]byte(minimalYAML + "emails: {operators: [ops@acme.example]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Load([]byte(minimalYAML + "emails: {operators: [ops@acme.example]}\n"))
	c, _ := Load([]byte(minimalYAML + "emails: {operators: [other@acme.example]}\n"))
	if a.Fingerprint() != b.Fingerprint() || a.Fingerprint() == c.Fingerprint() {
		t.Fatal("the emails section does not take part in the fingerprint as it should")
	}
}
