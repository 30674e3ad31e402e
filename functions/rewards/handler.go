package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/referflow/referflow/internal/ledger"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/reward"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

// Store is what the reward steps read and write.
type Store interface {
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
	CreateRewardsReserved(ctx context.Context, referralID, milestone string, rewards []ledger.Reward, reservations []store.Reservation, describe func(ledger.Reward) store.Activity) ([]ledger.Reward, error)
	RankReferral(ctx context.Context, referralID, programID, code, period string, now time.Time) (int, error)
	MilestoneRewards(ctx context.Context, referralID, milestone string) ([]ledger.Reward, error)
	SetRewardStatus(ctx context.Context, r ledger.Reward, from []ledger.Status, to ledger.Status, reason string, now time.Time) (bool, error)
	PayToLedger(ctx context.Context, r ledger.Reward, e ledger.Entry, act store.Activity, now time.Time) (bool, error)
	AddActivity(ctx context.Context, referralID string, acts ...store.Activity) error
}

// Handler runs "Put rewards on hold" (step hold: compute and record the
// milestone's rewards) and "Pay rewards" (step pay: after the holding
// period, pay them to the ledger exactly once, or void them when the deal
// was lost meanwhile).
type Handler struct {
	Store   Store
	Now     func() time.Time
	Log     *slog.Logger
	Metrics *metrics.Emitter // nil discards
}

// Handle runs one step; repeating it changes nothing.
func (h *Handler) Handle(ctx context.Context, in workflow.RewardsInput) (workflow.RewardsOutput, error) {
	out := workflow.RewardsOutput{ReferralID: in.ReferralID, Milestone: in.Milestone, RewardIDs: []string{}}
	r, err := h.Store.Referral(ctx, in.ReferralID)
	if err != nil {
		return out, err
	}
	switch in.Step {
	case "hold":
		return h.hold(ctx, r, in.Milestone, out)
	case "pay":
		return h.pay(ctx, r, in.Milestone, out)
	}
	return out, fmt.Errorf("rewards: unknown step %q", in.Step)
}

func (h *Handler) hold(ctx context.Context, r *referral.Referral, milestone string, out workflow.RewardsOutput) (workflow.RewardsOutput, error) {
	log := logging.From(ctx, h.Log).With("referral_id", r.ID, "milestone", milestone, "step", "hold")
	if r.LostAt != nil {
		return out, workflow.Fail(workflow.ErrLost, "the deal was "+r.LostReason+" before rewards were computed")
	}
	p, err := h.Store.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion)
	if err != nil {
		return out, err
	}
	idx := p.MilestoneIndex(milestone)
	if idx < 0 {
		return out, fmt.Errorf("rewards: milestone %q is not in program %s v%d", milestone, p.ID, p.Version)
	}
	now := h.Now().UTC()
	in := reward.Input{}
	if r.DealAmountMinor > 0 {
		in.Deal = &reward.Money{Minor: r.DealAmountMinor, Currency: r.DealCurrency}
	}
	if in.Rank, err = h.rank(ctx, r, p, idx, now); err != nil {
		return out, err
	}
	hold := time.Duration(p.Milestones[idx].HoldSeconds) * time.Second
	var rewards []ledger.Reward
	var reservations []store.Reservation
	for _, l := range reward.Compute(p, idx, in) {
		if l.AmountMinor <= 0 {
			continue
		}
		rw := ledger.Reward{
			ID: ledger.RewardID(r.ID, milestone, l.Party), ReferralID: r.ID, ProgramID: r.ProgramID,
			Milestone: milestone, Party: l.Party, ReferrerCode: r.ReferrerCode, Kind: l.Kind,
			AmountMinor: l.AmountMinor, Currency: l.Currency, Description: l.Description,
			Status: ledger.StatusPending, HoldUntil: now.Add(hold), CreatedAt: now, UpdatedAt: now,
			NeedsApproval: l.NeedsApproval,
		}
		rw.IdempotencyKey = ledger.IdempotencyKey(rw.ID)
		if hold > 0 {
			rw.Status = ledger.StatusOnHold
		}
		rewards = append(rewards, rw)
		reservations = append(reservations, limits(p, rw, now)...)
	}
	describe := func(rw ledger.Reward) store.Activity {
		detail := fmt.Sprintf("Reward %s for the %s: %s %s %s (%s)", rw.ID, rw.Party, ledger.FormatMinor(rw.AmountMinor, rw.Currency), rw.Currency, rw.Kind, rw.Status)
		if rw.StatusReason != "" {
			detail += ": " + rw.StatusReason + ", a person approves it through the admin API"
		}
		if in.Rank > 0 && rw.Party == program.PartyReferrer {
			detail += fmt.Sprintf("; referrer rank %d in the tier period", in.Rank)
		}
		return store.Activity{At: now, Type: "reward", Actor: "workflow", Detail: detail,
			Data: map[string]string{"reward_id": rw.ID, "status": string(rw.Status), "milestone": milestone, "reason": rw.StatusReason}}
	}
	stored, err := h.Store.CreateRewardsReserved(ctx, r.ID, milestone, rewards, reservations, describe)
	if err != nil {
		return out, err
	}
	for _, rw := range stored {
		out.RewardIDs = append(out.RewardIDs, rw.ID)
		if rw.Status == ledger.StatusOnHold {
			out.Held++
		}
		// The hold left, from when the rewards were first held: a repeated
		// step (a retry, a continued execution) never restarts it.
		if left := int64(math.Ceil(rw.HoldUntil.Sub(now).Seconds())); rw.Status.Payable() && left > out.HoldSecondsLeft {
			out.HoldSecondsLeft = left
		}
	}
	log.Info("rewards recorded", "rewards", len(stored), "on_hold", out.Held, "hold_seconds", int64(hold.Seconds()))
	return out, nil
}

func (h *Handler) pay(ctx context.Context, r *referral.Referral, milestone string, out workflow.RewardsOutput) (workflow.RewardsOutput, error) {
	log := logging.From(ctx, h.Log).With("referral_id", r.ID, "milestone", milestone, "step", "pay")
	now := h.Now().UTC()
	rewards, err := h.Store.MilestoneRewards(ctx, r.ID, milestone)
	if err != nil {
		return out, err
	}
	if r.LostAt != nil {
		// Lost, deleted or refunded during the hold: void what is unpaid.
		for _, rw := range rewards {
			if !rw.Status.Payable() {
				continue
			}
			changed, err := h.Store.SetRewardStatus(ctx, rw, []ledger.Status{ledger.StatusPending, ledger.StatusOnHold, ledger.StatusApproved}, ledger.StatusVoided, "deal "+r.LostReason+" during the holding period", now)
			if err != nil {
				return out, err
			}
			if changed {
				out.Voided++
				if err := h.Store.AddActivity(ctx, r.ID, store.Activity{At: now, Type: "reward", Actor: "workflow",
					Detail: "Reward " + rw.ID + " voided: the deal was " + r.LostReason + " during the holding period",
					Data:   map[string]string{"reward_id": rw.ID, "status": string(ledger.StatusVoided)}}); err != nil {
					return out, err
				}
			}
		}
		log.Info("rewards voided; deal lost during hold", "voided", out.Voided)
		return out, workflow.Fail(workflow.ErrLost, "the deal was "+r.LostReason+" during the holding period")
	}
	for _, rw := range rewards {
		out.RewardIDs = append(out.RewardIDs, rw.ID)
		if !rw.Status.Payable() {
			continue
		}
		if rw.NeedsApproval && rw.Status != ledger.StatusApproved {
			// A person approves it through the admin API, which pays it then.
			if _, err := h.Store.SetRewardStatus(ctx, rw, []ledger.Status{ledger.StatusOnHold}, ledger.StatusPending, "awaiting approval", now); err != nil {
				return out, err
			}
			continue
		}
		paid, err := h.Store.PayToLedger(ctx, rw, ledger.PayableEntry(rw, now), store.Activity{At: now, Type: "reward", Actor: "workflow",
			Detail: fmt.Sprintf("Reward %s paid to the ledger: %s %s to the %s", rw.ID, ledger.FormatMinor(rw.AmountMinor, rw.Currency), rw.Currency, rw.Party),
			Data:   map[string]string{"reward_id": rw.ID, "status": string(ledger.StatusPaid)}}, now)
		if err != nil {
			return out, err
		}
		if paid {
			out.Paid++
			h.Metrics.Count("RewardsPaid", 1, "program", rw.ProgramID, "party", rw.Party, "currency", rw.Currency)
		}
	}
	log.Info("rewards paid", "paid", out.Paid)
	return out, nil
}

// Status reasons of a reward that did not fit a spending limit.
const (
	ReasonBudget     = "budget exhausted"
	ReasonCap        = "cap reached"
	ReasonNextPeriod = "waits for the next period"
)

// limits returns what reward rw reserves: its amount against the program
// budget of the caps period (every party) and, for the referrer, against
// the referrer's cap. A reward that does not fit is recorded as pending
// for a person (program caps.on_exhausted review: reason "budget exhausted"
// or "cap reached"; next_period: reason "waits for the next period").
func limits(p *program.Program, rw ledger.Reward, now time.Time) []store.Reservation {
	period := reward.PeriodKey(p.Caps.Period, now)
	if period == "" || rw.AmountMinor <= 0 {
		return nil
	}
	reason := func(r string) string {
		if p.Caps.OnExhausted == program.OnExhaustedNextPeriod {
			return ReasonNextPeriod
		}
		return r
	}
	var out []store.Reservation
	if p.Caps.BudgetMinor > 0 {
		out = append(out, store.Reservation{RewardID: rw.ID, Counter: store.BudgetCounter(period),
			LimitMinor: p.Caps.BudgetMinor, AmountMinor: rw.AmountMinor, Reason: reason(ReasonBudget)})
	}
	if p.Caps.PerReferrerMinor > 0 && rw.Party == program.PartyReferrer {
		out = append(out, store.Reservation{RewardID: rw.ID, Counter: store.ReferrerCapCounter(rw.ReferrerCode, period),
			LimitMinor: p.Caps.PerReferrerMinor, AmountMinor: rw.AmountMinor, Reason: reason(ReasonCap)})
	}
	return out
}

// rank returns the referrer's rank for the tiers: the count of their
// referrals that reached the tiers' counts_milestone in the tier period
// (the period containing the time this referral reached it), this one
// included. The referral is counted once, when the step runs for the
// counted milestone or a later one; milestones before it pay without a
// tier (rank 0).
func (h *Handler) rank(ctx context.Context, r *referral.Referral, p *program.Program, idx int, now time.Time) (int, error) {
	if len(p.Tiers) == 0 {
		return 0, nil
	}
	t := p.Tiers[0] // validation: every tier counts the same milestone in the same period
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
	return h.Store.RankReferral(ctx, r.ID, r.ProgramID, r.ReferrerCode, reward.PeriodKey(t.Period, at), now)
}
