package rewards

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// Repository is what the lifecycle reads and writes. Every method that
// changes a reward takes the event that records the change and writes both
// in one transaction; every change is conditional on the reward's current
// status, so a repeated call changes nothing and reports false.
type Repository interface {
	Rewards(ctx context.Context, referralID string) ([]Reward, error)
	MilestoneRewards(ctx context.Context, referralID, milestone string) ([]Reward, error)
	// CreateRewards writes a milestone's rewards with their reservations
	// against limits (see Plan); created gives each reward's event as it is
	// finally written. Rewards that exist already are returned unchanged.
	CreateRewards(ctx context.Context, referralID, milestone string, rewards []Reward, limits []Limit, created func(Reward) events.Event) ([]Reward, error)
	// RankReferral counts the referral once among its referrer's
	// successful referrals of period and returns its rank (1 = first).
	RankReferral(ctx context.Context, referralID, programID, code, period string, now time.Time) (int, error)
	// SetRewardStatus moves r from one of from to to (releasing its
	// reservations when to is voided or failed).
	SetRewardStatus(ctx context.Context, r Reward, from []Status, to Status, reason string, ev events.Event, now time.Time) (bool, error)
	// PayReward marks r paid — payable, sending, or failed (a payment its
	// rail turns out to hold: Rearm) — and writes its ledger entry e, in
	// one transaction with the check that its referral's deal is open when
	// check is DealOpen: a deal lost, deleted or refunded meanwhile fails
	// the payment with a *LostError (ErrDealLost) and nothing is written.
	// A reward that did not fit a limit (r.Limited) and carries
	// r.Reserved is an override: its amount is added to those counters,
	// without their limit, and r.Reserved is stored on the paid reward.
	PayReward(ctx context.Context, r Reward, e Entry, ev events.Event, now time.Time, check DealCheck) (bool, error)
	// ReverseReward writes the reversal entry e of a paid r, at most once,
	// giving r.Reserved back to its counters and recording e's time as the
	// reward's ReversedAt in the same transaction; a reward paid through a
	// rail that moves money (MovesMoney(r.Rail)) is filed, in the same
	// transaction, for its reversal at the rail (ActionReverse).
	ReverseReward(ctx context.Context, r Reward, e Entry, ev events.Event) (bool, error)

	// ClaimReward moves a payable r to sending before its rail is called,
	// recording r.Rail, r.Generation and r.IdempotencyKey, under check
	// (as PayReward), and files it for the payouts runner at now +
	// SendingGrace (should the claimer never record the outcome): false
	// when r was no longer payable. No event: the
	// claim is the lifecycle's own bookkeeping. PayReward also pays a
	// sending reward (the claim checked the deal).
	ClaimReward(ctx context.Context, r Reward, now time.Time, check DealCheck) (bool, error)
	// FailReward moves a sending r to failed with the rail's reason,
	// keeping its reservations, and files it for a person.
	FailReward(ctx context.Context, r Reward, reason string, ev events.Event, now time.Time) (bool, error)
	// ParkReward moves r from one of from to to with reason and files it
	// for the payouts runner at due (ScheduleReward), in one transaction.
	ParkReward(ctx context.Context, r Reward, from []Status, to Status, reason string, due time.Time, ev events.Event, now time.Time) (bool, error)
	// ScheduleReward files r for the payouts runner at due (replacing an
	// earlier filing). Paying, failing or voiding r removes the filing.
	ScheduleReward(ctx context.Context, r Reward, due time.Time) error
	// SettleReversal ends the filing of r's reversal at its rail (at the
	// payouts runner, or for a person), writing ev (nil: none) with it;
	// attention files it for a person instead. False, with nothing
	// written, when r is not filed for its reversal.
	SettleReversal(ctx context.Context, r Reward, ev *events.Event, attention bool) (bool, error)
	// RearmReward moves a failed r to approved with r.Generation and
	// r.IdempotencyKey, forgetting its rail, and files it to be paid now.
	RearmReward(ctx context.Context, r Reward, ev events.Event, now time.Time) (bool, error)
}

// DealCheck is what paying a reward requires of its referral's deal,
// checked in the transaction that pays.
type DealCheck int

// Deal checks.
const (
	// DealOpen: the deal is neither lost, deleted nor refunded (the
	// referral has no lost_at). The zero value.
	DealOpen DealCheck = iota
	// DealAny: whatever became of the deal; only for a reward KeptOnLoss.
	DealAny
)

// Errors the lifecycle returns; callers match them with errors.Is.
var (
	// ErrDealLost: the referral's deal was lost, deleted or refunded, so
	// its rewards are not created or paid (unpaid ones are voided).
	ErrDealLost = errors.New("rewards: the deal was lost")
	// ErrNotPayable: the reward is voided or failed.
	ErrNotPayable = errors.New("rewards: the reward is not payable")
	// ErrApprovalNotRequired: the workflow pays the reward by itself.
	ErrApprovalNotRequired = errors.New("rewards: the reward needs no approval")
	// ErrUnknownMilestone: the milestone is not in the referral's program.
	ErrUnknownMilestone = errors.New("rewards: milestone not in the program")
)

// ReasonAwaitingApproval is the status reason of a reward whose hold is
// over and that waits for a person.
const ReasonAwaitingApproval = "awaiting approval"

// Service runs the lifecycle of rewards: hold, pay, approve, void, reverse.
type Service struct {
	Repo Repository
	// Rails are the rails that move money, by name (RailStripe, ...); a
	// program naming a rail missing here cannot pay through it. The
	// ledger and manual rails need none.
	Rails map[string]Rail
	// Load, when set, supplies the rails instead of Rails, on first use
	// (internal/rails.Loader: built from settings, not at cold start).
	Load func(ctx context.Context) (map[string]Rail, error)
	// Payees says whether a reward's party can be paid through a rail yet;
	// nil: always (the ledger needs no payee).
	Payees PayeeCheck
	Now    func() time.Time
}

// Held is the result of Hold.
type Held struct {
	Rewards []Reward // the milestone's rewards as stored
	OnHold  int      // how many are in their holding period
	// HoldSecondsLeft is what remains of the longest holding period of a
	// payable reward, from when the rewards were first held.
	HoldSecondsLeft int64
	Rank            int // the referrer's rank in the tier period (0: no tier counted)
}

// Hold computes and records the rewards milestone pays for referral r under
// program p, reserving them against the program's limits. Repeating it (a
// retried step, a continued execution) changes nothing and never restarts a
// hold. ErrDealLost: the deal was lost before rewards were computed.
func (s *Service) Hold(ctx context.Context, r *referral.Referral, p *program.Program, milestone string) (Held, error) {
	if r.LostAt != nil {
		return Held{}, fmt.Errorf("%w (%s) before rewards were computed", ErrDealLost, r.LostReason)
	}
	idx := p.MilestoneIndex(milestone)
	if idx < 0 {
		return Held{}, fmt.Errorf("%w: %q in %s v%d", ErrUnknownMilestone, milestone, p.ID, p.Version)
	}
	now := s.Now().UTC()
	in := Input{Variant: r.Variant}
	if r.DealAmountMinor > 0 {
		in.Deal = &money.Money{Minor: r.DealAmountMinor, Currency: r.DealCurrency}
	}
	var err error
	if in.Rank, err = s.rank(ctx, r, p, idx, now); err != nil {
		return Held{}, err
	}
	hold := time.Duration(p.Milestones[idx].HoldSeconds) * time.Second
	var rewards []Reward
	var lims []Limit
	for _, l := range Compute(p, idx, in) {
		if l.AmountMinor <= 0 {
			continue
		}
		rw := newReward(r, l, now, hold)
		rewards = append(rewards, rw)
		lims = append(lims, limits(p, rw, now)...)
	}
	created := func(rw Reward) events.Event {
		ev := Event(events.RewardCreated, rw, events.ActorWorkflow, now).With("reason", rw.StatusReason)
		if in.Rank > 0 && rw.Party == program.PartyReferrer {
			ev = ev.With("rank", strconv.Itoa(in.Rank))
		}
		return ev
	}
	stored, err := s.Repo.CreateRewards(ctx, r.ID, milestone, rewards, lims, created)
	if err != nil {
		return Held{}, err
	}
	out := Held{Rewards: stored, Rank: in.Rank}
	for _, rw := range stored {
		if rw.Status == StatusOnHold {
			out.OnHold++
		}
		if left := int64(math.Ceil(rw.HoldUntil.Sub(now).Seconds())); rw.Status.Payable() && left > out.HoldSecondsLeft {
			out.HoldSecondsLeft = left
		}
	}
	return out, nil
}

func newReward(r *referral.Referral, l Line, now time.Time, hold time.Duration) Reward {
	rw := Reward{
		ID: RewardID(r.ID, l.Milestone, l.Party), ReferralID: r.ID, ProgramID: r.ProgramID,
		Milestone: l.Milestone, Party: l.Party, ReferrerCode: r.ReferrerCode, Kind: l.Kind,
		AmountMinor: l.AmountMinor, Currency: l.Currency, Description: l.Description,
		Status: StatusPending, HoldUntil: now.Add(hold), CreatedAt: now, UpdatedAt: now,
		NeedsApproval: l.NeedsApproval,
	}
	rw.IdempotencyKey = IdempotencyKey(rw.ID)
	if hold > 0 {
		rw.Status = StatusOnHold
	}
	return rw
}

// rank returns the referrer's rank for the tiers: the count of their
// referrals that reached the tiers' counts_milestone in the tier period
// (the period containing the time this referral reached it), this one
// included. The referral is counted once, when the step runs for the
// counted milestone or a later one; milestones before it pay without a
// tier (rank 0).
func (s *Service) rank(ctx context.Context, r *referral.Referral, p *program.Program, idx int, now time.Time) (int, error) {
	tiers := p.TiersFor(r.Variant) // the referral's variant's, else the program's
	if len(tiers) == 0 {
		return 0, nil
	}
	t := tiers[0] // validation: every tier counts the same milestone in the same period
	counted := p.MilestoneIndex(t.CountsMilestone)
	if t.CountsMilestone == "" {
		counted = len(p.Milestones) - 1
	}
	if counted < 0 || idx < counted {
		return 0, nil
	}
	at := now
	if reached, ok := r.Milestones[p.Milestones[counted].Name]; ok {
		at = reached
	}
	return s.Repo.RankReferral(ctx, r.ID, r.ProgramID, r.ReferrerCode, PeriodKey(t.Period, at), now)
}

// Paid is the result of Pay.
type Paid struct {
	Rewards []Reward // the milestone's rewards, before this call
	Paid    []Reward // paid by this call
	Voided  int      // voided by this call (deal lost during the hold)
}

// Pay pays the rewards of milestone after their holding period, exactly
// once: a reward that needs approval waits for a person instead
// (ReasonAwaitingApproval). Each payment checks, in its own transaction,
// that the deal is still open. When the deal was lost before this step
// finished (before it read the referral, or between that read and a
// payment) the milestone's unpaid rewards are voided and ErrDealLost is
// returned: a loss during a milestone's pay step is a loss during its
// hold.
func (s *Service) Pay(ctx context.Context, r *referral.Referral, p *program.Program, milestone string) (Paid, error) {
	now := s.Now().UTC()
	rewards, err := s.Repo.MilestoneRewards(ctx, r.ID, milestone)
	if err != nil {
		return Paid{}, err
	}
	out := Paid{Rewards: rewards}
	if r.LostAt == nil {
		err := s.payMilestone(ctx, p, &out, now)
		var lost *LostError
		if !errors.As(err, &lost) {
			return out, err
		}
		r = withLoss(r, lost)
	}
	out.Voided, err = s.void(ctx, rewards, "deal "+r.LostReason+" during the holding period", events.ActorWorkflow, now)
	if err != nil {
		return out, err
	}
	return out, &LostError{At: *r.LostAt, Reason: r.LostReason}
}

// payMilestone pays out.Rewards (or hands them to a person), each under
// the deal check.
func (s *Service) payMilestone(ctx context.Context, p *program.Program, out *Paid, now time.Time) error {
	for _, rw := range out.Rewards {
		if !rw.Status.Payable() && rw.Status != StatusSending {
			continue
		}
		if rw.NeedsApproval && rw.Status != StatusApproved && rw.Status != StatusSending {
			if err := s.awaitApproval(ctx, rw, now); err != nil {
				return err
			}
			continue
		}
		if parked, err := s.scheduled(ctx, rw, p, events.ActorWorkflow, now); parked || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		paid, err := s.pay(ctx, rw, p, DealOpen, events.ActorWorkflow, now)
		if err != nil {
			return err
		}
		if paid {
			out.Paid = append(out.Paid, rw)
		}
	}
	return nil
}

// withLoss is referral r with the loss of its deal recorded.
func withLoss(r *referral.Referral, lost *LostError) *referral.Referral {
	c := *r
	at := lost.At
	c.LostAt, c.LostReason = &at, lost.Reason
	return &c
}

// awaitApproval marks a reward whose hold is over as waiting for a person,
// once: an on_hold reward, or a pending one not marked yet (a milestone
// without a hold). A reward left out by a limit already says why it waits.
func (s *Service) awaitApproval(ctx context.Context, rw Reward, now time.Time) error {
	from := []Status{StatusOnHold}
	if rw.Status == StatusPending && rw.StatusReason == "" {
		from = append(from, StatusPending)
	}
	if rw.Status == StatusPending && rw.StatusReason != "" {
		return nil
	}
	ev := Event(events.RewardAwaitingApproval, rw, events.ActorWorkflow, now).WithStatus(string(StatusPending))
	_, err := s.Repo.SetRewardStatus(ctx, rw, from, StatusPending, ReasonAwaitingApproval, ev, now)
	return err
}

// Approve clears a reward that needs a person's approval, for referral r
// under program p. Still in its holding period, it becomes approved and
// the workflow pays it when the hold ends; after it, Approve pays it now,
// checking in the same transaction that the deal is still open. A paid
// reward is returned as it is (a repeat changes nothing). A reward that
// did not fit a spending limit is paid as an override (recorded on the
// paid event, counted on the limit's counters). Once the deal is lost only
// a reward KeptOnLoss is paid. ErrNotPayable, ErrApprovalNotRequired,
// ErrDealLost: nothing changed.
func (s *Service) Approve(ctx context.Context, r *referral.Referral, p *program.Program, rw Reward, actor string) error {
	now := s.Now().UTC()
	switch {
	case rw.Status == StatusPaid:
		return nil
	case !rw.Status.Payable():
		return fmt.Errorf("%w: it is %s: %s", ErrNotPayable, rw.Status, rw.StatusReason)
	case !rw.NeedsApproval:
		return ErrApprovalNotRequired
	}
	check := DealOpen
	if r.LostAt != nil {
		if !KeptOnLoss(r, p, rw) {
			return fmt.Errorf("%w (%s): reward %s is not paid", ErrDealLost, r.LostReason, rw.ID)
		}
		check = DealAny
	}
	if now.Before(rw.HoldUntil) {
		ev := Event(events.RewardApproved, rw, actor, now).WithStatus(string(StatusApproved)).With("paid_later", "true")
		_, err := s.Repo.SetRewardStatus(ctx, rw, []Status{StatusPending, StatusOnHold}, StatusApproved, "approved by an admin", ev, now)
		return err
	}
	_, err := s.pay(ctx, rw, p, check, actor, now)
	var lost *LostError
	if errors.As(err, &lost) && KeptOnLoss(withLoss(r, lost), p, rw) {
		// Lost since r was read, but after this reward was earned.
		_, err = s.pay(ctx, rw, p, DealAny, actor, now)
	}
	return err
}

// ReasonDeclined starts the status reason of a reward a person declined
// (the person's own words follow it on the reward, never in its event).
const ReasonDeclined = "declined"

// Decline voids a reward that waits for a person's approval, giving its
// budget and cap reservations back. The reason is kept on the reward only.
// A reward declined already is left as it is (a repeat changes nothing).
// ErrNotPayable: it was paid, failed or voided otherwise;
// ErrApprovalNotRequired: the workflow pays it by itself.
func (s *Service) Decline(ctx context.Context, rw Reward, reason, actor string) error {
	now := s.Now().UTC()
	switch {
	case rw.Status == StatusVoided && strings.HasPrefix(rw.StatusReason, ReasonDeclined):
		return nil
	case !rw.Status.Payable():
		return fmt.Errorf("%w: it is %s: %s", ErrNotPayable, rw.Status, rw.StatusReason)
	case !rw.NeedsApproval:
		return ErrApprovalNotRequired
	}
	ev := Event(events.RewardVoided, rw, actor, now).WithStatus(string(StatusVoided)).With("reason", ReasonDeclined)
	_, err := s.Repo.SetRewardStatus(ctx, rw, []Status{StatusPending, StatusOnHold, StatusApproved}, StatusVoided, ReasonDeclined+": "+reason, ev, now)
	return err
}

// Event is the event of type t about reward rw: its ids, milestone, party,
// kind and amount (never personal data).
func Event(t events.Type, rw Reward, actor string, at time.Time) events.Event {
	ev := events.New(t, rw.ReferralID, actor, at)
	ev.ProgramID, ev.RewardID, ev.Status = rw.ProgramID, rw.ID, string(rw.Status)
	return ev.With("milestone", rw.Milestone).With("party", rw.Party).With("kind", rw.Kind).
		With("amount_minor", strconv.FormatInt(rw.AmountMinor, 10)).With("currency", rw.Currency)
}
