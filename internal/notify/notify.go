// Package notify writes the emails Referflow sends: to partners (the
// referrer of a referral), to the referee when the program switches it on,
// and to the program's operators. It decides which emails a domain event
// gives and to whom (Plan), renders each from the templates kept in this
// package (templates/, embedded: one HTML layout, an HTML and a text part
// per kind), and signs the preference links partners use to switch kinds
// off (PreferenceToken) and the score links of the monthly summary's
// feedback question (FeedbackToken, feedback.go). It sends nothing itself: internal/mail does, and
// functions/notify claims each (event, recipient) once before sending.
//
// Every rendered message has an HTML and a text part, a preference link
// (partners and referees; operators get the admin link of the referral
// instead) and, for partners and referees, a List-Unsubscribe header.
// Program wording (subject, intro) is plain text: it is escaped in the HTML
// part. Messages carry a "kind" tag and never a personal datum in tags.
package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/program"
)

// Kind is one kind of email (the catalogue: program.EmailKinds).
type Kind string

// The catalogue. Partner emails go to the referral's referrer (or the
// referrer itself), the referee email to the referee, operator emails to
// the addresses the program lists.
const (
	KindSignIn                 Kind = program.EmailSignIn
	KindWelcome                Kind = program.EmailWelcome
	KindReferralReceived       Kind = program.EmailReferralReceived
	KindReferralRejected       Kind = program.EmailReferralRejected
	KindMilestoneReached       Kind = program.EmailMilestoneReached
	KindRewardOnHold           Kind = program.EmailRewardOnHold
	KindRewardPaid             Kind = program.EmailRewardPaid
	KindMonthlySummary         Kind = program.EmailMonthlySummary
	KindRefereeWelcome         Kind = program.EmailRefereeWelcome
	KindOperatorNewReferral    Kind = program.EmailOperatorNewReferral
	KindOperatorReview         Kind = program.EmailOperatorReview
	KindOperatorRewardApproval Kind = program.EmailOperatorRewardApproval
	KindOperatorNeedsAttention Kind = program.EmailOperatorNeedsAttention
	// KindOperatorPayoutFailed and KindOperatorReversalRefused tell the
	// operators a rail refused a payment or a reversal (payouts.go).
	KindOperatorPayoutFailed    Kind = program.EmailOperatorPayoutFailed
	KindOperatorReversalRefused Kind = program.EmailOperatorReversalRefused
)

// Audience is who receives a kind of email.
type Audience string

// Audiences.
const (
	Partner  Audience = "partner"
	Referee  Audience = "referee"
	Operator Audience = "operator"
)

// Audience says who receives kind.
func (k Kind) Audience() Audience {
	switch {
	case k == KindRefereeWelcome:
		return Referee
	case strings.HasPrefix(string(k), "operator_"):
		return Operator
	}
	return Partner
}

// Kinds lists the catalogue in program.EmailKinds order.
func Kinds() []Kind {
	out := make([]Kind, len(program.EmailKinds))
	for i, k := range program.EmailKinds {
		out[i] = Kind(k)
	}
	return out
}

//go:embed templates/*.tmpl
var templateFS embed.FS

// ErrTemplate is a kind without templates, or a template that failed:
// a programming error, not a transient one.
var ErrTemplate = errors.New("notify: template")

type kindTemplates struct {
	html *htmltemplate.Template // "layout" with this kind's "content"
	text *texttemplate.Template // "subject", "intro", "text" and "layout"
}

var templates = func() map[Kind]kindTemplates {
	out := map[Kind]kindTemplates{}
	for _, k := range Kinds() {
		h := htmltemplate.Must(htmltemplate.New("").Funcs(htmltemplate.FuncMap(funcs)).ParseFS(templateFS, "templates/layout.html.tmpl", "templates/"+string(k)+".html.tmpl"))
		t := texttemplate.Must(texttemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.txt.tmpl", "templates/"+string(k)+".txt.tmpl"))
		out[k] = kindTemplates{html: h, text: t}
	}
	return out
}()

// View is what a template shows. Fields a kind does not use stay empty.
// Everything in it may be shown to its recipient: callers never put in it
// what the recipient may not see (a referee's email in a partner's email).
type View struct {
	Kind     Kind
	Program  string // the program's name
	Name     string // the recipient's name ("" = no name in the greeting)
	Intro    string // set by render: the program's wording or the default
	Subject  string // set by render
	Company  string // the referred company, as submitted
	Referral string // the referral id
	Status   string // the referral's status

	Milestone string   // milestone_reached, reward_*
	Amount    string   // a reward, "500.00 USD"
	Reasons   []string // referral_rejected: partner-safe sentences; operator_needs_attention: the cause
	Link      string   // the main action (sign-in link, portal, admin view)
	Expires   string   // sign_in: how long the link works ("30 minutes")
	Summary   *Summary // monthly_summary
	// Question and Scores are the feedback question of monthly_summary
	// and its eleven signed score links, 0 to 10 (feedback.go).
	Question string
	Scores   []ScoreLink
	Code     string // the partner's referral code
	Share    string // welcome: the partner's referral link
	// Incentives describe the referee's welcome rewards (referee_welcome).
	Incentives []string

	Preferences string // the preference link (partners, referees)
	Admin       string // the admin view of the referral (operators)

	// The operator payout emails (payouts.go): the reward's id, its party
	// ("referrer", "referee"), its rail in words ("Stripe") and what to
	// do, in order, as plain text.
	RewardID string
	Party    string
	Rail     string
	Steps    []string
}

// funcs are the helpers templates use.
var funcs = texttemplate.FuncMap{
	// paragraphs splits plain text on blank lines.
	"paragraphs": func(s string) []string {
		var out []string
		for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	},
	// status says a referral status for a person: "in_review" -> "In review".
	"status": label,
	// label says a milestone name for a person: "deal_won" -> "Deal won".
	"label": label,
	// party says a reward's party for a person: "referrer" -> "the partner".
	"party": partyWords,
	// inc counts from one: a step's number from its index.
	"inc": func(i int) int { return i + 1 },
}

// label turns an identifier into words: "in_review" -> "In review".
func label(id string) string {
	s := strings.ReplaceAll(id, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Email is one rendered message and who it is for.
type Email struct {
	Kind    Kind
	Message mail.Message
}

// render fills v.Subject and v.Intro (the program's wording for the kind
// when it sets one, else the template's default) and returns the message
// from p's sender to to.
func render(p *program.Program, v View, to ...string) (mail.Message, error) {
	t, ok := templates[v.Kind]
	if !ok {
		return mail.Message{}, fmt.Errorf("%w: unknown kind %q", ErrTemplate, v.Kind)
	}
	w := program.EmailWording{}
	if p != nil {
		w = p.Emails.Wording[string(v.Kind)]
	}
	var err error
	if v.Subject, err = pick(w.Subject, t.text, "subject", v); err != nil {
		return mail.Message{}, err
	}
	v.Subject = oneLine(v.Subject)
	if v.Intro, err = pick(w.Intro, t.text, "intro", v); err != nil {
		return mail.Message{}, err
	}
	var text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&text, "layout", v); err != nil {
		return mail.Message{}, fmt.Errorf("%w: %s text: %v", ErrTemplate, v.Kind, err)
	}
	if err := t.html.ExecuteTemplate(&html, "layout", v); err != nil {
		return mail.Message{}, fmt.Errorf("%w: %s html: %v", ErrTemplate, v.Kind, err)
	}
	m := mail.Message{
		To:      to,
		Subject: v.Subject,
		Text:    text.String(),
		HTML:    html.String(),
		Tags:    map[string]string{"kind": string(v.Kind)},
	}
	if p != nil {
		m.From = p.Emails.From
		if p.Emails.ReplyTo != "" {
			m.ReplyTo = []string{p.Emails.ReplyTo}
		}
		m.Tags["program"] = p.ID
	}
	if v.Preferences != "" && v.Kind.Audience() != Operator && v.Kind != KindSignIn {
		m.Headers = map[string]string{"List-Unsubscribe": "<" + v.Preferences + ">"}
	}
	return m, nil
}

// pick returns override when set, else the kind's named text template.
func pick(override string, t *texttemplate.Template, name string, v View) (string, error) {
	if override != "" {
		return override, nil
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, v); err != nil {
		return "", fmt.Errorf("%w: %s %s: %v", ErrTemplate, v.Kind, name, err)
	}
	return strings.TrimSpace(b.String()), nil
}

// oneLine folds any line breaks and runs of spaces into single spaces (a
// subject is one header line).
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// SignIn renders the sign-in link email to a partner (or a person joining)
// of program p. The message is from the program's sender (Message.From is
// "" when the program names none: the caller sets the deployment's default
// sender, REFERFLOW_MAIL_FROM). The sign-in email cannot be switched off;
// its preference link is the portal's preference page at the link's
// origin (the page asks the person to sign in).
func SignIn(p *program.Program, to, name, link string, expires time.Duration) (mail.Message, error) {
	if link == "" {
		return mail.Message{}, fmt.Errorf("notify: sign-in: %w: no link", mail.ErrInvalid)
	}
	v := View{
		Kind: KindSignIn, Program: programName(p), Name: name,
		Link: link, Expires: Duration(expires),
		Preferences: origin(link) + PreferencesPath,
	}
	m, err := render(p, v, to)
	if err != nil {
		return mail.Message{}, fmt.Errorf("notify: sign-in: %w", err)
	}
	return m, nil
}

// Duration says d for a person: "30 minutes", "1 hour", "2 days".
func Duration(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return unit(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return unit(int64(d/time.Minute), "minute")
	}
	return unit(int64(d/time.Second), "second")
}

func programName(p *program.Program) string {
	if p == nil {
		return ""
	}
	if p.Name != "" {
		return p.Name
	}
	return p.ID
}
