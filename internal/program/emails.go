package program

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"unicode/utf8"
)

// This file holds what a program says about the emails Referflow sends on
// its behalf (internal/notify writes and sends them).
//
// In a program file:
//
//	emails:
//	  from: "Acme Partners <partners@acme.example>"  # the sender (a verified SES identity)
//	  reply_to: partners@acme.example                # optional
//	  operators: [ops@acme.example]                  # who gets the operator emails
//	  off: [monthly_summary]                         # kinds switched off
//	  referee_welcome: false                         # the referee's welcome email (off by default)
//	  wording:                                       # per kind, plain text
//	    referral_received:
//	      subject: "Thanks, we got your referral"
//	      intro: "Our team will call them this week."
//
// Every partner and operator email is on unless listed in off; the referee
// email is sent only with referee_welcome: true. Wording is plain text:
// it is escaped where it is shown, never read as HTML.

// Email kinds, one per email Referflow sends (internal/notify's catalogue).
const (
	EmailSignIn                 = "sign_in"
	EmailWelcome                = "welcome"
	EmailReferralReceived       = "referral_received"
	EmailReferralRejected       = "referral_rejected"
	EmailMilestoneReached       = "milestone_reached"
	EmailRewardOnHold           = "reward_on_hold"
	EmailRewardPaid             = "reward_paid"
	EmailMonthlySummary         = "monthly_summary"
	EmailRefereeWelcome         = "referee_welcome"
	EmailOperatorNewReferral    = "operator_new_referral"
	EmailOperatorReview         = "operator_review"
	EmailOperatorRewardApproval = "operator_reward_approval"
	EmailOperatorNeedsAttention = "operator_needs_attention"
	// EmailOperatorPayoutFailed: a reward's rail refused its payment (or
	// reversed it); it waits for a person to re-arm or void it.
	EmailOperatorPayoutFailed = "operator_payout_failed"
	// EmailOperatorReversalRefused: a rail would not take a reversed
	// reward's payment back; the ledger's reversal stands for finance.
	EmailOperatorReversalRefused = "operator_reversal_refused"
)

// EmailKinds lists every email kind, partner emails first, then the
// referee's, then the operators'.
var EmailKinds = []string{
	EmailSignIn, EmailWelcome, EmailReferralReceived, EmailReferralRejected,
	EmailMilestoneReached, EmailRewardOnHold, EmailRewardPaid, EmailMonthlySummary,
	EmailRefereeWelcome,
	EmailOperatorNewReferral, EmailOperatorReview, EmailOperatorRewardApproval, EmailOperatorNeedsAttention,
	EmailOperatorPayoutFailed, EmailOperatorReversalRefused,
}

// Bounds of the wording a program may set.
const (
	MaxEmailSubject = 150
	MaxEmailIntro   = 2000
	MaxOperators    = 20
)

// EmailSettings is the program's emails section.
type EmailSettings struct {
	// From is the sender, "Name <address>" or an address, at an identity
	// verified in SES; empty = the deployment's default sender.
	From string `json:"from,omitempty"`
	// ReplyTo is where replies go (optional).
	ReplyTo string `json:"reply_to,omitempty"`
	// Operators receive the operator emails (none = no operator email).
	Operators []string `json:"operators,omitempty"`
	// Off lists the kinds switched off for the whole program.
	Off []string `json:"off,omitempty"`
	// RefereeWelcome sends the referee the welcome incentive email.
	RefereeWelcome bool `json:"referee_welcome,omitempty"`
	// Wording overrides a kind's default subject and introduction.
	Wording map[string]EmailWording `json:"wording,omitempty"`
}

// EmailWording is a kind's own subject and introduction, plain text.
type EmailWording struct {
	Subject string `json:"subject,omitempty"`
	Intro   string `json:"intro,omitempty"`
}

// Sends reports whether the program sends emails of kind: a sign-in link
// always, the referee's welcome only when switched on, every other kind
// unless listed in Off. A nil program sends the defaults.
func (p *Program) Sends(kind string) bool {
	if kind == EmailSignIn {
		return true
	}
	if p == nil {
		return kind != EmailRefereeWelcome
	}
	if kind == EmailRefereeWelcome && !p.Emails.RefereeWelcome {
		return false
	}
	return !slices.Contains(p.Emails.Off, kind)
}

// fileEmails is the emails section as written; nothing in it needs parsing.
type fileEmails struct {
	From           string                 `json:"from" yaml:"from"`
	ReplyTo        string                 `json:"reply_to" yaml:"reply_to"`
	Operators      []string               `json:"operators" yaml:"operators"`
	Off            []string               `json:"off" yaml:"off"`
	RefereeWelcome bool                   `json:"referee_welcome" yaml:"referee_welcome"`
	Wording        map[string]fileWording `json:"wording" yaml:"wording"`
}

type fileWording struct {
	Subject string `json:"subject" yaml:"subject"`
	Intro   string `json:"intro" yaml:"intro"`
}

// convert copies the section, addresses and kinds trimmed, kinds
// lower-cased.
func (fe fileEmails) convert() EmailSettings {
	e := EmailSettings{
		From:           strings.TrimSpace(fe.From),
		ReplyTo:        strings.TrimSpace(fe.ReplyTo),
		RefereeWelcome: fe.RefereeWelcome,
	}
	for _, a := range fe.Operators {
		e.Operators = append(e.Operators, strings.TrimSpace(a))
	}
	for _, k := range fe.Off {
		e.Off = append(e.Off, strings.ToLower(strings.TrimSpace(k)))
	}
	if len(fe.Wording) > 0 {
		e.Wording = make(map[string]EmailWording, len(fe.Wording))
		for k, w := range fe.Wording {
			e.Wording[strings.ToLower(strings.TrimSpace(k))] = EmailWording{Subject: strings.TrimSpace(w.Subject), Intro: strings.TrimSpace(w.Intro)}
		}
	}
	return e
}

// validateEmails checks the emails section: addresses that parse, known
// kinds, a sign-in email that cannot be switched off, and wording within
// bounds (a subject on one line).
func (p *Program) validateEmails(ps *problems) {
	e := &p.Emails
	checkAddress(e.From, "emails.from", ps)
	checkAddress(e.ReplyTo, "emails.reply_to", ps)
	if len(e.Operators) > MaxOperators {
		ps.add("emails.operators", "at most %d addresses", MaxOperators)
	}
	for i, a := range e.Operators {
		path := fmt.Sprintf("emails.operators[%d]", i)
		if a == "" {
			ps.add(path, "must be an email address")
			continue
		}
		checkAddress(a, path, ps)
	}
	for i, k := range e.Off {
		path := fmt.Sprintf("emails.off[%d]", i)
		switch {
		case !slices.Contains(EmailKinds, k):
			ps.add(path, "unknown email kind %q (want one of %s)", k, want(EmailKinds))
		case k == EmailSignIn:
			ps.add(path, "the sign-in email cannot be switched off (partners could not sign in)")
		}
	}
	kinds := make([]string, 0, len(e.Wording))
	for k := range e.Wording {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		validateWording(k, e.Wording[k], ps)
	}
}

func validateWording(kind string, w EmailWording, ps *problems) {
	path := "emails.wording." + kind
	if !slices.Contains(EmailKinds, kind) {
		ps.add(path, "unknown email kind %q (want one of %s)", kind, want(EmailKinds))
		return
	}
	switch {
	case strings.ContainsAny(w.Subject, "\r\n"):
		ps.add(path+".subject", "must be one line")
	case utf8.RuneCountInString(w.Subject) > MaxEmailSubject:
		ps.add(path+".subject", "at most %d characters", MaxEmailSubject)
	}
	if utf8.RuneCountInString(w.Intro) > MaxEmailIntro {
		ps.add(path+".intro", "at most %d characters", MaxEmailIntro)
	}
}

// checkAddress reports a (non-empty) address that does not parse as one
// email address, "Name <address>" or an address.
func checkAddress(a, path string, ps *problems) {
	if a == "" {
		return
	}
	if _, err := mail.ParseAddress(a); err != nil || strings.ContainsAny(a, "\r\n") {
		ps.add(path, "%q is not an email address (want name@example.com or \"Name <name@example.com>\")", a)
	}
}
