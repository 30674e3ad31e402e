package rewards_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards"
)

func TestNextPayoutDay(t *testing.T) {
	cases := []struct {
		schedule string
		now      string
		want     string
	}{
		{program.ScheduleWeekly, "2026-11-20T12:00:00Z", "2026-11-23T00:00:00Z"}, // a Friday: next Monday
		{program.ScheduleWeekly, "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"}, // a Monday at midnight: strictly after
		{program.ScheduleWeekly, "2026-11-22T23:59:59Z", "2026-11-23T00:00:00Z"}, // a Sunday night
		{program.ScheduleMonthly, "2026-11-20T12:00:00Z", "2026-12-01T00:00:00Z"},
		{program.ScheduleMonthly, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{program.ScheduleMonthly, "2026-12-31T23:00:00Z", "2027-01-01T00:00:00Z"},
	}
	for _, c := range cases {
		now, _ := time.Parse(time.RFC3339, c.now)
		if got := rewards.NextPayoutDay(c.schedule, now).Format(time.RFC3339); got != c.want {
			t.Errorf("NextPayoutDay(%s, %s) = %s, want %s", c.schedule, c.now, got, c.want)
		}
	}
}

func TestKeyFor(t *testing.T) {
	if got := rewards.KeyFor("rw_1", 0); got != "referflow-rw_1" || got != rewards.IdempotencyKey("rw_1") {
		t.Errorf("generation 0: %s", got)
	}
	if got := rewards.KeyFor("rw_1", 2); got != "referflow-rw_1-g2" {
		t.Errorf("generation 2: %s", got)
	}
}

// payees answers whether a party can be paid, as the payees store would.
type payees struct{ missing map[string]bool } // party -> no payout method

func (p *payees) Ready(_ context.Context, rail string, r rewards.Reward) error {
	if p.missing[r.Party] {
		return fmt.Errorf("test: the %s has none: %w", r.Party, rewards.ErrNoPayoutMethod)
	}
	return nil
}

// refusing is a rail that refuses the keys it lists and pays the others.
type refusing struct {
	rail
	refuse map[string]bool
}

func (p *refusing) Send(ctx context.Context, r rewards.Reward) (rewards.Transfer, error) {
	if p.refuse[r.IdempotencyKey] {
		p.keys = append(p.keys, r.IdempotencyKey)
		return rewards.Transfer{}, fmt.Errorf("test: account closed: %w", rewards.ErrRefused)
	}
	return p.rail.Send(ctx, r)
}

// TestPayWaitsForAPayoutMethodThenPaysOnce: a party without a payout
// method waits on hold, filed for the payouts runner; once it has one, the
// runner's PayOne pays it once and the wait's reason is gone.
func TestPayWaitsForAPayoutMethodThenPaysOnce(t *testing.T) {
	e, r, p := newEnv(), testReferral(), testProgram()
	pay := &payees{missing: map[string]bool{"referrer": true}}
	e.svc.Payees = pay
	ctx := context.Background()
	if _, err := e.svc.Hold(ctx, r, p, "qualified"); err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.Pay(ctx, r, p, "qualified")
	if err != nil || len(out.Paid) != 0 || len(e.rail.keys) != 0 {
		t.Fatalf("paid %v, err %v, rail calls %v", out.Paid, err, e.rail.keys)
	}
	rw, _ := e.repo.Get(refID, "qualified", "referrer")
	if rw.Status != rewards.StatusOnHold || rw.StatusReason != rewards.ReasonNoPayoutMethod {
		t.Fatalf("reward %s: %s", rw.Status, rw.StatusReason)
	}
	due, _ := e.repo.DueRewards(ctx, t0.Add(rewards.PayeeRetry), 0)
	if len(due) != 1 || due[0].RewardID != rw.ID {
		t.Fatalf("filed %+v", due)
	}
	if again, _ := e.svc.Pay(ctx, r, p, "qualified"); len(again.Paid) != 0 || len(e.repo.AllEvents()) != 2 {
		t.Fatalf("a repeat wrote again: %d events", len(e.repo.AllEvents()))
	}
	pay.missing = nil
	after, err := e.svc.PayOne(ctx, r, p, rw, "payouts")
	if err != nil || after.Status != rewards.StatusPaid || after.StatusReason != "" || after.Rail != "bank" || after.Reference != "tr_"+rw.ID {
		t.Fatalf("PayOne: %+v, %v", after, err)
	}
	if _, err := e.svc.PayOne(ctx, r, p, after, "payouts"); !errors.Is(err, rewards.ErrNotPayable) || len(e.rail.keys) != 1 {
		t.Fatalf("second PayOne: %v, rail calls %v", err, e.rail.keys)
	}
	if due, _ := e.repo.DueRewards(ctx, t0.Add(24*time.Hour), 0); len(due) != 0 {
		t.Fatalf("still filed: %+v", due)
	}
}

// TestPayOnAScheduleParksForThePayoutDay: a weekly program's rewards wait,
// approved, for the next Monday, filed then; nothing reaches the rail.
func TestPayOnAScheduleParksForThePayoutDay(t *testing.T) {
	e, r, p := newEnv(), testReferral(), testProgram()
	p.Payout.Schedule = program.ScheduleWeekly
	ctx := context.Background()
	if _, err := e.svc.Hold(ctx, r, p, "qualified"); err != nil {
		t.Fatal(err)
	}
	if out, err := e.svc.Pay(ctx, r, p, "qualified"); err != nil || len(out.Paid) != 0 {
		t.Fatalf("paid %v: %v", out.Paid, err)
	}
	rw, _ := e.repo.Get(refID, "qualified", "referrer")
	if rw.Status != rewards.StatusApproved || rw.StatusReason != "waits for the weekly payout on 2026-11-23" || !rewards.ParkedForPayoutDay(rw) {
		t.Fatalf("reward %s: %q", rw.Status, rw.StatusReason)
	}
	if due, _ := e.repo.DueRewards(ctx, time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC), 0); len(due) != 0 {
		t.Fatalf("due before Monday: %+v", due)
	}
	if due, _ := e.repo.DueRewards(ctx, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), 0); len(due) != 1 {
		t.Fatalf("not due on Monday: %+v", due)
	}
	if len(e.rail.keys) != 0 {
		t.Fatalf("rail called: %v", e.rail.keys)
	}
	e.clock.t = time.Date(2026, 11, 23, 0, 5, 0, 0, time.UTC)
	after, err := e.svc.PayOne(ctx, r, p, rw, "payouts")
	if err != nil || after.Status != rewards.StatusPaid || after.StatusReason != "" {
		t.Fatalf("payout day: %+v %v", after, err)
	}
}

// TestARefusalFailsForAPersonWhoReArmsOrVoids: a definite refusal marks
// the reward failed with the rail's reason, filed for a person; nothing
// sends it again by itself; a re-arm pays it under a new key; a void
// gives its budget back.
func TestARefusalFailsForAPersonWhoReArmsOrVoids(t *testing.T) {
	for _, then := range []string{"rearm", "void"} {
		t.Run(then, func(t *testing.T) {
			e, r, p := newEnv(), testReferral(), testProgram()
			rf := &refusing{refuse: map[string]bool{}}
			e.svc.Rails = map[string]rewards.Rail{"bank": rf}
			ctx := context.Background()
			if _, err := e.svc.Hold(ctx, r, p, "qualified"); err != nil {
				t.Fatal(err)
			}
			first, _ := e.repo.Get(refID, "qualified", "referrer")
			rf.refuse[first.IdempotencyKey] = true
			if _, err := e.svc.Pay(ctx, r, p, "qualified"); err != nil {
				t.Fatal(err)
			}
			rw, _ := e.repo.Get(refID, "qualified", "referrer")
			if rw.Status != rewards.StatusFailed || !strings.Contains(rw.StatusReason, "account closed") || !slices.Equal(e.repo.Failed(), []string{rw.ID}) {
				t.Fatalf("reward %s %q, filed %v", rw.Status, rw.StatusReason, e.repo.Failed())
			}
			e.svc.Pay(ctx, r, p, "qualified")
			if _, err := e.svc.PayOne(ctx, r, p, rw, "payouts"); !errors.Is(err, rewards.ErrNotPayable) || len(rf.keys) != 1 {
				t.Fatalf("sent again by itself: %v, %v", err, rf.keys)
			}
			if then == "void" {
				if err := e.svc.Void(ctx, rw, "partner left", "admin"); err != nil {
					t.Fatal(err)
				}
				rw, _ = e.repo.Get(refID, "qualified", "referrer")
				if rw.Status != rewards.StatusVoided || len(e.repo.Failed()) != 0 {
					t.Fatalf("void: %s, filed %v", rw.Status, e.repo.Failed())
				}
				return
			}
			armed, err := e.svc.Rearm(ctx, rw, "admin")
			if err != nil || armed.Status != rewards.StatusApproved || armed.IdempotencyKey != rw.IdempotencyKey+"-g1" {
				t.Fatalf("rearm: %+v %v", armed, err)
			}
			after, err := e.svc.PayOne(ctx, r, p, armed, "admin")
			if err != nil || after.Status != rewards.StatusPaid || after.Generation != 1 || len(rf.keys) != 2 || rf.keys[1] != armed.IdempotencyKey {
				t.Fatalf("after rearm: %+v %v %v", after, err, rf.keys)
			}
			if _, err := e.svc.Rearm(ctx, after, "admin"); !errors.Is(err, rewards.ErrNotPayable) {
				t.Fatalf("rearm of a paid reward: %v", err)
			}
		})
	}
}

// TestAClaimedRewardIsResolvedByLookup: a reward left sending (its send's
// outcome unknown) is looked up first: paid at the rail, it is recorded
// without a second call.
func TestAClaimedRewardIsResolvedByLookup(t *testing.T) {
	e, r, p := newEnv(), testReferral(), testProgram()
	ctx := context.Background()
	if _, err := e.svc.Hold(ctx, r, p, "qualified"); err != nil {
		t.Fatal(err)
	}
	e.repo.Fail(errors.New("table unavailable"))
	e.rail.err = nil
	// The claim fails with the table: nothing was sent.
	if _, err := e.svc.Pay(ctx, r, p, "qualified"); err == nil || len(e.rail.keys) != 0 {
		t.Fatalf("err %v, rail calls %v", err, e.rail.keys)
	}
	e.repo.Fail(nil)
	rw, _ := e.repo.Get(refID, "qualified", "referrer")
	// Claimed and sent, then the record is lost: the rail paid.
	rw.Status, rw.Rail, rw.IdempotencyKey = rewards.StatusSending, "bank", rewards.KeyFor(rw.ID, 0)
	e.repo.Put(rw)
	e.rail.sent = map[string]bool{rw.IdempotencyKey: true}
	out, err := e.svc.Pay(ctx, r, p, "qualified")
	if err != nil || len(out.Paid) != 1 || len(e.rail.keys) != 0 {
		t.Fatalf("paid %v, err %v, rail calls %v", out.Paid, err, e.rail.keys)
	}
}

// TestRearmRecordsAPaymentTheRailHolds: a failed reward whose payment the
// rail turns out to hold under its key is recorded paid, never sent again.
func TestRearmRecordsAPaymentTheRailHolds(t *testing.T) {
	e, r, p := newEnv(), testReferral(), testProgram()
	ctx := context.Background()
	if _, err := e.svc.Hold(ctx, r, p, "qualified"); err != nil {
		t.Fatal(err)
	}
	rw, _ := e.repo.Get(refID, "qualified", "referrer")
	rw.Status, rw.StatusReason, rw.Rail = rewards.StatusFailed, "the payment was reversed at the rail", "bank"
	e.repo.Put(rw)
	e.rail.sent = map[string]bool{rw.IdempotencyKey: true}
	after, err := e.svc.Rearm(ctx, rw, "admin")
	stored, _ := e.repo.Get(refID, "qualified", "referrer")
	if err != nil || after.Status != rewards.StatusPaid || stored.Status != rewards.StatusPaid || stored.Reference != "tr_"+rw.ID || len(e.rail.keys) != 0 {
		t.Fatalf("rearm: %+v %v; stored %s; rail calls %v", after, err, stored.Status, e.rail.keys)
	}
	if _, ok := e.repo.Entry(rw.ID, rewards.EntryPayable); !ok {
		t.Fatal("no ledger entry")
	}
}

// reversing is a rail that can take its payments back.
type reversing struct {
	rail
	reversals map[string]int // reversal key -> calls
	refuse    bool
}

func (p *reversing) Reverse(_ context.Context, r rewards.Reward) (string, error) {
	if p.refuse {
		return "", fmt.Errorf("test: balance short: %w", rewards.ErrRefused)
	}
	p.reversals[rewards.ReversalKey(r)]++
	return "trr_" + r.ID, nil
}

// TestARefundAfterPaymentIsTakenBackAtTheRailOnce: the ledger's reversal
// files the reward for its rail's reversal; the runner's ReverseAtRail
// takes it back (a repeat reuses the reversal's key), or files a refusal for a
// person; a ledger-paid reward has nothing to take back.
func TestARefundAfterPaymentIsTakenBackAtTheRailOnce(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		t.Run(fmt.Sprintf("refused=%v", refuse), func(t *testing.T) {
			e, r, p := newEnv(), testReferral(), testProgram()
			rv := &reversing{reversals: map[string]int{}, refuse: refuse}
			e.svc.Rails = map[string]rewards.Rail{"bank": rv}
			ctx := context.Background()
			e.svc.Hold(ctx, r, p, "qualified")
			if out, err := e.svc.Pay(ctx, r, p, "qualified"); err != nil || len(out.Paid) != 1 {
				t.Fatalf("pay: %v %v", out, err)
			}
			lost := t0.Add(time.Hour)
			r.LostAt, r.LostReason, r.Status = &lost, "refunded", "completed"
			r.Milestones = map[string]time.Time{"qualified": t0}
			if loss, err := e.svc.ApplyLoss(ctx, r, p, "webhook:generic"); err != nil || loss.Reversed != 1 {
				t.Fatalf("loss: %+v %v", loss, err)
			}
			due, _ := e.repo.DueRewards(ctx, t0.Add(2*time.Hour), 0)
			if len(due) != 1 || due[0].Action != rewards.ActionReverse {
				t.Fatalf("filed: %+v", due)
			}
			rw, _ := e.repo.Get(refID, "qualified", "referrer")
			for i := 0; i < 2; i++ {
				if err := e.svc.ReverseAtRail(ctx, rw, "payouts"); err != nil {
					t.Fatal(err)
				}
			}
			due, _ = e.repo.DueRewards(ctx, t0.Add(2*time.Hour), 0)
			if len(due) != 0 {
				t.Fatalf("still filed: %+v", due)
			}
			evs := eventLines(e.repo.AllEvents())
			if refuse {
				if len(rv.reversals) != 0 || !slices.Equal(e.repo.Failed(), []string{rw.ID}) {
					t.Fatalf("refused: reversals %v, filed for a person %v", rv.reversals, e.repo.Failed())
				}
				return
			}
			if rv.reversals[rewards.ReversalKey(rw)] != 2 || !slices.Contains(evs, "reward.rail_reversal referrer") {
				t.Fatalf("reversals %v, events %v", rv.reversals, evs)
			}
		})
	}
}

// TestAClaimLeftSendingWhenTheDealIsRefundedIsSettledByTheRail: a reward
// claimed before its deal was refunded, its payment's outcome unknown
// (the step stopped; the refund came in meanwhile), is settled by what the
// rail holds once the loss is known. Paid: recorded paid, then taken back
// (a reversal entry, filed for the rail's reversal), never left counted as
// paid for a refunded sale. Nothing paid: voided, and nothing is sent.
func TestAClaimLeftSendingWhenTheDealIsRefundedIsSettledByTheRail(t *testing.T) {
	for _, paid := range []bool{true, false} {
		t.Run(fmt.Sprintf("paid at the rail=%v", paid), func(t *testing.T) {
			e, r, p := newEnv(), testReferral(), testProgram()
			rv := &reversing{reversals: map[string]int{}}
			e.svc.Rails = map[string]rewards.Rail{"bank": rv}
			ctx := context.Background()
			if _, err := e.svc.Hold(ctx, r, p, "qualified"); err != nil {
				t.Fatal(err)
			}
			rw, _ := e.repo.Get(refID, "qualified", "referrer")
			rw.Status, rw.Rail, rw.IdempotencyKey = rewards.StatusSending, "bank", rewards.KeyFor(rw.ID, 0)
			e.repo.Put(rw)
			if paid {
				rv.sent = map[string]bool{rw.IdempotencyKey: true}
			}
			lost := t0.Add(time.Minute)
			r.LostAt, r.LostReason = &lost, "refunded"
			r.Milestones = map[string]time.Time{"qualified": t0}
			// The workflow's loss settles what it can; a sending reward is the rail's to say.
			if _, err := e.svc.ApplyLoss(ctx, r, p, "workflow"); err != nil {
				t.Fatal(err)
			}
			after, err := e.svc.PayOne(ctx, r, p, rw, "payouts")
			if len(rv.keys) != 0 {
				t.Fatalf("sent %v for a refunded deal", rv.keys)
			}
			stored, _ := e.repo.Get(refID, "qualified", "referrer")
			_, payable := e.repo.Entry(rw.ID, rewards.EntryPayable)
			_, reversal := e.repo.Entry(rw.ID, rewards.EntryReversal)
			if !paid {
				if !errors.Is(err, rewards.ErrDealLost) || stored.Status != rewards.StatusVoided || payable {
					t.Fatalf("nothing paid: %+v %v; stored %s, payable entry %v", after, err, stored.Status, payable)
				}
				return
			}
			if err != nil || stored.Status != rewards.StatusPaid || !payable || !reversal {
				t.Fatalf("paid at the rail: %v; stored %s, payable entry %v, reversal entry %v", err, stored.Status, payable, reversal)
			}
			due, _ := e.repo.DueRewards(ctx, t0.Add(time.Hour), 0)
			if len(due) != 1 || due[0].Action != rewards.ActionReverse {
				t.Fatalf("filed %+v: want the rail's reversal", due)
			}
		})
	}
}
