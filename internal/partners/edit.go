package partners

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// Changes are the facts about a partner an operator corrects: their
// name, email and company (nil: unchanged). Their code changes with
// ChangeCode, their status with Approve, Disable and Enable.
type Changes struct {
	Name, Email, Company *string
}

// validate trims the changes, lower-cases the email and returns an
// *Invalid listing every problem, or nil.
func (c *Changes) validate() error {
	f := map[string]string{}
	trim := func(p *string) {
		if p != nil {
			*p = strings.TrimSpace(*p)
		}
	}
	trim(c.Name)
	trim(c.Email)
	trim(c.Company)
	if c.Email != nil {
		*c.Email = strings.ToLower(*c.Email)
		if !referral.ValidEmail(*c.Email) {
			f["email"] = "is not an email address"
		}
	}
	switch {
	case c.Name != nil && *c.Name == "":
		f["name"] = "is required"
	case c.Name != nil && utf8.RuneCountInString(*c.Name) > MaxName:
		f["name"] = fmt.Sprintf("is too long (at most %d characters)", MaxName)
	}
	if c.Company != nil && utf8.RuneCountInString(*c.Company) > MaxName {
		f["company"] = fmt.Sprintf("is too long (at most %d characters)", MaxName)
	}
	if c.Name == nil && c.Email == nil && c.Company == nil {
		f["body"] = "names nothing to change (name, email, company)"
	}
	if len(f) > 0 {
		return &Invalid{Fields: f}
	}
	return nil
}

// Edit corrects a partner's name, email or company (the partner holding
// code now, or the one it was changed to). The partner keeps its code,
// key, status and referrals; a new email moves their portal sign-in to it
// (the old one no longer signs in). *Invalid: a change is not valid;
// ErrNotFound: no such partner; ErrExists: the new email is already
// another partner of the program.
func (s *Service) Edit(ctx context.Context, programID, code string, c Changes) (*store.Partner, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	cur, err := s.Store.CurrentPartner(ctx, strings.ToLower(strings.TrimSpace(programID)), strings.TrimSpace(code))
	if err != nil {
		return nil, err
	}
	next := *cur
	if c.Name != nil {
		next.Name = *c.Name
	}
	if c.Company != nil {
		next.Company = *c.Company
	}
	if c.Email != nil {
		next.Email, next.Domain = *c.Email, referral.EmailDomain(*c.Email)
	}
	if next.Referrer == cur.Referrer {
		return cur, nil
	}
	if err := s.Store.PutReferrer(ctx, next.Referrer); err != nil {
		return nil, err
	}
	return &next, nil
}

// Partner reads the partner holding code in program now (or the one the
// code was changed to); ErrNotFound when there is none.
func (s *Service) Partner(ctx context.Context, programID, code string) (*store.Partner, error) {
	return s.Store.CurrentPartner(ctx, strings.ToLower(strings.TrimSpace(programID)), strings.TrimSpace(code))
}
