package rewards

import (
	"context"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// What a lost deal does to a referral's rewards. The deal may be lost
// (a lost stage), deleted, or refunded, before or after the referral
// completed; the referral records the first loss (lost_at, lost_reason)
// and every payment checks it in the transaction that pays.
//
//   - A loss recorded before a milestone's pay step finished voids that
//     milestone's unpaid rewards (Pay): the holding period is there for it.
//   - A refund, or a loss after the referral completed, takes the sale
//     back: the last milestone reached that pays rewards (Undone) has its
//     paid rewards reversed, one new ledger entry each, and its unpaid ones
//     voided.
//   - Earlier milestones' paid rewards stay paid. Their rewards that were
//     earned (their holding period over before the loss) but wait for a
//     person stay payable when the program keeps rewards on a loss
//     (rewards_on_loss: keep, the default), and are voided when it says
//     void (KeptOnLoss).
//
// Voids and reversals give the rewards' budget and cap back.

// reasonRefunded is the lost_reason of a refunded deal.
const reasonRefunded = "refunded"

// Undone is the milestone whose sale the loss of referral r's deal takes
// back under program p: the last milestone reached that pays rewards, when
// the deal was refunded, or lost or deleted after the referral completed
// (or reached the program's last milestone); "" when the deal was lost on
// the way (what is lost then is the milestone not reached yet).
func Undone(r *referral.Referral, p *program.Program) string {
	last, paying := "", ""
	for _, m := range p.Milestones {
		if r.Reached(m.Name) {
			last = m.Name
			if len(m.Rewards) > 0 {
				paying = m.Name
			}
		}
	}
	final := last != "" && last == p.Milestones[len(p.Milestones)-1].Name
	if r.LostReason == reasonRefunded || final || r.Status == referral.StatusCompleted {
		return paying
	}
	return ""
}

func lastReached(r *referral.Referral, p *program.Program) string {
	last := ""
	for _, m := range p.Milestones {
		if r.Reached(m.Name) {
			last = m.Name
		}
	}
	return last
}

// KeptOnLoss reports whether reward rw of referral r stays payable although
// r's deal was lost: it waits for a person (pending, needing approval),
// its holding period ended before the loss (it was earned), its milestone
// is not the one the loss takes back (Undone), and program p keeps such
// rewards (rewards_on_loss: keep). Every reward of an open deal is kept.
func KeptOnLoss(r *referral.Referral, p *program.Program, rw Reward) bool {
	if r.LostAt == nil {
		return true
	}
	return p.KeepsRewardsOnLoss() && rw.Status == StatusPending && rw.NeedsApproval &&
		!rw.HoldUntil.After(*r.LostAt) && rw.Milestone != Undone(r, p)
}

// Loss is the result of ApplyLoss.
type Loss struct {
	Reversed int // paid rewards reversed by this call
	Voided   int // unpaid rewards voided by this call
}

// ApplyLoss settles the rewards of referral r, whose deal was lost (r.LostAt
// set), under program p: the paid rewards of the milestone the loss takes
// back are reversed, and every unpaid reward not KeptOnLoss is voided (see
// the top of this file). It does nothing for an open deal, and a repeat
// changes nothing.
func (s *Service) ApplyLoss(ctx context.Context, r *referral.Referral, p *program.Program, actor string) (Loss, error) {
	var out Loss
	if r.LostAt == nil {
		return out, nil
	}
	rws, err := s.Repo.Rewards(ctx, r.ID)
	if err != nil {
		return out, err
	}
	now := s.Now().UTC()
	undone := Undone(r, p)
	var unpaid []Reward
	for _, rw := range rws {
		switch {
		case rw.Status == StatusPaid && rw.Milestone == undone:
			ok, err := s.reverse(ctx, rw, "deal "+r.LostReason, actor, now)
			if err != nil {
				return out, err
			}
			if ok {
				out.Reversed++
			}
		case rw.Status.Payable() && !KeptOnLoss(r, p, rw):
			unpaid = append(unpaid, rw)
		}
	}
	out.Voided, err = s.void(ctx, unpaid, "deal "+r.LostReason, actor, now)
	return out, err
}

// VoidUnpaid voids every reward of a referral that is not paid yet (the
// referral ended without completing), giving their reservations back. It
// returns how many this call voided.
func (s *Service) VoidUnpaid(ctx context.Context, referralID, reason, actor string) (int, error) {
	rewards, err := s.Repo.Rewards(ctx, referralID)
	if err != nil {
		return 0, err
	}
	return s.void(ctx, rewards, reason, actor, s.Now().UTC())
}

func (s *Service) void(ctx context.Context, rewards []Reward, reason, actor string, now time.Time) (int, error) {
	n := 0
	for _, rw := range rewards {
		if !rw.Status.Payable() {
			continue
		}
		ev := Event(events.RewardVoided, rw, actor, now).WithStatus(string(StatusVoided)).With("reason", reason)
		changed, err := s.Repo.SetRewardStatus(ctx, rw, []Status{StatusPending, StatusOnHold, StatusApproved}, StatusVoided, reason, ev, now)
		if err != nil {
			return n, err
		}
		if changed {
			n++
		}
	}
	return n, nil
}

// Reverse claws back the paid rewards of the last milestone referral r
// reached under program p (the sale that was refunded) with one reversal
// ledger entry each, at most once however often it is called; rewards of
// earlier milestones stay. It returns how many this call reversed.
func (s *Service) Reverse(ctx context.Context, r *referral.Referral, p *program.Program, actor string) (int, error) {
	last := lastReached(r, p)
	if last == "" {
		return 0, nil
	}
	rewards, err := s.Repo.MilestoneRewards(ctx, r.ID, last)
	if err != nil {
		return 0, err
	}
	now := s.Now().UTC()
	n := 0
	for _, rw := range rewards {
		if rw.Status != StatusPaid {
			continue
		}
		ok, err := s.reverse(ctx, rw, "deal refunded", actor, now)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// reverse writes the reversal entry of paid reward rw, once, giving what
// it counted on back to its budget and cap; the event says why.
func (s *Service) reverse(ctx context.Context, rw Reward, why, actor string, now time.Time) (bool, error) {
	return s.Repo.ReverseReward(ctx, rw, ReversalEntry(rw, now), Event(events.RewardReversed, rw, actor, now).With("reason", why))
}
