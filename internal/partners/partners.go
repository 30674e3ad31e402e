// Package partners is what operators and the portal do with a program's
// partners (its referrers): invite them, let them join under the
// program's join policy, approve, disable and enable them, correct their
// name, email and company, change their code, list them, and send them
// sign-in links. The admin API, the
// operator CLI and the portal call the same operations.
//
// A sign-in link carries a one-time token: 32 random bytes, base64url,
// stored only as its SHA-256 and expiring after the program's
// sign_in_minutes. Only an active or invited partner is sent one.
package partners

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// Store is what the partner operations read and write.
type Store interface {
	CurrentProgram(ctx context.Context, id string) (*program.Program, error)
	CreateReferrer(ctx context.Context, r referral.Referrer) error
	CurrentPartner(ctx context.Context, programID, code string) (*store.Partner, error)
	PartnersByEmail(ctx context.Context, email string) ([]store.PartnerRef, error)
	SetPartnerStatus(ctx context.Context, programID, code string, from []referral.ReferrerStatus, to referral.ReferrerStatus) (*store.Partner, error)
	ChangeCode(ctx context.Context, programID, from, to string) (*store.Partner, error)
	// PutReferrer replaces a partner's facts (Edit).
	PutReferrer(ctx context.Context, r referral.Referrer) error
	PartnersOf(ctx context.Context, programID string, limit int, cursor string) ([]store.Partner, string, error)
	PutSignInToken(ctx context.Context, t store.SignInToken) error
}

// SignInMail renders the sign-in email (notify.SignIn).
type SignInMail func(p *program.Program, to, name, link string, expires time.Duration) (mail.Message, error)

// WelcomeMail renders the welcome email of a partner who joined or was
// approved, its links at base (notify.Welcome with the link secret);
// notify.ErrOff when the program switched it off.
type WelcomeMail func(ctx context.Context, p *program.Program, r *referral.Referrer, base string) (mail.Message, error)

// NotifyWelcome is the WelcomeMail of internal/notify: notify.Welcome with
// preference links signed under the newest of the link secrets
// (notify.LinkSecretSetting).
func NotifyWelcome(linkSecrets func(context.Context) ([]string, error), now func() time.Time) WelcomeMail {
	return func(ctx context.Context, p *program.Program, r *referral.Referrer, base string) (mail.Message, error) {
		secrets, err := linkSecrets(ctx)
		if err != nil {
			return mail.Message{}, err
		}
		if len(secrets) == 0 {
			return mail.Message{}, notify.ErrNoLinkSecret
		}
		return notify.Welcome(p, r, notify.Links{Base: base, Secret: secrets[0], Now: now})
	}
}

// Service runs the operations.
type Service struct {
	Store  Store
	Mail   mail.Sender
	SignIn SignInMail
	// Welcome, when set, sends the welcome email to a partner who joins an
	// open program or is approved.
	Welcome WelcomeMail
	// From is the deployment's default sender (REFERFLOW_MAIL_FROM), for
	// programs whose emails name none.
	From   string
	Now    func() time.Time
	Random io.Reader // crypto/rand when nil
}

// Errors callers match with errors.Is.
var (
	// ErrNotFound: no such program or partner.
	ErrNotFound = store.ErrNotFound
	// ErrExists: the email is already a partner of the program.
	ErrExists = store.ErrPartnerExists
	// ErrCodeTaken: the code is another partner's (in any program).
	ErrCodeTaken = store.ErrCodeTaken
	// ErrState: the partner's status does not allow the operation
	// (approving an active partner, enabling one that is not disabled).
	ErrState = store.ErrConflict
	// ErrInvitationOnly: the program takes partners by invitation only.
	ErrInvitationOnly = errors.New("partners: this program takes partners by invitation only")
)

// Invalid lists what is wrong with an operation's input, by field (the
// names of the admin API and the join form).
type Invalid struct {
	Fields map[string]string
}

func (e *Invalid) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for f, m := range e.Fields {
		parts = append(parts, f+" "+m)
	}
	return "partners: invalid: " + strings.Join(parts, "; ")
}

// Limits of what a partner gives about themselves.
const (
	MaxName        = 200
	MaxDisplayName = 60
)

// New is a partner to add: the program, the person's email and name,
// optionally their company and a code (one is drawn when empty).
type New struct {
	ProgramID string
	Email     string
	Name      string
	Company   string
	Code      string
}

// normalize trims the fields and lower-cases the email and program.
func (n *New) normalize() {
	n.ProgramID = strings.ToLower(strings.TrimSpace(n.ProgramID))
	n.Email = strings.ToLower(strings.TrimSpace(n.Email))
	n.Name = strings.TrimSpace(n.Name)
	n.Company = strings.TrimSpace(n.Company)
	n.Code = strings.TrimSpace(n.Code)
}

// Validate returns an *Invalid listing every problem of n (after
// trimming), or nil.
func (n New) Validate() error {
	n.normalize()
	f := map[string]string{}
	if n.ProgramID == "" {
		f["program"] = "is required"
	}
	switch {
	case n.Email == "":
		f["email"] = "is required"
	case !referral.ValidEmail(n.Email):
		f["email"] = "is not an email address"
	}
	switch {
	case n.Name == "":
		f["name"] = "is required"
	case utf8.RuneCountInString(n.Name) > MaxName:
		f["name"] = fmt.Sprintf("is too long (at most %d characters)", MaxName)
	}
	if utf8.RuneCountInString(n.Company) > MaxName {
		f["company"] = fmt.Sprintf("is too long (at most %d characters)", MaxName)
	}
	if n.Code != "" && !referral.ValidCode(n.Code) {
		f["code"] = "must be 3 to 32 letters, digits, - or _"
	}
	if len(f) > 0 {
		return &Invalid{Fields: f}
	}
	return nil
}

// Invite adds a partner an operator invites, whatever the program's join
// policy: invited (active once they first sign in), with the code given or
// a drawn one, and sends them a sign-in link at base (the portal's public
// URL, e.g. https://partners.example).
// ErrExists: the email is already a partner of the program; the email is
// not sent again. The partner is stored even when the email fails (the
// error says so; invite again or let them sign in from the portal).
func (s *Service) Invite(ctx context.Context, n New, base string) (*store.Partner, error) {
	p, prog, err := s.add(ctx, n, referral.ReferrerInvited)
	if err != nil {
		return nil, err
	}
	if _, err := s.SendSignIn(ctx, prog, p, base); err != nil {
		return p, err
	}
	return p, nil
}

// Join adds a person who asks to join prog from the portal, under its
// join policy: open, they are active at once and sent a sign-in link and
// the welcome email;
// approval, they are pending until an operator approves them;
// invitation, ErrInvitationOnly. When the email already is a partner of
// the program nothing is added: an active or invited one is sent a
// sign-in link (so the answer cannot tell who is a partner), and the
// returned partner is nil.
func (s *Service) Join(ctx context.Context, prog *program.Program, n New, base string) (*store.Partner, error) {
	n.ProgramID = prog.ID
	var status referral.ReferrerStatus
	switch prog.Partners.JoinPolicy() {
	case program.JoinOpen:
		status = referral.ReferrerActive
	case program.JoinApproval:
		status = referral.ReferrerPending
	default:
		return nil, ErrInvitationOnly
	}
	p, _, err := s.add(ctx, n, status)
	if errors.Is(err, ErrExists) {
		return nil, s.signInExisting(ctx, prog, n.Email, base)
	}
	if err != nil {
		return nil, err
	}
	if p.Active() {
		if _, err := s.SendSignIn(ctx, prog, p, base); err != nil {
			return p, err
		}
		if err := s.sendWelcome(ctx, prog, p, base); err != nil {
			return p, err
		}
	}
	return p, nil
}

// sendWelcome sends partner p of prog the welcome email, when the service
// has one and the program sends it.
func (s *Service) sendWelcome(ctx context.Context, prog *program.Program, p *store.Partner, base string) error {
	if s.Welcome == nil {
		return nil
	}
	m, err := s.Welcome(ctx, prog, &p.Referrer, strings.TrimRight(base, "/"))
	if errors.Is(err, notify.ErrOff) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("partners: welcome email: %w", err)
	}
	if m.From == "" {
		m.From = s.From
	}
	if _, err := s.Mail.Send(ctx, m); err != nil {
		return fmt.Errorf("partners: send welcome email: %w", err)
	}
	return nil
}

// signInExisting sends a sign-in link to the partner email already is in
// prog, when it is active or invited.
func (s *Service) signInExisting(ctx context.Context, prog *program.Program, email, base string) error {
	refs, err := s.Store.PartnersByEmail(ctx, email)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if ref.ProgramID != prog.ID {
			continue
		}
		p, err := s.Store.CurrentPartner(ctx, ref.ProgramID, ref.Code)
		if err != nil {
			return err
		}
		_, err = s.SendSignIn(ctx, prog, p, base)
		return err
	}
	return nil
}

// maxCodeDraws bounds the codes drawn for one new partner (each taken one
// is about one chance in 17,000 for a program of a million partners).
const maxCodeDraws = 5

// add validates n and stores it as a partner with status, drawing a code
// when it gives none (again when one is taken).
func (s *Service) add(ctx context.Context, n New, status referral.ReferrerStatus) (*store.Partner, *program.Program, error) {
	if err := n.Validate(); err != nil {
		return nil, nil, err
	}
	n.normalize()
	prog, err := s.Store.CurrentProgram(ctx, n.ProgramID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, &Invalid{Fields: map[string]string{"program": "is not a known program"}}
	}
	if err != nil {
		return nil, nil, err
	}
	r := referral.Referrer{ProgramID: prog.ID, Code: n.Code, Email: n.Email, Name: n.Name, Company: n.Company,
		Domain: referral.EmailDomain(n.Email), Status: status, CreatedAt: s.Now().UTC()}
	for draw := 0; ; draw++ {
		if n.Code == "" {
			if r.Code, err = referral.NewCode(s.Random); err != nil {
				return nil, nil, err
			}
		}
		err = s.Store.CreateReferrer(ctx, r)
		if !errors.Is(err, store.ErrCodeTaken) || n.Code != "" || draw == maxCodeDraws {
			break
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return &store.Partner{Referrer: r, Key: r.Code}, prog, nil
}

// SendSignIn sends partner p of prog a sign-in link at base, when p is
// active or invited, and reports whether it sent one. The link's token is
// stored only as its SHA-256 and expires after the program's
// sign_in_minutes.
func (s *Service) SendSignIn(ctx context.Context, prog *program.Program, p *store.Partner, base string) (bool, error) {
	if st := p.State(); st != referral.ReferrerActive && st != referral.ReferrerInvited {
		return false, nil
	}
	ttl := prog.Partners.SignInTTL()
	token, hash, err := NewToken(s.Random)
	if err != nil {
		return false, err
	}
	err = s.Store.PutSignInToken(ctx, store.SignInToken{Hash: hash, ProgramID: prog.ID, Code: p.Code, ExpiresAt: s.Now().Add(ttl)})
	if err != nil {
		return false, err
	}
	link := strings.TrimRight(base, "/") + SignInPath + token
	m, err := s.SignIn(prog, p.Email, p.Name, link, ttl)
	if err != nil {
		return false, fmt.Errorf("partners: sign-in email: %w", err)
	}
	if m.From == "" {
		m.From = s.From
	}
	if _, err := s.Mail.Send(ctx, m); err != nil {
		return false, fmt.Errorf("partners: send sign-in email: %w", err)
	}
	return true, nil
}

// SignInPath is the portal path a sign-in link opens, followed by the token.
const SignInPath = "/portal/sign-in/"

// NewToken draws a one-time token (32 random bytes, base64url) from
// random (crypto/rand when nil) and returns it with its hex SHA-256, the
// only form that is stored.
func NewToken(random io.Reader) (token, hash string, err error) {
	if random == nil {
		random = rand.Reader
	}
	b := make([]byte, 32)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", "", fmt.Errorf("partners: token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken is the stored form of a token: its hex SHA-256.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
