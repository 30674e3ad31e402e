package partners

import (
	"context"
	"errors"
	"strings"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// Approve makes a pending partner active and sends them a sign-in link
// and the welcome email at base. ErrState when the partner is not pending; the partner is approved
// even when the email fails (the error says so).
func (s *Service) Approve(ctx context.Context, programID, code, base string) (*store.Partner, error) {
	p, err := s.move(ctx, programID, code, []referral.ReferrerStatus{referral.ReferrerPending}, referral.ReferrerActive)
	if err != nil {
		return nil, err
	}
	prog, err := s.Store.CurrentProgram(ctx, p.ProgramID)
	if err != nil {
		return p, err
	}
	if _, err := s.SendSignIn(ctx, prog, p, base); err != nil {
		return p, err
	}
	return p, s.sendWelcome(ctx, prog, p, base)
}

// Disable turns a partner off: their code stops attributing referrals and
// clicks, and they cannot sign in. ErrState when already disabled.
func (s *Service) Disable(ctx context.Context, programID, code string) (*store.Partner, error) {
	return s.move(ctx, programID, code, []referral.ReferrerStatus{referral.ReferrerActive, referral.ReferrerPending, referral.ReferrerInvited}, referral.ReferrerDisabled)
}

// Enable makes a disabled partner active again. ErrState when the partner
// is not disabled.
func (s *Service) Enable(ctx context.Context, programID, code string) (*store.Partner, error) {
	return s.move(ctx, programID, code, []referral.ReferrerStatus{referral.ReferrerDisabled}, referral.ReferrerActive)
}

// Activate makes an invited partner active (their first sign-in). A
// partner already active stays so; ErrState for any other status.
func (s *Service) Activate(ctx context.Context, programID, code string) (*store.Partner, error) {
	return s.move(ctx, programID, code, []referral.ReferrerStatus{referral.ReferrerInvited, referral.ReferrerActive}, referral.ReferrerActive)
}

func (s *Service) move(ctx context.Context, programID, code string, from []referral.ReferrerStatus, to referral.ReferrerStatus) (*store.Partner, error) {
	cur, err := s.Store.CurrentPartner(ctx, programID, code)
	if err != nil {
		return nil, err
	}
	return s.Store.SetPartnerStatus(ctx, cur.ProgramID, cur.Code, from, to)
}

// ChangeCode gives a partner a new code. Their referrals stay theirs
// (they are filed under the partner's lifelong key) and keep the code
// they were made with; the old code stays reserved to the program, and
// links and forms with it no longer attribute new referrals.
// ErrCodeTaken: someone holds the new code; *Invalid: it is not a code.
func (s *Service) ChangeCode(ctx context.Context, programID, from, to string) (*store.Partner, error) {
	to = strings.TrimSpace(to)
	if !referral.ValidCode(to) {
		return nil, &Invalid{Fields: map[string]string{"code": "must be 3 to 32 letters, digits, - or _"}}
	}
	cur, err := s.Store.CurrentPartner(ctx, programID, from)
	if err != nil {
		return nil, err
	}
	if cur.Code == to {
		return cur, nil
	}
	return s.Store.ChangeCode(ctx, cur.ProgramID, cur.Code, to)
}

// Page is one page of a program's partners, in code order; Next continues
// after it ("" = the last page).
type Page struct {
	Partners []store.Partner
	Next     string
}

// List lists a program's partners, limit at a time (at most 200), after
// cursor (a Page's Next). ErrNotFound: no such program.
func (s *Service) List(ctx context.Context, programID string, limit int, cursor string) (Page, error) {
	if _, err := s.Store.CurrentProgram(ctx, programID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Page{}, ErrNotFound
		}
		return Page{}, err
	}
	list, next, err := s.Store.PartnersOf(ctx, programID, limit, cursor)
	return Page{Partners: list, Next: next}, err
}

// Program reads a program's current version; ErrNotFound when there is none.
func (s *Service) Program(ctx context.Context, id string) (*program.Program, error) {
	return s.Store.CurrentProgram(ctx, strings.ToLower(strings.TrimSpace(id)))
}
