package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/rewardstest"
)

var monday = time.Date(2026, 11, 23, 0, 10, 0, 0, time.UTC)

// world is the runner's store: rewards in memory, one program, referrals.
type world struct {
	*rewardstest.Repo
	p    *program.Program
	refs map[string]*referral.Referral
}

func (w *world) Referral(_ context.Context, id string) (*referral.Referral, error) {
	if r, ok := w.refs[id]; ok {
		return r, nil
	}
	return nil, referral.ErrNotFound
}

func (w *world) ProgramVersion(context.Context, string, int) (*program.Program, error) {
	return w.p, nil
}

// bank pays every key once and remembers it.
type bank struct{ paid map[string]int }

func (b *bank) Send(_ context.Context, r rewards.Reward) (rewards.Transfer, error) {
	b.paid[r.IdempotencyKey]++
	return rewards.Transfer{Method: "bank", Reference: "tr_" + r.ID}, nil
}

func (b *bank) Find(_ context.Context, r rewards.Reward) (rewards.Transfer, bool, error) {
	if b.paid[r.IdempotencyKey] == 0 {
		return rewards.Transfer{}, false, nil
	}
	return rewards.Transfer{Method: "bank", Reference: "tr_" + r.ID}, true, nil
}

// park files a reward of amount for partner code, parked for the payout day.
func (w *world) park(t *testing.T, svc *rewards.Service, n int, code string, amount int64) rewards.Reward {
	t.Helper()
	id := fmt.Sprintf("ref_%026d", n)
	w.refs[id] = &referral.Referral{ID: id, ProgramID: w.p.ID, ProgramVersion: 1, ReferrerCode: code, Status: referral.StatusInProgress,
		Milestones: map[string]time.Time{"won": monday.Add(-72 * time.Hour)}}
	rw := rewards.Reward{ID: rewards.RewardID(id, "won", program.PartyReferrer), ReferralID: id, ProgramID: w.p.ID, Milestone: "won",
		Party: program.PartyReferrer, ReferrerCode: code, Kind: program.KindCash, AmountMinor: amount, Currency: "USD",
		Status: rewards.StatusApproved, StatusReason: "waits for the weekly payout on 2026-11-23"}
	rw.IdempotencyKey = rewards.IdempotencyKey(rw.ID)
	w.Put(rw)
	if err := svc.Schedule(context.Background(), rw, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	return rw
}

// TestPayoutDayPaysPartnersOwedTheMinimumAndDefersTheRest: on a payout
// day, a partner owed at least the minimum is paid (each reward once), one
// owed less waits for the next payout day; a second run pays nothing more.
func TestPayoutDayPaysPartnersOwedTheMinimumAndDefersTheRest(t *testing.T) {
	w := &world{Repo: rewardstest.New(), refs: map[string]*referral.Referral{},
		p: &program.Program{ID: "weekly", Version: 1, Payout: program.Payout{Method: "bank", Schedule: program.ScheduleWeekly, MinimumMinor: 5000}}}
	b := &bank{paid: map[string]int{}}
	svc := &rewards.Service{Repo: w, Rails: map[string]rewards.Rail{"bank": b}, Now: func() time.Time { return monday }}
	big1, big2 := w.park(t, svc, 1, "ALPHA", 3000), w.park(t, svc, 2, "ALPHA", 2500)
	small := w.park(t, svc, 3, "BRAVO", 4000)
	h := &Handler{Store: w, Rewards: svc, Now: func() time.Time { return monday }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	got, err := h.Handle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (Result{Due: 3, Paid: 2, Deferred: 1}); got != want {
		t.Fatalf("run: %+v, want %+v", got, want)
	}
	for _, rw := range []rewards.Reward{big1, big2} {
		if b.paid[rw.IdempotencyKey] != 1 {
			t.Errorf("%s paid %d times", rw.ID, b.paid[rw.IdempotencyKey])
		}
	}
	if b.paid[small.IdempotencyKey] != 0 {
		t.Errorf("the partner under the minimum was paid")
	}
	due, _ := w.DueRewards(context.Background(), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), 0)
	if len(due) != 1 || due[0].RewardID != small.ID || !due[0].At.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("filed after the run: %+v", due)
	}
	if again, _ := h.Handle(context.Background()); again != (Result{}) {
		t.Fatalf("second run: %+v", again)
	}
}

// TestRunUnfilesSettledRewardsAndKeepsUnknownOutcomes: a filed reward
// found paid or voided is unfiled; one the store cannot read stays filed
// and is counted as an error.
func TestRunUnfilesSettledRewardsAndKeepsUnknownOutcomes(t *testing.T) {
	w := &world{Repo: rewardstest.New(), refs: map[string]*referral.Referral{},
		p: &program.Program{ID: "weekly", Version: 1, Payout: program.Payout{Method: "bank", Schedule: program.ScheduleWeekly}}}
	b := &bank{paid: map[string]int{}}
	svc := &rewards.Service{Repo: w, Rails: map[string]rewards.Rail{"bank": b}, Now: func() time.Time { return monday }}
	voided := w.park(t, svc, 1, "ALPHA", 3000)
	voided.Status = rewards.StatusVoided
	w.Put(voided)
	h := &Handler{Store: w, Rewards: svc, Now: func() time.Time { return monday }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if got, _ := h.Handle(context.Background()); got != (Result{Due: 1, Settled: 1}) || len(b.paid) != 0 {
		t.Fatalf("run: %+v, paid %v", got, b.paid)
	}
	w.park(t, svc, 2, "BRAVO", 3000)
	w.Fail(errors.New("table unavailable"))
	if _, err := h.Handle(context.Background()); err == nil {
		t.Fatal("a failed listing must fail the run")
	}
	w.Fail(nil)
	if due, _ := w.DueRewards(context.Background(), monday, 0); len(due) != 1 {
		t.Fatalf("filed: %+v", due)
	}
}
