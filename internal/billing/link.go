package billing

import (
	"context"
	"errors"
	"time"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// link finds the referral invoice inv's customer belongs to, and the
// program version it was accepted under, recording the customer's link
// the first time: the link stored before; else metadata referral_id (any
// program with subscription rewards honours it); else, for programs that
// say link: email, the newest referral whose referee has the invoice's
// customer_email. A nil referral (and no error): nobody referred the
// customer, or the referral's program pays nothing per invoice and none
// links by email.
func (p *Processor) link(ctx context.Context, inv *Invoice, now time.Time) (Link, *referral.Referral, *program.Program, error) {
	l, err := p.Store.StripeLink(ctx, inv.CustomerID)
	if err == nil {
		r, prog, err := p.referral(ctx, l.ReferralID)
		return l, r, prog, err
	}
	if !errors.Is(err, ErrNotFound) {
		return Link{}, nil, nil, err
	}
	id, err := p.candidate(ctx, inv)
	if err != nil || id == "" {
		return Link{}, nil, nil, err
	}
	if l, err = p.Store.PutStripeLink(ctx, inv.CustomerID, id, now); err != nil {
		return Link{}, nil, nil, err
	}
	r, prog, err := p.referral(ctx, l.ReferralID) // the first link wins
	return l, r, prog, err
}

// candidate is the referral inv names in its metadata, or the one its
// customer's email finds under a program linking by email; "" when none.
func (p *Processor) candidate(ctx context.Context, inv *Invoice) (string, error) {
	if inv.ReferralID != "" {
		r, prog, err := p.referral(ctx, inv.ReferralID)
		if err != nil || r == nil || prog.Subscription == nil {
			return "", err
		}
		return r.ID, nil
	}
	if inv.CustomerEmail == "" {
		return "", nil
	}
	ids, err := p.Store.ReferralsByEmail(ctx, inv.CustomerEmail)
	if err != nil {
		return "", err
	}
	for _, id := range ids {
		r, prog, err := p.referral(ctx, id)
		if err != nil {
			return "", err
		}
		if r != nil && prog.Subscription != nil && prog.Subscription.Link == program.LinkEmail && r.Status != referral.StatusRejected {
			return r.ID, nil
		}
	}
	return "", nil
}

// referral reads referral id and the program version it was accepted
// under; nil (no error) when there is no such referral.
func (p *Processor) referral(ctx context.Context, id string) (*referral.Referral, *program.Program, error) {
	r, err := p.Store.Referral(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	prog, err := p.Store.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion)
	if err != nil {
		return nil, nil, err
	}
	return r, prog, nil
}
