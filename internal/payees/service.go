package payees

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store is where payees are kept (the DynamoDB store). Every method
// answers ErrNotFound for a payee, partner or referral that does not exist.
type Store interface {
	// PartnerKey is the lifelong key of the partner holding code in the
	// program now (a changed code finds its partner).
	PartnerKey(ctx context.Context, programID, code string) (string, error)
	PutPartnerPayee(ctx context.Context, programID, partnerKey string, r Record) error
	PartnerPayee(ctx context.Context, programID, partnerKey string) (*Record, error)
	DeletePartnerPayee(ctx context.Context, programID, partnerKey string) error
	// PutRefereePayee stores the payee of an existing referral's referee.
	PutRefereePayee(ctx context.Context, referralID string, r Record) error
	RefereePayee(ctx context.Context, referralID string) (*Record, error)
	DeleteRefereePayee(ctx context.Context, referralID string) error
}

// Service records, shows and removes payees: the operations the admin API
// and the operator CLI (and later the partner portal) share. Invalid input
// is an *Invalid and writes nothing.
type Service struct {
	Store Store
	Now   func() time.Time
	// Waiting makes the party's rewards that wait for a payout method due
	// at once, when one is recorded (nil: they are looked at again within
	// rewards.PayeeRetry).
	Waiting Waiting
}

// Waiting files for the payouts runner, due now, the rewards that wait
// for a party's payout method (the store's WakePartner, WakeReferee).
type Waiting interface {
	WakePartner(ctx context.Context, programID, partnerKey string, now time.Time) error
	WakeReferee(ctx context.Context, referralID string, now time.Time) error
}

// SetPartner validates p and records it as the payout method of the
// partner holding code in the program, by actor (updated_by), replacing
// the one it had. ErrNotFound: no such partner.
func (s *Service) SetPartner(ctx context.Context, programID, code string, p Payee, actor string) (*Record, error) {
	p, err := Check(Partner, p)
	if err != nil {
		return nil, err
	}
	key, err := s.Store.PartnerKey(ctx, programID, code)
	if err != nil {
		return nil, err
	}
	r := Record{Payee: p, UpdatedAt: s.Now().UTC(), UpdatedBy: actor}
	if err := s.Store.PutPartnerPayee(ctx, programID, key, r); err != nil {
		return nil, fmt.Errorf("payees: set partner payee: %w", err)
	}
	if s.Waiting != nil {
		// Best effort: rewards it could not wake are looked at again by
		// the payouts runner within rewards.PayeeRetry anyway.
		_ = s.Waiting.WakePartner(ctx, programID, key, r.UpdatedAt)
	}
	return &r, nil
}

// Partner reads the payout method of the partner holding code in the
// program. ErrNotFound: no such partner; ErrNoPayee: it has none.
func (s *Service) Partner(ctx context.Context, programID, code string) (*Record, error) {
	key, err := s.Store.PartnerKey(ctx, programID, code)
	if err != nil {
		return nil, err
	}
	return noPayee(s.Store.PartnerPayee(ctx, programID, key))
}

// noPayee reads a missing payee as ErrNoPayee.
func noPayee(r *Record, err error) (*Record, error) {
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNoPayee
	}
	return r, err
}

// RemovePartner removes the payout method of the partner holding code in
// the program: its rewards wait for a new one. ErrNotFound: no such
// partner; ErrNoPayee: it had none.
func (s *Service) RemovePartner(ctx context.Context, programID, code string) error {
	key, err := s.Store.PartnerKey(ctx, programID, code)
	if err != nil {
		return err
	}
	_, err = noPayee(nil, s.Store.DeletePartnerPayee(ctx, programID, key))
	return err
}

// SetReferee validates p and records it, by actor, as where the referee
// of the referral (the new customer) gets its rewards: usually its Stripe
// customer, for credits and discounts. ErrNotFound: no such referral.
func (s *Service) SetReferee(ctx context.Context, referralID string, p Payee, actor string) (*Record, error) {
	p, err := Check(Referee, p)
	if err != nil {
		return nil, err
	}
	if referralID == "" {
		return nil, fmt.Errorf("payees: set referee payee: %w", ErrNotFound)
	}
	r := Record{Payee: p, UpdatedAt: s.Now().UTC(), UpdatedBy: actor}
	if err := s.Store.PutRefereePayee(ctx, referralID, r); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("payees: set referee payee: %w", err)
	}
	if s.Waiting != nil {
		// Best effort: rewards it could not wake are looked at again by
		// the payouts runner within rewards.PayeeRetry anyway.
		_ = s.Waiting.WakeReferee(ctx, referralID, r.UpdatedAt)
	}
	return &r, nil
}

// Referee reads the payee of the referral's referee. ErrNoPayee: none.
func (s *Service) Referee(ctx context.Context, referralID string) (*Record, error) {
	return noPayee(s.Store.RefereePayee(ctx, referralID))
}

// RemoveReferee removes the payee of the referral's referee. ErrNoPayee:
// it had none.
func (s *Service) RemoveReferee(ctx context.Context, referralID string) error {
	_, err := noPayee(nil, s.Store.DeleteRefereePayee(ctx, referralID))
	return err
}
