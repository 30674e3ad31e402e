package rewards

import (
	"context"
	"errors"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// Referrals reads a referral and the program version it runs under (the
// store), for Retry.
type Referrals interface {
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	ProgramVersion(ctx context.Context, id string, version int) (*program.Program, error)
}

// Retry is an operator's retry of failed reward rw, the same from the
// console and the admin API: it re-arms it (Rearm: a payment the rail
// holds under the old key is recorded and nothing is sent) and pays the
// new generation at once under its referral's program, read from refs.
// notPaid says why the reward is not paid yet when paying failed (an
// unknown outcome, left to the payouts runner, which looks it up first);
// a deal lost meanwhile voids it and is not a failure. err is a re-arm or
// a read that failed: nothing was re-armed or paid.
func (s *Service) Retry(ctx context.Context, rw Reward, actor string, refs Referrals) (notPaid, err error) {
	armed, err := s.Rearm(ctx, rw, actor)
	if err != nil || armed.Status == StatusPaid {
		return nil, err
	}
	r, err := refs.Referral(ctx, rw.ReferralID)
	if err != nil {
		return nil, err
	}
	p, err := refs.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion)
	if err != nil {
		return nil, err
	}
	if _, err := s.PayOne(ctx, r, p, armed, actor); err != nil && !errors.Is(err, ErrDealLost) {
		return err, nil
	}
	return nil, nil
}
