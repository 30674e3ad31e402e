package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func newReferral(id, email, domain string) *referral.Referral {
	return &referral.Referral{
		ID: id, ProgramID: "p1", ProgramVersion: 1, Status: referral.StatusReceived,
		ReferrerCode: "DEMO", RefereeEmail: email, RefereeCompany: "Acme", RefereeDomain: domain,
		StatusTokenHash: referral.HashToken("tok"), CreatedAt: t0, UpdatedAt: t0,
	}
}

func create(t *testing.T, st *store.Store, r *referral.Referral) {
	t.Helper()
	if err := st.CreateReferral(context.Background(), store.NewReferral{Referral: r, Event: events.New(events.ReferralReceived, r.ID, "test", t0)}); err != nil {
		t.Fatalf("CreateReferral(%s): %v", r.ID, err)
	}
}

func TestCreateReferralDedupesEmailAndDomainAtomically(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	create(t, st, newReferral("ref_A", "jane@acme.example", "acme.example"))

	cases := []struct {
		name string
		r    *referral.Referral
		want error
	}{
		{"same email", newReferral("ref_B", "jane@acme.example", ""), store.ErrDuplicate},
		{"same company domain", newReferral("ref_C", "bob@acme.example", "acme.example"), store.ErrDuplicate},
		{"other company", newReferral("ref_D", "amy@globex.example", "globex.example"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := st.CreateReferral(ctx, store.NewReferral{Referral: tc.r, Event: events.New(events.ReferralReceived, tc.r.ID, "test", t0)})
			if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			_, gerr := st.Referral(ctx, tc.r.ID)
			if tc.want != nil && !errors.Is(gerr, store.ErrNotFound) {
				t.Fatalf("a rejected duplicate left its referral behind: %v", gerr)
			}
			if tc.want != nil {
				if log, _ := st.Events(ctx, tc.r.ID); len(log) != 0 {
					t.Fatalf("a rejected duplicate left %d activity lines", len(log))
				}
			}
		})
	}
	// The same email in another program is a different referral.
	other := newReferral("ref_E", "jane@acme.example", "acme.example")
	other.ProgramID = "p2"
	create(t, st, other)
	ids, err := st.ReferralsByEmail(ctx, "jane@acme.example")
	if err != nil || len(ids) != 2 || ids[0] != "ref_E" {
		t.Fatalf("ReferralsByEmail = %v, %v; want [ref_E ref_A] newest first", ids, err)
	}
}

func TestIdempotencyRecordIsWrittenWithTheReferral(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	rec := &apigw.IdempotencyRecord{Key: "k1", RequestHash: "h", Status: 202, Body: `{"x":1}`, ExpiresAt: t0.Add(24 * time.Hour)}
	if err := st.CreateReferral(ctx, store.NewReferral{Referral: newReferral("ref_A", "a@a.example", ""), Idempotency: rec, Event: events.New(events.ReferralReceived, "ref_A", "test", t0)}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Idempotency(ctx, "k1", t0)
	if err != nil || got.Body != `{"x":1}` || got.Status != 202 {
		t.Fatalf("Idempotency = %+v, %v", got, err)
	}
	// A second referral under the same key conflicts and writes nothing.
	err = st.CreateReferral(ctx, store.NewReferral{Referral: newReferral("ref_B", "b@b.example", ""), Idempotency: rec, Event: events.New(events.ReferralReceived, "ref_B", "test", t0)})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if _, err := st.Referral(ctx, "ref_B"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ref_B exists after a conflicting key: %v", err)
	}
	// An expired record counts as absent even before TTL deletes it.
	if _, err := st.Idempotency(ctx, "k1", t0.Add(25*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired record: err = %v", err)
	}
}

func TestTransitions(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	create(t, st, newReferral("ref_A", "a@a.example", ""))
	steps := []struct {
		to      referral.Status
		wantErr bool
	}{
		{referral.StatusCompleted, true}, // received cannot complete
		{referral.StatusVerifying, false},
		{referral.StatusVerifying, false}, // a retried step repeats itself
		{referral.StatusInProgress, false},
		{referral.StatusLost, false},
		{referral.StatusLost, false},      // terminal repeated: no-op
		{referral.StatusCompleted, true},  // terminal is final
		{referral.StatusInProgress, true}, // no way back
	}
	for i, s := range steps {
		at := t0.Add(time.Duration(i) * time.Second)
		err := st.Transition(ctx, "ref_A", s.to, at, nil, events.New(events.ReferralClosed, "ref_A", "test", at).WithStatus(string(s.to)))
		if (err != nil) != s.wantErr {
			t.Fatalf("step %d → %s: err = %v, wantErr %v", i, s.to, err, s.wantErr)
		}
		if s.wantErr && !errors.Is(err, store.ErrConflict) {
			t.Fatalf("step %d: err = %v, want ErrConflict", i, err)
		}
		if r, _ := st.Referral(ctx, "ref_A"); !s.wantErr && r.Status != s.to {
			t.Fatalf("step %d: status = %s", i, r.Status)
		}
	}
	ids, err := candidateIDs(ctx, t, st, referral.StatusLost, t0.Add(time.Hour), 10)
	if err != nil || len(ids) != 1 || ids[0] != "ref_A" {
		t.Fatalf("ReferralsByStatus(lost) = %v, %v", ids, err)
	}
	if ids, _ := candidateIDs(ctx, t, st, referral.StatusReceived, t0.Add(time.Hour), 10); len(ids) != 0 {
		t.Fatalf("the status index still lists it as received: %v", ids)
	}
}

func TestMilestonesOnlyMoveForwardAndWaitSeesThem(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	create(t, st, newReferral("ref_A", "a@a.example", ""))
	r, err := st.RecordDeal(ctx, "ref_A", referral.DealUpdate{Milestones: []string{"qualified"}, Provider: "hubspot", RecordID: "42", AmountMinor: 1200000, Currency: "USD"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Milestones["qualified"].Equal(t0) || r.DealAmountMinor != 1200000 || r.CRMRecordID != "42" {
		t.Fatalf("after first record: %+v", r)
	}
	// Reported again later (a redelivery, or the deal moving back and forth):
	// the first time is kept.
	r, err = st.RecordDeal(ctx, "ref_A", referral.DealUpdate{Milestones: []string{"qualified", "won"}}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Milestones["qualified"].Equal(t0) || !r.Milestones["won"].Equal(t0.Add(time.Hour)) {
		t.Fatalf("milestones = %v", r.Milestones)
	}
	// The wait step sees milestones recorded before it stored its token.
	w, err := st.SetWait(ctx, "ref_A", "won", "token-1", t0.Add(2*time.Hour))
	if err != nil || w.WaitToken != "token-1" || !w.Reached("won") {
		t.Fatalf("SetWait = %+v, %v", w, err)
	}
	l1, _ := st.RecordDeal(ctx, "ref_A", referral.DealUpdate{Lost: true, LostReason: "lost"}, t0.Add(3*time.Hour))
	l2, _ := st.RecordDeal(ctx, "ref_A", referral.DealUpdate{Lost: true, LostReason: "deleted"}, t0.Add(4*time.Hour))
	if l1.LostAt == nil || !l2.LostAt.Equal(*l1.LostAt) || l2.LostReason != "lost" {
		t.Fatalf("lost must keep its first time and reason: %v %q", l2.LostAt, l2.LostReason)
	}
	if _, err := st.RecordDeal(ctx, "ref_missing", referral.DealUpdate{Milestones: []string{"won"}}, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RecordDeal on a missing referral: %v", err)
	}
}

func TestEventsAreClaimedThenApplied(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	applied, err := st.ClaimEvent(ctx, "hubspot", "1", t0)
	if err != nil || applied {
		t.Fatalf("first claim: %v %v", applied, err)
	}
	// Not finished (the delivery failed half-way): a redelivery claims it again.
	if applied, _ := st.ClaimEvent(ctx, "hubspot", "1", t0); applied {
		t.Fatal("an unfinished event must be claimable again, not a duplicate")
	}
	if err := st.FinishEvent(ctx, "hubspot", "1", "milestone", "ref_A", t0); err != nil {
		t.Fatal(err)
	}
	if applied, _ := st.ClaimEvent(ctx, "hubspot", "1", t0); !applied {
		t.Fatal("a finished event must be a duplicate")
	}
	// Event ids are per provider.
	if applied, _ := st.ClaimEvent(ctx, "pipedrive", "1", t0); applied {
		t.Fatal("pipedrive event 1 is not hubspot event 1")
	}
	if state, outcome, _ := storetest.EventOutcome(ctx, storetest.DB(t), st.Table(), "hubspot", "1"); state != "applied" || outcome != "milestone" {
		t.Fatalf("EventOutcome = %q %q", state, outcome)
	}
}

func TestFirstLinkWins(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	if _, err := st.Link(ctx, "hubspot", "9"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Link before any: %v", err)
	}
	var wg sync.WaitGroup
	got := make([]string, 10)
	for i := range got {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			got[i], _ = st.PutLink(ctx, "hubspot", "9", fmt.Sprintf("ref_%d", i), t0)
		}(i)
	}
	wg.Wait()
	winner, _ := st.Link(ctx, "hubspot", "9")
	for i, g := range got {
		if g != winner {
			t.Fatalf("PutLink %d answered %q, but the link is %q", i, g, winner)
		}
	}
}

func reward(referralID, milestone, party string, amount int64) rewards.Reward {
	id := rewards.RewardID(referralID, milestone, party)
	return rewards.Reward{ID: id, ReferralID: referralID, ProgramID: "p1", Milestone: milestone, Party: party, Kind: "cash",
		AmountMinor: amount, Currency: "USD", Status: rewards.StatusOnHold, CreatedAt: t0, UpdatedAt: t0, IdempotencyKey: rewards.IdempotencyKey(id)}
}

// Invariant 2: a reward is written once and paid to the ledger once, even
// when the pay step runs many times at once (Step Functions retries,
// redrives).
func TestRewardsArePaidExactlyOnce(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	rw := []rewards.Reward{reward("ref_A", "won", "referrer", 50000), reward("ref_A", "won", "referee", 100000)}
	for i := 0; i < 3; i++ {
		stored, err := st.CreateRewards(ctx, "ref_A", "won", rw, nil, nil)
		if err != nil || len(stored) != 2 {
			t.Fatalf("CreateRewards #%d = %d rewards, %v", i, len(stored), err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	paid := 0
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := st.PayReward(ctx, rw[0], rewards.PayableEntry(rw[0], t0), rewards.Event(events.RewardPaid, rw[0], "test", t0), t0, rewards.DealOpen)
			if err != nil {
				t.Errorf("PayToLedger: %v", err)
			}
			if ok {
				mu.Lock()
				paid++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if paid != 1 {
		t.Fatalf("paid %d times, want exactly 1", paid)
	}
	entries, err := st.LedgerEntries(ctx, rw[0].ID)
	if err != nil || len(entries) != 1 || entries[0].AmountMinor != 50000 {
		t.Fatalf("ledger entries = %+v, %v", entries, err)
	}
	period, err := st.LedgerPeriod(ctx, "2026-11")
	if err != nil || len(period) != 1 {
		t.Fatalf("LedgerPeriod = %d entries, %v", len(period), err)
	}
	// A voided reward can no longer be paid.
	if changed, err := st.SetRewardStatus(ctx, rw[1], []rewards.Status{rewards.StatusOnHold}, rewards.StatusVoided, "lost", rewards.Event(events.RewardVoided, rw[1], "test", t0), t0); !changed || err != nil {
		t.Fatalf("void: %v %v", changed, err)
	}
	if ok, err := st.PayReward(ctx, rw[1], rewards.PayableEntry(rw[1], t0), rewards.Event(events.RewardPaid, rw[1], "test", t0), t0, rewards.DealOpen); ok || err != nil {
		t.Fatalf("paying a voided reward: %v %v", ok, err)
	}
	// A paid reward is never voided.
	if changed, _ := st.SetRewardStatus(ctx, rw[0], []rewards.Status{rewards.StatusPending, rewards.StatusOnHold}, rewards.StatusVoided, "lost", rewards.Event(events.RewardVoided, rw[0], "test", t0), t0); changed {
		t.Fatal("a paid reward was voided")
	}
	all, _ := st.Rewards(ctx, "ref_A")
	status := map[string]rewards.Status{}
	for _, r := range all {
		status[r.Party] = r.Status
	}
	if status["referrer"] != rewards.StatusPaid || status["referee"] != rewards.StatusVoided {
		t.Fatalf("statuses = %v", status)
	}
}

func TestProgramVersionsAreImmutable(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	p := &program.Program{Schema: 1, ID: "p1", Name: "One", Currency: "USD",
		Milestones: []program.Milestone{{Name: "won", DeadlineSeconds: 60, Rewards: []program.Reward{{Party: "referrer", Kind: "cash", AmountMinor: 100}}}}}
	v1, err := st.PublishProgram(ctx, p, t0)
	if err != nil || v1 != 1 {
		t.Fatalf("publish = %d, %v", v1, err)
	}
	if v, _ := st.PublishProgram(ctx, p, t0); v != 1 {
		t.Fatalf("publishing the same content made version %d", v)
	}
	changed := *p
	changed.Milestones = []program.Milestone{{Name: "won", DeadlineSeconds: 60, Rewards: []program.Reward{{Party: "referrer", Kind: "cash", AmountMinor: 999}}}}
	if v, err := st.PublishProgram(ctx, &changed, t0); v != 2 || err != nil {
		t.Fatalf("changed program → version %d, %v", v, err)
	}
	old, err := st.ProgramVersion(ctx, "p1", 1)
	if err != nil || old.Milestones[0].Rewards[0].AmountMinor != 100 || old.Version != 1 {
		t.Fatalf("version 1 changed: %+v %v", old, err)
	}
	cur, _ := st.CurrentProgram(ctx, "p1")
	if cur.Version != 2 || cur.Milestones[0].Rewards[0].AmountMinor != 999 {
		t.Fatalf("current = %+v", cur)
	}
	if _, err := st.CurrentProgram(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown program: %v", err)
	}
}

func TestReferralIsCountedOnce(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	for i, id := range []string{"ref_A", "ref_B"} {
		create(t, st, newReferral(id, fmt.Sprintf("p%d@x%d.example", i, i), ""))
	}
	for i := 0; i < 3; i++ { // a retried verify step counts nothing more
		c, err := st.CountReferral(ctx, "ref_A", "p1", "DEMO", t0)
		if err != nil || c.Today != 1 || c.ThisMonth != 1 {
			t.Fatalf("count #%d = %+v, %v", i, c, err)
		}
	}
	c, _ := st.CountReferral(ctx, "ref_B", "p1", "DEMO", t0)
	if c.Today != 2 || c.ThisMonth != 2 {
		t.Fatalf("second referral: %+v", c)
	}
	c, _ = st.CountReferral(ctx, "ref_B", "p1", "DEMO", t0.Add(24*time.Hour))
	if c.Today != 0 || c.ThisMonth != 2 {
		t.Fatalf("next day (already counted): %+v", c)
	}
}

func TestReviewDecisionIsRecordedOnce(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	create(t, st, newReferral("ref_A", "a@a.example", ""))
	if _, decided, _ := st.RecordReview(ctx, "ref_A", "approved", "", t0); decided {
		t.Fatal("a referral not in review cannot be decided")
	}
	st.Transition(ctx, "ref_A", referral.StatusVerifying, t0, nil, events.New(events.ReferralVerifying, "ref_A", "test", t0))
	st.Transition(ctx, "ref_A", referral.StatusInReview, t0, nil, events.New(events.ReferralVerifying, "ref_A", "test", t0))
	r, decided, err := st.RecordReview(ctx, "ref_A", "approved", "looks good", t0)
	if err != nil || !decided || r.ReviewOutcome != "approved" {
		t.Fatalf("first decision: %+v %v %v", r, decided, err)
	}
	r, decided, _ = st.RecordReview(ctx, "ref_A", "rejected", "", t0)
	if decided || r.ReviewOutcome != "approved" {
		t.Fatalf("second decision overwrote the first: %q", r.ReviewOutcome)
	}
	w, _ := st.SetReviewWait(ctx, "ref_A", "tok", t0)
	if w.ReviewToken != "tok" || w.ReviewOutcome != "approved" {
		t.Fatalf("SetReviewWait = %+v", w)
	}
}

// An Idempotency-Key past its 24 h is free again even before DynamoDB's TTL
// has deleted the record (TTL deletion is lazy, up to days late).
func TestExpiredIdempotencyKeyCanBeReused(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	old := &apigw.IdempotencyRecord{Key: "k", RequestHash: "h1", Status: 202, Body: "first", ExpiresAt: t0.Add(24 * time.Hour)}
	if err := st.CreateReferral(ctx, store.NewReferral{Referral: newReferral("ref_A", "a@a.example", ""), Idempotency: old, Event: events.New(events.ReferralReceived, "ref_A", "test", t0)}); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(30 * time.Hour)
	r := newReferral("ref_B", "b@b.example", "")
	r.CreatedAt, r.UpdatedAt = later, later
	fresh := &apigw.IdempotencyRecord{Key: "k", RequestHash: "h2", Status: 202, Body: "second", ExpiresAt: later.Add(24 * time.Hour)}
	if err := st.CreateReferral(ctx, store.NewReferral{Referral: r, Idempotency: fresh, Event: events.New(events.ReferralReceived, r.ID, "test", t0)}); err != nil {
		t.Fatalf("reusing an expired key: %v", err)
	}
	got, err := st.Idempotency(ctx, "k", later)
	if err != nil || got.Body != "second" {
		t.Fatalf("Idempotency = %+v, %v", got, err)
	}
}

// A refund after payout never changes the paid reward: it adds one
// reversal entry, once, and only for a reward that was paid.
func TestReversalIsANewLedgerEntryWrittenOnce(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	paid, held := reward("ref_A", "won", "referrer", 50000), reward("ref_A", "won", "referee", 100000)
	if _, err := st.CreateRewards(ctx, "ref_A", "won", []rewards.Reward{paid, held}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.PayReward(ctx, paid, rewards.PayableEntry(paid, t0), rewards.Event(events.RewardPaid, paid, "test", t0), t0, rewards.DealOpen); !ok || err != nil {
		t.Fatalf("pay: %v %v", ok, err)
	}
	later := t0.Add(40 * 24 * time.Hour)
	for i := 0; i < 3; i++ {
		ok, err := st.ReverseReward(ctx, paid, rewards.ReversalEntry(paid, later), rewards.Event(events.RewardReversed, paid, "test", later))
		if err != nil || ok != (i == 0) {
			t.Fatalf("reverse #%d = %v, %v; want only the first to write", i, ok, err)
		}
	}
	if ok, _ := st.ReverseReward(ctx, held, rewards.ReversalEntry(held, later), rewards.Event(events.RewardReversed, held, "test", later)); ok {
		t.Fatal("an unpaid reward was reversed")
	}
	entries, _ := st.LedgerEntries(ctx, paid.ID)
	sum := int64(0)
	for _, e := range entries {
		sum += e.AmountMinor
	}
	if len(entries) != 2 || sum != 0 {
		t.Fatalf("entries = %+v (sum %d), want payable + reversal summing to 0", entries, sum)
	}
	if dec, _ := st.LedgerPeriod(ctx, "2027-01"); len(dec) != 1 || dec[0].Type != rewards.EntryReversal {
		t.Fatalf("the reversal belongs to the period it happened in: %+v", dec)
	}
	rs, _ := st.MilestoneRewards(ctx, "ref_A", "won")
	for _, r := range rs {
		if r.Party == "referrer" && r.Status != rewards.StatusPaid {
			t.Fatalf("the paid reward changed to %s", r.Status)
		}
	}
}

// A milestone's deadline runs from the first time any execution of the
// referral began waiting for it.
func TestStartWaitKeepsTheFirstTime(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	create(t, st, newReferral("ref_A", "a@a.example", ""))
	first, err := st.StartWait(ctx, "ref_A", "won", t0)
	if err != nil || !first.Equal(t0) {
		t.Fatalf("first = %v, %v", first, err)
	}
	again, err := st.StartWait(ctx, "ref_A", "won", t0.Add(300*24*time.Hour))
	if err != nil || !again.Equal(t0) {
		t.Fatalf("a later execution moved the start to %v (%v)", again, err)
	}
	other, _ := st.StartWait(ctx, "ref_A", "renewed", t0.Add(time.Hour))
	if !other.Equal(t0.Add(time.Hour)) {
		t.Fatalf("milestones share a start: %v", other)
	}
	if _, err := st.StartWait(ctx, "ref_missing", "won", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing referral: %v", err)
	}
}

// Every status change writes its event in the same transaction: a change
// that happens has its event, a change refused (a conflict, a repeat of a
// terminal status, a reward that moved already) leaves none.
func TestStatusChangesRecordTheirEventInTheSameWrite(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	r := newReferral("ref_A", "a@a.example", "")
	if err := st.CreateReferral(ctx, store.NewReferral{Referral: r, Event: events.New(events.ReferralReceived, r.ID, "intake", t0)}); err != nil {
		t.Fatal(err)
	}
	move := func(to referral.Status) error {
		return st.Transition(ctx, r.ID, to, t0, nil, events.New(events.ReferralClosed, r.ID, "test", t0).WithStatus(string(to)))
	}
	if err := move(referral.StatusCompleted); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("received → completed: %v", err)
	}
	if err := move(referral.StatusRejected); err != nil {
		t.Fatal(err)
	}
	if err := move(referral.StatusRejected); err != nil { // terminal repeated: no-op
		t.Fatal(err)
	}
	rw := rewards.Reward{ID: rewards.RewardID(r.ID, "won", "referrer"), ReferralID: r.ID, ProgramID: "p", Milestone: "won", Party: "referrer",
		Kind: "cash", AmountMinor: 100, Currency: "USD", Status: rewards.StatusOnHold, HoldUntil: t0, CreatedAt: t0, UpdatedAt: t0}
	created := func(rw rewards.Reward) events.Event {
		return rewards.Event(events.RewardCreated, rw, "test", t0.Add(time.Second))
	}
	if _, err := st.CreateRewards(ctx, r.ID, "won", []rewards.Reward{rw}, nil, created); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the second void finds it voided: no event
		ev := rewards.Event(events.RewardVoided, rw, "test", t0.Add(2*time.Second)).WithStatus(string(rewards.StatusVoided))
		if _, err := st.SetRewardStatus(ctx, rw, []rewards.Status{rewards.StatusOnHold}, rewards.StatusVoided, "lost", ev, t0); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := st.Events(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, string(ev.Type)+":"+ev.Status)
	}
	want := []string{"referral.received:", "referral.closed:rejected", "reward.created:on_hold", "reward.voided:voided"}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// candidateIDs lists the referrals the status index holds in status whose
// last change is before cutoff, oldest first.
func candidateIDs(ctx context.Context, t *testing.T, st *store.Store, status referral.Status, cutoff time.Time, limit int) ([]string, error) {
	t.Helper()
	cs, err := st.Candidates(ctx, []referral.Status{status}, cutoff, limit)
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids, err
}
