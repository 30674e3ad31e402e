package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/referflow/referflow/internal/feedback"
	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// Preferences are the kinds of email a subscriber switched off. They are
// kept per program and subscriber in an item of their own (store:
// PROGRAM#<id> / MAILPREF#<subscriber key>, attribute "off", a string
// set), so replacing a referrer item never loses them.
type Preferences struct {
	Off []Kind
}

// Wants reports whether the subscriber gets emails of kind k.
func (p Preferences) Wants(k Kind) bool { return !slices.Contains(p.Off, k) }

// Strings are the switched-off kinds as strings, sorted.
func (p Preferences) Strings() []string {
	out := make([]string, len(p.Off))
	for i, k := range p.Off {
		out[i] = string(k)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Switchable lists the kinds s may switch off: a partner every partner
// email but the sign-in link, a referee the welcome email.
func Switchable(s Subscriber) []Kind {
	if s.Code == "" {
		return []Kind{KindRefereeWelcome}
	}
	var out []Kind
	for _, k := range Kinds() {
		if k.Audience() == Partner && k != KindSignIn {
			out = append(out, k)
		}
	}
	return out
}

// PreferenceStore keeps preferences (internal/store implements it).
type PreferenceStore interface {
	// MailOff returns the kinds switched off under subscriber key in
	// program (none when nothing is stored).
	MailOff(ctx context.Context, programID, key string) ([]string, error)
	// SetMailOff replaces them.
	SetMailOff(ctx context.Context, programID, key string, off []string, now time.Time) error
}

// ErrNotSwitchable: a preference names a kind the subscriber cannot
// switch off (or no kind at all).
var ErrNotSwitchable = errors.New("notify: kind cannot be switched off")

// LoadPreferences reads s's preferences.
func LoadPreferences(ctx context.Context, st PreferenceStore, s Subscriber) (Preferences, error) {
	off, err := st.MailOff(ctx, s.ProgramID, s.Key())
	if err != nil {
		return Preferences{}, fmt.Errorf("notify: load preferences: %w", err)
	}
	var p Preferences
	for _, k := range off {
		p.Off = append(p.Off, Kind(k))
	}
	return p, nil
}

// SavePreferences stores s's preferences; ErrNotSwitchable, storing
// nothing, when one of p.Off is not in Switchable(s).
func SavePreferences(ctx context.Context, st PreferenceStore, s Subscriber, p Preferences, now time.Time) error {
	allowed := Switchable(s)
	for _, k := range p.Off {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("%w: %q", ErrNotSwitchable, k)
		}
	}
	if err := st.SetMailOff(ctx, s.ProgramID, s.Key(), p.Strings(), now); err != nil {
		return fmt.Errorf("notify: save preferences: %w", err)
	}
	return nil
}

// ErrOff: the program switched the kind off (nothing to send).
var ErrOff = errors.New("notify: email switched off by the program")

// Welcome renders the welcome email to partner r of program p (the
// portal sends it when a partner joins, or an operator approves one; its
// preference link speaks for r.Code, a new partner's lifelong key):
// ErrOff when the program switched welcome emails off. Like SignIn, From
// is "" when the program names no sender. The caller checks the partner's
// own preferences (LoadPreferences) when it has them.
func Welcome(p *program.Program, r *referral.Referrer, l Links) (mail.Message, error) {
	if !p.Sends(string(KindWelcome)) {
		return mail.Message{}, ErrOff
	}
	prefs, err := l.Preferences(Subscriber{ProgramID: p.ID, Code: r.Code})
	if err != nil {
		return mail.Message{}, fmt.Errorf("notify: welcome: %w", err)
	}
	v := View{
		Kind: KindWelcome, Program: programName(p), Name: r.Name, Code: r.Code,
		Share: l.base() + "/r/" + r.Code, Link: l.Portal(), Preferences: prefs,
	}
	m, err := render(p, v, r.Email)
	if err != nil {
		return mail.Message{}, fmt.Errorf("notify: welcome: %w", err)
	}
	return m, nil
}

// MonthlySummary renders partner r's summary of a month in program p,
// its preference link for the partner's lifelong key and the feedback
// question with its eleven score links (signed for the key and the
// summary's month, no email in them): ErrOff when the program switched
// summaries off.
func MonthlySummary(p *program.Program, r *referral.Referrer, key string, s Summary, l Links) (mail.Message, error) {
	if !p.Sends(string(KindMonthlySummary)) {
		return mail.Message{}, ErrOff
	}
	prefs, err := l.Preferences(Subscriber{ProgramID: p.ID, Code: key})
	if err != nil {
		return mail.Message{}, fmt.Errorf("notify: monthly summary: %w", err)
	}
	scores, err := l.Feedback(p.ID, key, s.Period)
	if err != nil {
		return mail.Message{}, fmt.Errorf("notify: monthly summary: %w", err)
	}
	v := View{
		Kind: KindMonthlySummary, Program: programName(p), Name: r.Name, Code: r.Code,
		Summary: &s, Link: l.Portal(), Preferences: prefs, Question: feedback.Question, Scores: scores,
	}
	m, err := render(p, v, r.Email)
	if err != nil {
		return mail.Message{}, fmt.Errorf("notify: monthly summary: %w", err)
	}
	return m, nil
}
