package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// Store is what the runner reads.
type Store interface {
	DueRewards(ctx context.Context, before time.Time, limit int) ([]rewards.Due, error)
	Reward(ctx context.Context, referralID, milestone, party string) (*rewards.Reward, error)
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
	// Unfile drops the filing of a reward found settled by another path.
	Unfile(ctx context.Context, r rewards.Reward) error
}

// Payer pays one reward exactly once and files it again (rewards.Service).
type Payer interface {
	PayOne(ctx context.Context, r *referral.Referral, p *program.Program, rw rewards.Reward, actor string) (rewards.Reward, error)
	ReverseAtRail(ctx context.Context, rw rewards.Reward, actor string) error
	Schedule(ctx context.Context, rw rewards.Reward, due time.Time) error
}

// Handler is the payouts runner, run by a schedule: it pays the rewards
// filed for it whose time has come (rewards.Due) — rewards waiting for
// their program's payout day, for their party's payout method, for the
// end of a subscription invoice's refund window, re-armed by an operator,
// or left sending by an attempt whose outcome is unknown — each exactly
// once through its rail (rewards.Service.PayOne). On a payout day, the
// rewards of a party that add up to less than the program's minimum (per
// currency) wait for the next one.
type Handler struct {
	Store   Store
	Rewards Payer
	Now     func() time.Time
	Log     *slog.Logger
	Metrics *metrics.Emitter // nil discards
	// Batch bounds how many filed rewards a run looks at (0: DefaultBatch).
	Batch int
}

// DefaultBatch is how many filed rewards a run looks at by default.
const DefaultBatch = 200

// Actor is the actor of the events the runner's payments write.
const Actor = "payouts"

// Result counts what a run did.
type Result struct {
	Due      int `json:"due"`
	Paid     int `json:"paid"`
	Waiting  int `json:"waiting"`  // still waiting: payout method, minimum, unknown outcome
	Failed   int `json:"failed"`   // refused by the rail: a person re-arms or voids
	Settled  int `json:"settled"`  // found paid or voided by another path
	Deferred int `json:"deferred"` // under the minimum: filed for the next payout day
	Reversed int `json:"reversed"` // reversals taken back at their rail (or found nothing to do)
	Errors   int `json:"errors"`
}

// item is one filed reward with what paying it needs.
type item struct {
	rw  rewards.Reward
	ref *referral.Referral
	p   *program.Program
}

// Handle runs once.
func (h *Handler) Handle(ctx context.Context) (Result, error) {
	now := h.Now().UTC()
	batch := h.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	dues, err := h.Store.DueRewards(ctx, now, batch)
	if err != nil {
		return Result{}, err
	}
	out := Result{Due: len(dues)}
	var items []item
	for _, d := range dues {
		if d.Action == rewards.ActionReverse {
			h.reverse(ctx, d, &out)
			continue
		}
		it, ok := h.load(ctx, d, &out)
		if ok {
			items = append(items, it)
		}
	}
	deferred := underMinimum(items)
	for _, it := range items {
		if !deferred[it.rw.ID] {
			h.pay(ctx, it, &out)
			continue
		}
		if err := h.Rewards.Schedule(ctx, it.rw, rewards.NextPayoutDay(it.p.Payout.Schedule, now)); err != nil {
			h.fail(ctx, it.rw, "defer", err, &out)
			continue
		}
		out.Deferred++
	}
	logging.From(ctx, h.Log).Info("payouts run", "due", out.Due, "paid", out.Paid, "waiting", out.Waiting,
		"failed", out.Failed, "deferred", out.Deferred, "reversed", out.Reversed, "errors", out.Errors)
	if out.Errors > 0 {
		// The run's error is what the errors alarm watches; everything
		// not settled stays filed for the next run.
		return out, fmt.Errorf("payouts: %d filed rewards not settled (see the log)", out.Errors)
	}
	return out, nil
}

// load reads a filed reward with its referral and program; a reward found
// settled is unfiled (false).
func (h *Handler) load(ctx context.Context, d rewards.Due, out *Result) (item, bool) {
	rw, err := h.Store.Reward(ctx, d.ReferralID, d.Milestone, d.Party)
	if errors.Is(err, referral.ErrNotFound) {
		// Erased or never written: nothing to pay.
		rw = &rewards.Reward{ID: d.RewardID, ReferralID: d.ReferralID, Milestone: d.Milestone, Party: d.Party, Status: rewards.StatusVoided}
	} else if err != nil {
		h.fail(ctx, rewards.Reward{ID: d.RewardID}, "read", err, out)
		return item{}, false
	}
	if !rw.Status.Payable() && rw.Status != rewards.StatusSending {
		if err := h.Store.Unfile(ctx, *rw); err != nil {
			h.fail(ctx, *rw, "unfile", err, out)
			return item{}, false
		}
		out.Settled++
		return item{}, false
	}
	ref, err := h.Store.Referral(ctx, rw.ReferralID)
	if err != nil {
		h.fail(ctx, *rw, "read referral", err, out)
		return item{}, false
	}
	p, err := h.Store.ProgramVersion(ctx, ref.ProgramID, ref.ProgramVersion)
	if err != nil {
		h.fail(ctx, *rw, "read program", err, out)
		return item{}, false
	}
	return item{rw: *rw, ref: ref, p: p}, true
}

// underMinimum are the rewards parked for their payout day whose party is
// owed, in their currency and among this run's rewards, less than its
// program's minimum.
func underMinimum(items []item) map[string]bool {
	type group struct{ program, party, payee, currency string }
	sums, members := map[group]int64{}, map[group][]string{}
	for _, it := range items {
		if it.p.Payout.MinimumMinor <= 0 || !rewards.ParkedForPayoutDay(it.rw) {
			continue
		}
		payee := it.rw.ReferrerCode
		if it.rw.Party != program.PartyReferrer {
			payee = it.rw.ReferralID
		}
		g := group{it.rw.ProgramID, it.rw.Party, payee, it.rw.Currency}
		sums[g] += it.rw.AmountMinor
		members[g] = append(members[g], it.rw.ID)
	}
	out := map[string]bool{}
	for g, sum := range sums {
		if p := minimumOf(items, g.program); sum < p {
			for _, id := range members[g] {
				out[id] = true
			}
		}
	}
	return out
}

func minimumOf(items []item, programID string) int64 {
	for _, it := range items {
		if it.rw.ProgramID == programID {
			return it.p.Payout.MinimumMinor
		}
	}
	return 0
}

// pay pays one filed reward and counts how it now stands.
func (h *Handler) pay(ctx context.Context, it item, out *Result) {
	after, err := h.Rewards.PayOne(ctx, it.ref, it.p, it.rw, Actor)
	switch {
	case errors.Is(err, rewards.ErrDealLost), errors.Is(err, rewards.ErrNotPayable):
		out.Settled++
		return
	case err != nil:
		// An unknown outcome stays sending and filed: the next run looks
		// it up before anything is sent again.
		h.fail(ctx, it.rw, "pay", err, out)
		return
	}
	switch after.Status {
	case rewards.StatusPaid:
		out.Paid++
		h.Metrics.Count("RewardsPaid", 1, "program", after.ProgramID, "party", after.Party, "currency", after.Currency)
	case rewards.StatusFailed:
		out.Failed++
		h.Metrics.Count("PayoutsFailed", 1, "program", after.ProgramID, "rail", after.Rail)
	default:
		out.Waiting++
	}
}

// fail logs a reward the run could not settle (ids only) and counts it.
func (h *Handler) fail(ctx context.Context, rw rewards.Reward, step string, err error, out *Result) {
	out.Errors++
	logging.From(ctx, h.Log).Error("payout not settled", "reward_id", rw.ID, "referral_id", rw.ReferralID, "step", step, "error", err)
}

// reverse takes a reversed reward's payment back at its rail.
func (h *Handler) reverse(ctx context.Context, d rewards.Due, out *Result) {
	rw, err := h.Store.Reward(ctx, d.ReferralID, d.Milestone, d.Party)
	if errors.Is(err, referral.ErrNotFound) {
		rw, err = &rewards.Reward{ID: d.RewardID, ReferralID: d.ReferralID, Milestone: d.Milestone, Party: d.Party}, nil
	}
	if err == nil {
		err = h.Rewards.ReverseAtRail(ctx, *rw, Actor)
	}
	if err != nil {
		h.fail(ctx, rewards.Reward{ID: d.RewardID, ReferralID: d.ReferralID}, "reverse", err, out)
		return
	}
	out.Reversed++
}
