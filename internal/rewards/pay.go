package rewards

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// Paying a reward exactly once, whatever the rail.
//
// The ledger and manual rails move no money: the reward is marked paid with
// its payable ledger entry in one transaction, under the deal check.
//
// A rail that moves money (Stripe, PayPal, Tremendous) is never called
// before the reward is claimed: one conditional write, under the same
// deal check, moves it from payable to sending and records the rail and
// the idempotency key of its generation. Only the call that claimed it
// sends at once; any later attempt (a retried step, a crash after the call,
// a second executor, the payouts runner) finds the reward sending and
// first asks the rail for a payment under that key (Rail.Find): found, it
// is recorded paid; reversed, the reward fails (a reversed payment is never
// recorded as paid); not found, it is sent again with the same key, which
// the rail's idempotency turns into the first call's result if that call
// did land meanwhile. A lookup that cannot answer leaves the reward
// sending and the error to the caller: nothing is sent until it can.
//
// A definite refusal marks the reward failed with the rail's reason, kept
// for an operator (Rearm with a new generation, or void); nothing retries
// it by itself. A party without a payout method the rail can pay to
// leaves the reward on hold, ReasonNoPayoutMethod, filed for the payouts
// runner, which pays it once the method is recorded.

// Due is a reward filed for the payouts runner (Schedule): paid at or
// after At.
type Due struct {
	// Action is what the runner does: "" pays the reward, ActionReverse
	// takes its payment back at its rail (after the ledger's reversal).
	Action     string
	RewardID   string
	ReferralID string
	ProgramID  string
	Milestone  string
	Party      string
	At         time.Time
}

// ActionReverse files a reversed reward for the reversal at its rail.
const ActionReverse = "reverse"

// MovesMoney reports whether rail moves money itself (a Rail), as opposed
// to the ledger and manual rails.
func MovesMoney(rail string) bool { return moneyRail(rail) }

// railOf is the rail that pays rw under p: the one it was claimed for,
// else the program's rail for its kind.
func railOf(rw Reward, p *program.Program) string {
	if rw.Rail != "" && rw.Status == StatusSending {
		return rw.Rail
	}
	return p.RailFor(rw.Kind)
}

// moneyRail reports whether rail moves money itself (a Rail).
func moneyRail(rail string) bool { return rail != RailLedger && rail != RailManual && rail != "" }

// pay pays rw through its rail, exactly once (see the top of this file),
// under check, and reports whether this call recorded it paid. A reward
// that did not fit a limit is counted, as it is paid, on the counters it
// did not fit (an override; see overrides).
func (s *Service) pay(ctx context.Context, rw Reward, p *program.Program, check DealCheck, actor string, now time.Time) (bool, error) {
	if rw.Limited != "" && len(rw.Reserved) == 0 {
		rw.Reserved = overrides(p, rw, now)
	}
	rail := railOf(rw, p)
	if rw.Status != StatusSending {
		if waiting, err := s.waitForPayee(ctx, rw, rail, actor, now); waiting || err != nil {
			return false, err
		}
	}
	if !moneyRail(rail) {
		return s.record(ctx, rw, Transfer{Method: rail}, check, actor, now)
	}
	rails, err := s.rails(ctx)
	if err != nil {
		return false, err
	}
	r, ok := rails[rail]
	if !ok {
		return false, fmt.Errorf("rewards: pay %s: the %s rail is not configured", rw.ID, rail)
	}
	if rw.Status != StatusSending {
		claimed, err := s.claim(ctx, &rw, rail, check, now)
		if !claimed || err != nil {
			return false, err
		}
		return s.send(ctx, r, rw, actor, now)
	}
	return s.resolve(ctx, r, rw, actor, now)
}

// waitForPayee parks rw on hold (ReasonNoPayoutMethod) when its party has
// no payout method rail can pay to, filing it for the payouts runner.
func (s *Service) waitForPayee(ctx context.Context, rw Reward, rail, actor string, now time.Time) (bool, error) {
	if s.Payees == nil {
		return false, nil
	}
	err := s.Payees.Ready(ctx, rail, rw)
	if !errors.Is(err, ErrNoPayoutMethod) {
		return false, err
	}
	if rw.Status == StatusOnHold && rw.StatusReason == ReasonNoPayoutMethod {
		return true, nil
	}
	ev := Event(events.RewardWaiting, rw, actor, now).WithStatus(string(StatusOnHold)).With("reason", ReasonNoPayoutMethod).With("rail", rail)
	_, err = s.Repo.ParkReward(ctx, rw, []Status{StatusPending, StatusOnHold, StatusApproved, StatusSending}, StatusOnHold,
		ReasonNoPayoutMethod, now.Add(PayeeRetry), ev, now)
	return true, err
}

// reasonWaitsFor starts the status reason of a reward parked for its
// program's payout day.
const reasonWaitsFor = "waits for the "

// SendingGrace is how long a claimed reward is left to whoever claimed it
// before the payouts runner resolves it (by lookup) itself.
const SendingGrace = 10 * time.Minute

// PayeeRetry is how long the payouts runner waits before it looks again
// at a reward waiting for its party's payout method.
const PayeeRetry = time.Hour

// claim moves rw from payable to sending for rail, with its generation's
// idempotency key, under check; false when another call moved it first.
func (s *Service) claim(ctx context.Context, rw *Reward, rail string, check DealCheck, now time.Time) (bool, error) {
	rw.Rail, rw.IdempotencyKey = rail, KeyFor(rw.ID, rw.Generation)
	if rw.StatusReason == ReasonNoPayoutMethod || strings.HasPrefix(rw.StatusReason, reasonWaitsFor) {
		rw.StatusReason = "" // it waits no more
	}
	ok, err := s.Repo.ClaimReward(ctx, *rw, now, check)
	if err != nil {
		return false, fmt.Errorf("rewards: claim %s: %w", rw.ID, err)
	}
	if ok {
		rw.Status = StatusSending
	}
	return ok, nil
}

// resolve settles a reward left sending by an earlier attempt: it asks the
// rail first and sends again (same key) only when the rail has no payment.
func (s *Service) resolve(ctx context.Context, r Rail, rw Reward, actor string, now time.Time) (bool, error) {
	t, found, err := r.Find(ctx, rw)
	switch {
	case errors.Is(err, ErrReversed):
		return false, s.fail(ctx, rw, "the payment was reversed at the rail", actor, now)
	case err != nil:
		return false, fmt.Errorf("rewards: look up %s at %s: %w", rw.ID, rw.Rail, err)
	case found:
		return s.record(ctx, rw, t, DealAny, actor, now)
	}
	return s.send(ctx, r, rw, actor, now)
}

// send calls the rail with the claimed reward and records what it says.
func (s *Service) send(ctx context.Context, r Rail, rw Reward, actor string, now time.Time) (bool, error) {
	t, err := r.Send(ctx, rw)
	switch {
	case err == nil:
		return s.record(ctx, rw, t, DealAny, actor, now)
	case errors.Is(err, ErrRefused):
		return false, s.fail(ctx, rw, err.Error(), actor, now)
	case errors.Is(err, ErrNoPayoutMethod):
		// The payee went between the check and the call: nothing was sent.
		_, werr := s.waitForPayee(ctx, rw, rw.Rail, actor, now)
		return false, werr
	default:
		return false, fmt.Errorf("rewards: pay %s through %s: %w", rw.ID, rw.Rail, err)
	}
}

// record marks rw paid with its payable ledger entry carrying the rail's
// method and reference.
func (s *Service) record(ctx context.Context, rw Reward, t Transfer, check DealCheck, actor string, now time.Time) (bool, error) {
	e := PayableEntry(rw, now)
	if t.Method == "" {
		t.Method = RailLedger
	}
	e.Method, e.Reference = t.Method, t.Reference
	rw.Rail, rw.Reference = t.Method, t.Reference
	ev := Event(events.RewardPaid, rw, actor, now).WithStatus(string(StatusPaid)).With("method", t.Method).With("reference", t.Reference)
	// A reward that did not fit a limit is paid only by a person's
	// approval: an override, recorded with the limit it did not fit.
	ev = ev.With("override", rw.Limited)
	return s.Repo.PayReward(ctx, rw, e, ev, now, check)
}

// fail marks a sending reward failed with the rail's reason, for a person.
func (s *Service) fail(ctx context.Context, rw Reward, reason, actor string, now time.Time) error {
	ev := Event(events.RewardFailed, rw, actor, now).WithStatus(string(StatusFailed)).With("rail", rw.Rail)
	_, err := s.Repo.FailReward(ctx, rw, reason, ev, now)
	return err
}

// PayOne pays reward rw of referral r under program p now, exactly once,
// through its rail (the payouts runner, an operator's retry), whatever
// the program's payout schedule: a payable reward is claimed and sent, a
// sending one resolved. It returns the reward as it now stands.
// ErrNotPayable: it is paid, failed or voided. ErrDealLost: the deal was
// lost and the reward is not KeptOnLoss (it is voided).
func (s *Service) PayOne(ctx context.Context, r *referral.Referral, p *program.Program, rw Reward, actor string) (Reward, error) {
	now := s.Now().UTC()
	if !rw.Status.Payable() && rw.Status != StatusSending {
		return rw, fmt.Errorf("%w: it is %s", ErrNotPayable, rw.Status)
	}
	if r.LostAt != nil && rw.Status == StatusSending {
		return s.settleLost(ctx, r, p, rw, actor, now)
	}
	check := DealOpen
	if r.LostAt != nil {
		if !KeptOnLoss(r, p, rw) {
			_, err := s.void(ctx, []Reward{rw}, "deal "+r.LostReason, actor, now)
			return rw, errors.Join(fmt.Errorf("%w (%s): reward %s is not paid", ErrDealLost, r.LostReason, rw.ID), err)
		}
		check = DealAny
	}
	_, err := s.pay(ctx, rw, p, check, actor, now)
	var lost *LostError
	if errors.As(err, &lost) && KeptOnLoss(withLoss(r, lost), p, rw) {
		_, err = s.pay(ctx, rw, p, DealAny, actor, now)
	}
	if err != nil {
		return rw, err
	}
	return s.reread(ctx, rw)
}

// settleLost settles rw, claimed before its deal was lost and left
// sending (its payment's outcome unknown), by what its rail holds: a
// payment is recorded (the claim came first), then the loss takes it back
// where it takes its milestone back (ApplyLoss: a refund, a loss after
// completion); no payment is a reward its milestone had not paid when the
// deal was lost: voided, and nothing is sent (ErrDealLost).
func (s *Service) settleLost(ctx context.Context, r *referral.Referral, p *program.Program, rw Reward, actor string, now time.Time) (Reward, error) {
	rails, err := s.rails(ctx)
	if err != nil {
		return rw, err
	}
	rail, ok := rails[rw.Rail]
	if !ok {
		return rw, fmt.Errorf("rewards: settle %s: the %s rail is not configured", rw.ID, rw.Rail)
	}
	t, found, err := rail.Find(ctx, rw)
	switch {
	case err != nil && !errors.Is(err, ErrReversed):
		return rw, fmt.Errorf("rewards: look up %s at %s: %w", rw.ID, rw.Rail, err)
	case !found || errors.Is(err, ErrReversed): // nothing paid, or all given back
		reason := "deal " + r.LostReason
		ev := Event(events.RewardVoided, rw, actor, now).WithStatus(string(StatusVoided)).With("reason", reason)
		_, err := s.Repo.SetRewardStatus(ctx, rw, []Status{StatusSending}, StatusVoided, reason, ev, now)
		return rw, errors.Join(fmt.Errorf("%w (%s): reward %s is not paid", ErrDealLost, r.LostReason, rw.ID), err)
	}
	if _, err := s.record(ctx, rw, t, DealAny, actor, now); err != nil {
		return rw, err
	}
	if _, err := s.ApplyLoss(ctx, r, p, actor); err != nil {
		return rw, err
	}
	return s.reread(ctx, rw)
}

// reread is rw as stored now.
func (s *Service) reread(ctx context.Context, rw Reward) (Reward, error) {
	rws, err := s.Repo.MilestoneRewards(ctx, rw.ReferralID, rw.Milestone)
	if err != nil {
		return rw, err
	}
	for _, cur := range rws {
		if cur.ID == rw.ID {
			return cur, nil
		}
	}
	return rw, fmt.Errorf("rewards: reward %s: %w", rw.ID, referral.ErrNotFound)
}

// scheduled parks rw, whose hold is over, for the program's next payout
// day when p pays on a schedule; false when p pays at once.
func (s *Service) scheduled(ctx context.Context, rw Reward, p *program.Program, actor string, now time.Time) (bool, error) {
	if p.Payout.Schedule == "" || p.Payout.Schedule == program.ScheduleAtOnce || rw.Status == StatusSending {
		return false, nil
	}
	due := NextPayoutDay(p.Payout.Schedule, now)
	reason := reasonWaitsFor + p.Payout.Schedule + " payout on " + due.Format("2006-01-02")
	if rw.Status == StatusApproved && rw.StatusReason == reason {
		return true, nil
	}
	ev := Event(events.RewardWaiting, rw, actor, now).WithStatus(string(StatusApproved)).With("reason", "scheduled").With("due", due.Format(time.RFC3339))
	_, err := s.Repo.ParkReward(ctx, rw, []Status{StatusPending, StatusOnHold, StatusApproved}, StatusApproved, reason, due, ev, now)
	return true, err
}

// NextPayoutDay is the first payout day of schedule strictly after now:
// the next Monday (weekly) or 1st of a month (monthly), 00:00 UTC.
func NextPayoutDay(schedule string, now time.Time) time.Time {
	d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if schedule == program.ScheduleMonthly {
		return time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	}
	days := (8 - int(d.Weekday())) % 7
	if days == 0 {
		days = 7
	}
	return d.AddDate(0, 0, days)
}

// Schedule files rw for the payouts runner, to be paid at or after due.
func (s *Service) Schedule(ctx context.Context, rw Reward, due time.Time) error {
	return s.Repo.ScheduleReward(ctx, rw, due.UTC())
}

// Rearm lets an operator retry a failed reward with a new generation (so a
// new idempotency key: the rail replays a refusal for its old key). It is
// refused while the rail has, or may have, a payment under the old key:
// one found is recorded paid instead.
func (s *Service) Rearm(ctx context.Context, rw Reward, actor string) (Reward, error) {
	now := s.Now().UTC()
	if rw.Status != StatusFailed {
		return rw, fmt.Errorf("%w: only a failed reward is re-armed; it is %s", ErrNotPayable, rw.Status)
	}
	rails, err := s.rails(ctx)
	if err != nil {
		return rw, err
	}
	if r, ok := rails[rw.Rail]; ok && moneyRail(rw.Rail) {
		t, found, err := r.Find(ctx, rw)
		switch {
		case errors.Is(err, ErrReversed):
			return rw, fmt.Errorf("rewards: re-arm %s: the rail reversed its payment; settle it there first: %w", rw.ID, ErrNotPayable)
		case err != nil:
			return rw, fmt.Errorf("rewards: re-arm %s: cannot rule a payment out: %w", rw.ID, err)
		case found:
			ok, err := s.record(ctx, rw, t, DealAny, actor, now)
			if err == nil && !ok {
				err = fmt.Errorf("%w: it changed meanwhile", ErrNotPayable)
			}
			if err != nil {
				return rw, err
			}
			return s.reread(ctx, rw)
		}
	}
	next := rw
	next.Generation++
	next.IdempotencyKey = KeyFor(rw.ID, next.Generation)
	ev := Event(events.RewardRearmed, next, actor, now).WithStatus(string(StatusApproved)).With("generation", strconv.Itoa(next.Generation))
	ok, err := s.Repo.RearmReward(ctx, next, ev, now)
	if err == nil && !ok {
		err = fmt.Errorf("%w: it changed meanwhile", ErrNotPayable)
	}
	next.Status, next.StatusReason, next.Rail = StatusApproved, "re-armed", ""
	return next, err
}

// ParkedForPayoutDay reports whether rw waits for its program's payout day.
func ParkedForPayoutDay(rw Reward) bool {
	return rw.Status == StatusApproved && strings.HasPrefix(rw.StatusReason, reasonWaitsFor)
}

// Void gives up a reward a person will not pay: a failed one (its rail
// refused it) or one still payable, giving its budget and cap back, with
// the person's reason (kept on the reward, not in its event). A sending
// reward is refused (a payment may exist: resolve it first), a paid one
// too (reverse it). A repeat changes nothing.
func (s *Service) Void(ctx context.Context, rw Reward, reason, actor string) error {
	now := s.Now().UTC()
	switch {
	case rw.Status == StatusVoided:
		return nil
	case rw.Status != StatusFailed && !rw.Status.Payable():
		return fmt.Errorf("%w: it is %s", ErrNotPayable, rw.Status)
	}
	ev := Event(events.RewardVoided, rw, actor, now).WithStatus(string(StatusVoided)).With("reason", "voided by a person")
	ok, err := s.Repo.SetRewardStatus(ctx, rw, []Status{StatusFailed, StatusPending, StatusOnHold, StatusApproved}, StatusVoided, "voided: "+reason, ev, now)
	if err == nil && !ok {
		return fmt.Errorf("%w: it changed meanwhile", ErrNotPayable)
	}
	return err
}

// ReverseAtRail takes the payment of reversed reward rw back at its rail
// (filed by the ledger's reversal), once: a rail that cannot reverse
// (Reverser) has nothing to do; a refusal is filed for a person (the
// ledger's reversal stands: finance recovers the money); an unknown
// outcome stays filed for the next run (the reversal's key makes the
// repeat safe).
func (s *Service) ReverseAtRail(ctx context.Context, rw Reward, actor string) error {
	now := s.Now().UTC()
	rails, err := s.rails(ctx)
	if err != nil {
		return err
	}
	rv, ok := rails[rw.Rail].(Reverser)
	if !ok || rw.Status != StatusPaid || rw.ReversedAt == nil {
		_, err := s.Repo.SettleReversal(ctx, rw, nil, false)
		return err
	}
	ref, err := rv.Reverse(ctx, rw)
	switch {
	case err == nil:
		ev := Event(events.RewardRailReversal, rw, actor, now).With("rail", rw.Rail).With("reference", ref).With("outcome", "reversed")
		_, err := s.Repo.SettleReversal(ctx, rw, &ev, false)
		return err
	case errors.Is(err, ErrRefused):
		ev := Event(events.RewardRailReversal, rw, actor, now).With("rail", rw.Rail).With("outcome", "refused")
		_, err := s.Repo.SettleReversal(ctx, rw, &ev, true)
		return err
	}
	return fmt.Errorf("rewards: reverse %s at %s: %w", rw.ID, rw.Rail, err)
}

// ReversalRecovered records that a person recovered, outside Referflow, a
// payment its rail refused to take back (a refused reversal), ending its
// listing. ErrNotPayable: the reward has no refused reversal waiting.
func (s *Service) ReversalRecovered(ctx context.Context, rw Reward, actor string) error {
	ev := Event(events.RewardRailReversal, rw, actor, s.Now().UTC()).With("rail", rw.Rail).With("outcome", "recovered")
	ok, err := s.Repo.SettleReversal(ctx, rw, &ev, false)
	if err == nil && !ok {
		err = fmt.Errorf("%w: no refused reversal of this reward waits for a person", ErrNotPayable)
	}
	return err
}

// rails are the rails that move money: Load's when set, else Rails.
func (s *Service) rails(ctx context.Context) (map[string]Rail, error) {
	if s.Load == nil {
		return s.Rails, nil
	}
	rs, err := s.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("rewards: the payout rails: %w", err)
	}
	return rs, nil
}
