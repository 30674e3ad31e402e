package referral

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Attention is why a referral needs a person: a step of its workflow kept
// failing after its retries, or its execution ended before the referral
// did and resuming it failed too often. It is set when the referral moves
// to StatusNeedsAttention and cleared when an operator resumes it, which
// moves the referral back to From.
type Attention struct {
	From      Status    `dynamodbav:"from" json:"from"`                               // the status it had, and returns to
	Error     string    `dynamodbav:"error" json:"error"`                             // the failure's name, e.g. Sandbox.Timedout
	Cause     string    `dynamodbav:"cause,omitempty" json:"cause,omitempty"`         // ShortCause: no personal data
	Execution string    `dynamodbav:"execution,omitempty" json:"execution,omitempty"` // the execution it happened in
	At        time.Time `dynamodbav:"at" json:"at"`
}

// Active reports whether a referral in status s is still moving through
// its workflow: the statuses that can need attention and that a resume
// returns to.
func (s Status) Active() bool {
	switch s {
	case StatusReceived, StatusVerifying, StatusInReview, StatusInProgress:
		return true
	}
	return false
}

// MaxCause bounds the length of a recorded cause, in bytes.
const MaxCause = 300

var emailLike = regexp.MustCompile(`[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[A-Za-z]{2,}`)

// ShortCause makes an error's cause fit for the referral and its events:
// one line, anything shaped like an email address replaced by "<email>",
// at most MaxCause bytes. Causes are written by Referflow, the AWS SDK or
// the Lambda runtime and carry ids, but an error may quote a key or a
// value: this keeps a person's address out whatever the step reported.
func ShortCause(cause string) string {
	s := emailLike.ReplaceAllString(cause, "<email>")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= MaxCause {
		return s
	}
	cut := MaxCause - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
