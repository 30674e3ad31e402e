package storetest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// payoutReward creates referral id (open) with one held cash reward of its
// referrer and returns the reward as stored.
func payoutReward(t *testing.T, st *store.Store, id string, limits ...rewards.Limit) rewards.Reward {
	t.Helper()
	create(t, st, newReferral(id, id+"@payouts.example", ""))
	r := reward(id, "won", "referrer", 50000)
	for i := range limits {
		limits[i].RewardID = r.ID
	}
	stored, err := st.CreateRewards(context.Background(), id, "won", []rewards.Reward{r}, limits, nil)
	if err != nil || len(stored) != 1 {
		t.Fatalf("CreateRewards(%s) = %+v, %v", id, stored, err)
	}
	return stored[0]
}

// stored is reward r as the table holds it now.
func stored(t *testing.T, st *store.Store, r rewards.Reward) rewards.Reward {
	t.Helper()
	rws, err := st.MilestoneRewards(context.Background(), r.ReferralID, r.Milestone)
	if err != nil {
		t.Fatal(err)
	}
	for _, cur := range rws {
		if cur.ID == r.ID {
			return cur
		}
	}
	t.Fatalf("reward %s is not stored", r.ID)
	return rewards.Reward{}
}

// claimFor claims r for rail with its first generation's key.
func claimFor(t *testing.T, st *store.Store, r rewards.Reward, rail string, at time.Time) rewards.Reward {
	t.Helper()
	r.Rail, r.IdempotencyKey = rail, rewards.KeyFor(r.ID, r.Generation)
	ok, err := st.ClaimReward(context.Background(), r, at, rewards.DealOpen)
	if !ok || err != nil {
		t.Fatalf("ClaimReward(%s) = %v, %v", r.ID, ok, err)
	}
	return stored(t, st, r)
}

// filedIDs lists the reward ids of a listing of filed rewards.
func filedIDs(ds []rewards.Due) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.RewardID)
	}
	return out
}

// due lists the rewards due for the runner at or before at.
func due(t *testing.T, st *store.Store, at time.Time) []rewards.Due {
	t.Helper()
	ds, err := st.DueRewards(context.Background(), at, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// failed lists the rewards that wait for a person.
func failed(t *testing.T, st *store.Store) []rewards.Due {
	t.Helper()
	ds, err := st.FailedRewards(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func eventTypes(t *testing.T, st *store.Store, referralID string) map[events.Type]int {
	t.Helper()
	evs, err := st.Events(context.Background(), referralID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[events.Type]int{}
	for _, e := range evs {
		out[e.Type]++
	}
	return out
}

// A claim moves a payable reward to sending with its rail, generation and
// key, filed for the runner after rewards.SendingGrace, in the transaction
// that checks the deal: a lost deal is reported with its loss and nothing
// is written; a second claim finds it taken.
func TestClaimRewardChecksTheDealAndClaimsOnce(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	open, lost := payoutReward(t, st, "ref_open"), payoutReward(t, st, "ref_lost")
	lostAt := t0.Add(time.Hour)
	if _, err := st.RecordDeal(ctx, "ref_lost", referral.DealUpdate{Lost: true, LostReason: "lost"}, lostAt); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(2 * time.Hour)

	lost.Rail, lost.IdempotencyKey = "stripe", rewards.KeyFor(lost.ID, 0)
	ok, err := st.ClaimReward(ctx, lost, at, rewards.DealOpen)
	var le *rewards.LostError
	if ok || !errors.As(err, &le) || le.Reason != "lost" || !le.At.Equal(lostAt) {
		t.Fatalf("claim under a lost deal = %v, %v; want *LostError (lost at %s)", ok, err, lostAt)
	}
	if cur := stored(t, st, lost); cur.Status != rewards.StatusOnHold || cur.Rail != "" {
		t.Fatalf("a refused claim wrote %+v", cur)
	}

	open.StatusReason = "" // the claim clears a waiting reason
	open.Generation = 0
	got := claimFor(t, st, open, "stripe", at)
	if got.Status != rewards.StatusSending || got.Rail != "stripe" || got.IdempotencyKey != rewards.KeyFor(open.ID, 0) || got.Generation != 0 || got.StatusReason != "" {
		t.Fatalf("claimed reward = %+v", got)
	}
	// Filed for the runner after the grace, in case the claimer never
	// records the outcome; the refused claim filed nothing.
	if ds := due(t, st, at.Add(rewards.SendingGrace-time.Millisecond)); len(ds) != 0 {
		t.Fatalf("filed before the grace: %+v", ds)
	}
	if ids := filedIDs(due(t, st, at.Add(rewards.SendingGrace))); len(ids) != 1 || ids[0] != open.ID {
		t.Fatalf("DueRewards after the grace = %v, want only the claimed reward", ids)
	}
	for i, check := range []rewards.DealCheck{rewards.DealOpen, rewards.DealAny} {
		if ok, err := st.ClaimReward(ctx, got, at, check); ok || err != nil {
			t.Fatalf("claim #%d of a sending reward = %v, %v; want false", i+2, ok, err)
		}
	}
}

// A refused payment leaves the reward failed with the rail's reason, its
// budget reservations kept (a re-arm pays against them), filed for a
// person and not for the runner.
func TestFailRewardKeepsReservationsAndFilesForAttention(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	counter := rewards.BudgetCounter("2026-11")
	r := payoutReward(t, st, "ref_fail", rewards.Limit{Counter: counter, LimitMinor: 100000, AmountMinor: 50000, Reason: "budget exhausted"})
	if reservedOn(r, counter) != 50000 {
		t.Fatalf("reward reserved %+v", r.Reserved)
	}
	at := t0.Add(time.Hour)
	ev := func(r rewards.Reward) events.Event { return rewards.Event(events.RewardFailed, r, "test", at) }

	if ok, err := st.FailReward(ctx, r, "not sent yet", ev(r), at); ok || err != nil {
		t.Fatalf("failing a reward that is not sending = %v, %v; want false", ok, err)
	}
	r = claimFor(t, st, r, "stripe", at)
	if ok, err := st.FailReward(ctx, r, "insufficient_funds", ev(r), at); !ok || err != nil {
		t.Fatalf("FailReward = %v, %v", ok, err)
	}
	if ok, err := st.FailReward(ctx, r, "again", ev(r), at); ok || err != nil {
		t.Fatalf("second FailReward = %v, %v; want false", ok, err)
	}
	cur := stored(t, st, r)
	if cur.Status != rewards.StatusFailed || cur.StatusReason != "insufficient_funds" || cur.Rail != "stripe" || reservedOn(cur, counter) != 50000 {
		t.Fatalf("failed reward = %+v", cur)
	}
	if spent, err := storetest.Spent(ctx, storetest.DB(t), st.Table(), "p1", counter); err != nil || spent != 50000 {
		t.Fatalf("budget counter = %d, %v; want the reservation kept (50000)", spent, err)
	}
	if ids := filedIDs(failed(t, st)); len(ids) != 1 || ids[0] != r.ID {
		t.Fatalf("FailedRewards = %v, want [%s]", ids, r.ID)
	}
	if ds := due(t, st, at.Add(365*24*time.Hour)); len(ds) != 0 {
		t.Fatalf("a failed reward is due for the runner: %+v", ds)
	}
	if n := eventTypes(t, st, "ref_fail")[events.RewardFailed]; n != 1 {
		t.Fatalf("%d reward.failed events, want 1", n)
	}
}

// A parked reward is filed for the runner at its due time: not listed
// before it, listed at and after it, earliest first; a park from a status
// it is not in writes nothing.
func TestParkRewardFilesItForTheRunnerAtDue(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	early, late := payoutReward(t, st, "ref_early"), payoutReward(t, st, "ref_late")
	payable := []rewards.Status{rewards.StatusPending, rewards.StatusOnHold, rewards.StatusApproved, rewards.StatusSending}
	park := func(r rewards.Reward, from []rewards.Status, due time.Time) bool {
		t.Helper()
		ev := rewards.Event(events.RewardWaiting, r, "test", t0).With("reason", rewards.ReasonNoPayoutMethod)
		ok, err := st.ParkReward(ctx, r, from, rewards.StatusOnHold, rewards.ReasonNoPayoutMethod, due, ev, t0)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	dueEarly, dueLate := t0.Add(time.Hour), t0.Add(2*time.Hour)
	if !park(late, payable, dueLate) || !park(early, payable, dueEarly) {
		t.Fatal("ParkReward refused payable rewards")
	}
	if park(early, []rewards.Status{rewards.StatusSending}, t0) {
		t.Fatal("ParkReward moved a reward from a status it is not in")
	}
	if cur := stored(t, st, early); cur.Status != rewards.StatusOnHold || cur.StatusReason != rewards.ReasonNoPayoutMethod {
		t.Fatalf("parked reward = %+v", cur)
	}
	for _, tc := range []struct {
		at   time.Time
		want []string
	}{
		{dueEarly.Add(-time.Millisecond), nil},
		{dueEarly, []string{early.ID}},
		{dueLate, []string{early.ID, late.ID}},
		{dueLate.Add(24 * time.Hour), []string{early.ID, late.ID}},
	} {
		ds := due(t, st, tc.at)
		if got := filedIDs(ds); len(got) != len(tc.want) || (len(got) > 0 && (got[0] != tc.want[0] || got[len(got)-1] != tc.want[len(tc.want)-1])) {
			t.Errorf("DueRewards(%s) = %v, want %v", tc.at.Format(time.RFC3339Nano), got, tc.want)
		}
	}
	ds := due(t, st, dueLate)
	if d := ds[0]; d.ReferralID != "ref_early" || d.ProgramID != "p1" || d.Milestone != "won" || d.Party != "referrer" || !d.At.Equal(dueEarly) {
		t.Errorf("filed reward = %+v", d)
	}
	if limited, err := st.DueRewards(ctx, dueLate, 1); err != nil || len(limited) != 1 || limited[0].RewardID != early.ID {
		t.Errorf("DueRewards with limit 1 = %+v, %v", limited, err)
	}
	if len(failed(t, st)) != 0 {
		t.Error("a parked reward is listed for a person")
	}
}

// Paying a sending reward records the rail and its reference on the
// reward and its ledger entry, and takes it off the runner's list.
func TestPayRewardOfASendingRewardRecordsTheRailAndUnfiles(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	r := payoutReward(t, st, "ref_pay")
	if err := st.ScheduleReward(ctx, r, t0); err != nil {
		t.Fatal(err)
	}
	r = claimFor(t, st, r, "stripe", t0)
	at := t0.Add(time.Minute)
	e := rewards.PayableEntry(r, at)
	e.Method, e.Reference = "stripe", "tr_123"
	r.Rail, r.Reference = "stripe", "tr_123"
	ev := rewards.Event(events.RewardPaid, r, "test", at).With("method", "stripe").With("reference", "tr_123")
	if ok, err := st.PayReward(ctx, r, e, ev, at, rewards.DealOpen); !ok || err != nil {
		t.Fatalf("PayReward(sending) = %v, %v", ok, err)
	}
	if ok, err := st.PayReward(ctx, r, e, ev, at, rewards.DealOpen); ok || err != nil {
		t.Fatalf("second PayReward = %v, %v; want false", ok, err)
	}
	cur := stored(t, st, r)
	if cur.Status != rewards.StatusPaid || cur.Rail != "stripe" || cur.Reference != "tr_123" || cur.PaidAt == nil {
		t.Fatalf("paid reward = %+v", cur)
	}
	entries, err := st.LedgerEntries(ctx, r.ID)
	if err != nil || len(entries) != 1 || entries[0].Method != "stripe" || entries[0].Reference != "tr_123" || entries[0].AmountMinor != 50000 {
		t.Fatalf("ledger = %+v, %v", entries, err)
	}
	if ds := due(t, st, at.Add(time.Hour)); len(ds) != 0 {
		t.Fatalf("a paid reward is still filed: %+v", ds)
	}
}

// Voiding a reward takes it off both lists: the runner's and a person's.
func TestVoidingARewardUnfilesIt(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	parked, broken := payoutReward(t, st, "ref_parked"), payoutReward(t, st, "ref_broken")
	if err := st.ScheduleReward(ctx, parked, t0); err != nil {
		t.Fatal(err)
	}
	broken = claimFor(t, st, broken, "stripe", t0)
	if ok, err := st.FailReward(ctx, broken, "account closed", rewards.Event(events.RewardFailed, broken, "test", t0), t0); !ok || err != nil {
		t.Fatalf("FailReward = %v, %v", ok, err)
	}
	if len(due(t, st, t0)) != 1 || len(failed(t, st)) != 1 {
		t.Fatalf("before the voids: due %v, failed %v", filedIDs(due(t, st, t0)), filedIDs(failed(t, st)))
	}
	from := []rewards.Status{rewards.StatusFailed, rewards.StatusPending, rewards.StatusOnHold, rewards.StatusApproved}
	for _, r := range []rewards.Reward{parked, broken} {
		ok, err := st.SetRewardStatus(ctx, r, from, rewards.StatusVoided, "voided: test", rewards.Event(events.RewardVoided, r, "test", t0), t0)
		if !ok || err != nil {
			t.Fatalf("void %s = %v, %v", r.ReferralID, ok, err)
		}
		if cur := stored(t, st, r); cur.Status != rewards.StatusVoided {
			t.Fatalf("voided reward = %+v", cur)
		}
	}
	if ds, fs := due(t, st, t0.Add(time.Hour)), failed(t, st); len(ds) != 0 || len(fs) != 0 {
		t.Fatalf("voided rewards still filed: due %v, failed %v", filedIDs(ds), filedIDs(fs))
	}
}

// A person's re-arm moves a failed reward to approved with the new
// generation and its key, forgets the rail, and files it for the runner
// now (off the person's list); a second re-arm of the same generation
// changes nothing.
func TestRearmRewardGivesANewGenerationAndFilesItNow(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	r := claimFor(t, st, payoutReward(t, st, "ref_rearm"), "stripe", t0)
	if ok, err := st.FailReward(ctx, r, "invalid account", rewards.Event(events.RewardFailed, r, "test", t0), t0); !ok || err != nil {
		t.Fatalf("FailReward = %v, %v", ok, err)
	}
	at := t0.Add(time.Hour)
	next := stored(t, st, r)
	next.Generation++
	next.IdempotencyKey = rewards.KeyFor(r.ID, next.Generation)
	ev := rewards.Event(events.RewardRearmed, next, "test", at).With("generation", "1")
	if ok, err := st.RearmReward(ctx, next, ev, at); !ok || err != nil {
		t.Fatalf("RearmReward = %v, %v", ok, err)
	}
	if ok, err := st.RearmReward(ctx, next, ev, at); ok || err != nil {
		t.Fatalf("second RearmReward = %v, %v; want false", ok, err)
	}
	cur := stored(t, st, r)
	if cur.Status != rewards.StatusApproved || cur.StatusReason != "re-armed" || cur.Generation != 1 ||
		cur.IdempotencyKey != "referflow-"+r.ID+"-g1" || cur.Rail != "" {
		t.Fatalf("re-armed reward = %+v", cur)
	}
	if fs := failed(t, st); len(fs) != 0 {
		t.Fatalf("a re-armed reward still waits for a person: %v", filedIDs(fs))
	}
	if ids := filedIDs(due(t, st, at)); len(ids) != 1 || ids[0] != r.ID {
		t.Fatalf("DueRewards(now) = %v, want the re-armed reward", ids)
	}
	// The new generation is claimed with its own key.
	if again := claimFor(t, st, cur, "stripe", at); again.IdempotencyKey != "referflow-"+r.ID+"-g1" || again.Generation != 1 {
		t.Fatalf("claimed re-armed reward = %+v", again)
	}
	if n := eventTypes(t, st, "ref_rearm")[events.RewardRearmed]; n != 1 {
		t.Fatalf("%d reward.rearmed events, want 1", n)
	}
}

// Scheduling again replaces the filing (one per reward); Unfile removes
// it, and a repeat is harmless.
func TestScheduleReplacesAndUnfileRemovesTheFiling(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	r := payoutReward(t, st, "ref_sched")
	first, second := t0.Add(time.Hour), t0.Add(3*time.Hour)
	for _, at := range []time.Time{first, second} {
		if err := st.ScheduleReward(ctx, r, at); err != nil {
			t.Fatal(err)
		}
	}
	if ds := due(t, st, first); len(ds) != 0 {
		t.Fatalf("the replaced filing is still due: %+v", ds)
	}
	if ds := due(t, st, second); len(ds) != 1 || !ds[0].At.Equal(second) {
		t.Fatalf("DueRewards = %+v, want one filing at %s", ds, second)
	}
	for range 2 {
		if err := st.Unfile(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if ds := due(t, st, second.Add(time.Hour)); len(ds) != 0 {
		t.Fatalf("an unfiled reward is due: %+v", ds)
	}
	if cur := stored(t, st, r); cur.Status != rewards.StatusOnHold {
		t.Fatalf("Unfile changed the reward: %+v", cur)
	}
}
