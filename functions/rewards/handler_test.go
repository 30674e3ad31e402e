package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/referflow/referflow/internal/activity"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/rewardstest"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

const programYAML = `
schema: 1
id: partners
currency: USD
approval: {auto_below: 1000}
milestones:
  - name: qualified
    deadline: 90d
    hold: 0
    rewards:
      - {party: referrer, kind: cash, amount: 100}
  - name: won
    deadline: 365d
    hold: 30d
    rewards:
      - {party: referrer, kind: cash, amount: 500}
      - {party: referee, kind: discount, amount: 1000}
  - name: renewed
    deadline: 365d
    rewards: []
`

// fakeStore serves the referrals and programs the steps read; the rewards
// themselves live in an in-memory rewards repository with the store's
// semantics (create-if-absent, conditional status changes, exactly-once
// payment, events written with each change).
type fakeStore struct {
	referrals map[string]*referral.Referral
	programs  map[string]*program.Program
	repo      *rewardstest.Repo
}

func (f *fakeStore) Referral(_ context.Context, id string) (*referral.Referral, error) {
	r, ok := f.referrals[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	c := *r
	return &c, nil
}

func (f *fakeStore) ProgramVersion(_ context.Context, id string, v int) (*program.Program, error) {
	p, ok := f.programs[fmt.Sprintf("%s#%d", id, v)]
	if !ok {
		return nil, store.ErrNotFound
	}
	return p, nil
}

// reward is the stored reward of party at milestone of the test referral.
func (f *fakeStore) reward(milestone, party string) rewards.Reward {
	rw, _ := f.repo.Get(refID, milestone, party)
	return rw
}

// entries are the payable ledger entries, by reward id.
func (f *fakeStore) entries() map[string]rewards.Entry {
	out := map[string]rewards.Entry{}
	for _, e := range f.repo.Entries() {
		if e.Type == rewards.EntryPayable {
			out[e.RewardID] = e
		}
	}
	return out
}

var (
	t0    = time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)
	refID = "ref_01J0000000000000000000000R"
)

func setup(t *testing.T) (*Handler, *fakeStore) {
	p, err := program.Load([]byte(programYAML))
	if err != nil {
		t.Fatal(err)
	}
	p.Version = 2
	st := &fakeStore{
		referrals: map[string]*referral.Referral{refID: {ID: refID, ProgramID: "partners", ProgramVersion: 2, ReferrerCode: "ann-42",
			Status: referral.StatusInProgress, Milestones: map[string]time.Time{"qualified": t0, "won": t0}}},
		programs: map[string]*program.Program{"partners#2": p},
		repo:     rewardstest.New(),
	}
	svc := &rewards.Service{Repo: st.repo, Now: func() time.Time { return t0 }}
	return &Handler{Store: st, Rewards: svc, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, st
}

func run(h *Handler, milestone, step string) (workflow.RewardsOutput, error) {
	return h.Handle(context.Background(), workflow.RewardsInput{ReferralID: refID, Milestone: milestone, Step: step})
}

// noLimitsNoRank: this program has no caps and no tiers, so no reservation
// and no rank are ever asked for.
func noLimitsNoRank(t *testing.T, st *fakeStore) {
	t.Helper()
	if l := st.repo.Limits(); len(l) != 0 {
		t.Fatalf("unexpected reservations %+v for a program without caps", l)
	}
	if _, ranked := st.repo.Rank(refID); ranked {
		t.Fatal("a program without tiers ranked the referral")
	}
}

func TestHold(t *testing.T) {
	cases := []struct {
		milestone string
		want      map[string]rewards.Reward // by party
		held      int
	}{
		{"qualified", map[string]rewards.Reward{
			"referrer": {Kind: "cash", AmountMinor: 10000, Status: rewards.StatusPending, HoldUntil: t0},
		}, 0},
		{"won", map[string]rewards.Reward{
			"referrer": {Kind: "cash", AmountMinor: 50000, Status: rewards.StatusOnHold, HoldUntil: t0.Add(30 * 24 * time.Hour)},
			"referee":  {Kind: "discount", AmountMinor: 100000, Status: rewards.StatusOnHold, HoldUntil: t0.Add(30 * 24 * time.Hour), NeedsApproval: true},
		}, 2},
		{"renewed", map[string]rewards.Reward{}, 0},
	}
	for _, c := range cases {
		t.Run(c.milestone, func(t *testing.T) {
			h, st := setup(t)
			out, err := run(h, c.milestone, "hold")
			if err != nil {
				t.Fatal(err)
			}
			if out.ReferralID != refID || out.Milestone != c.milestone || out.Held != c.held || len(out.RewardIDs) != len(c.want) || out.Paid != 0 {
				t.Fatalf("output %+v", out)
			}
			if n := len(st.repo.All()); n != len(c.want) {
				t.Fatalf("%d rewards stored, want %d", n, len(c.want))
			}
			for party, w := range c.want {
				got, ok := st.repo.Get(refID, c.milestone, party)
				if !ok {
					t.Fatalf("no %s reward", party)
				}
				wantID := rewards.RewardID(refID, c.milestone, party)
				if got.ID != wantID || got.IdempotencyKey != rewards.IdempotencyKey(wantID) || got.ProgramID != "partners" ||
					got.ReferrerCode != "ann-42" || got.Currency != "USD" || got.Kind != w.Kind || got.AmountMinor != w.AmountMinor ||
					got.Status != w.Status || !got.HoldUntil.Equal(w.HoldUntil) || got.NeedsApproval != w.NeedsApproval || !got.CreatedAt.Equal(t0) {
					t.Fatalf("%s reward %+v\nwant %+v (id %s)", party, got, w, wantID)
				}
				if !slices.Contains(out.RewardIDs, wantID) {
					t.Fatalf("output ids %v lack %s", out.RewardIDs, wantID)
				}
			}
			checkCreatedEvents(t, st, c.milestone, len(c.want))
			noLimitsNoRank(t, st)
			// Repeated: nothing new.
			creates, evs := st.repo.Created(), len(st.repo.AllEvents())
			h.Rewards.Now = func() time.Time { return t0.Add(time.Hour) }
			again, err := run(h, c.milestone, "hold")
			if err != nil || st.repo.Created() != creates || len(st.repo.AllEvents()) != evs || len(again.RewardIDs) != len(out.RewardIDs) || again.Held != out.Held {
				t.Fatalf("second hold: %+v %v (creates %d→%d)", again, err, creates, st.repo.Created())
			}
			for _, rw := range st.repo.All() {
				if !rw.CreatedAt.Equal(t0) {
					t.Fatal("a reward was rewritten")
				}
			}
		})
	}
}

// checkCreatedEvents: one reward.created event per reward recorded (the
// activity line of each), by the workflow, in the same write.
func checkCreatedEvents(t *testing.T, st *fakeStore, milestone string, n int) {
	t.Helper()
	evs := st.repo.AllEvents()
	if len(evs) != n {
		t.Fatalf("%d events, want %d", len(evs), n)
	}
	for _, ev := range evs {
		rw, ok := st.repo.Get(refID, ev.Get("milestone"), ev.Get("party"))
		line := activity.Describe(ev)
		if !ok || ev.Type != events.RewardCreated || ev.RewardID != rw.ID || ev.Get("milestone") != milestone ||
			ev.Status != string(rw.Status) || line.Actor != events.ActorWorkflow || !strings.HasPrefix(line.Detail, "Reward "+rw.ID+" for the "+rw.Party) {
			t.Errorf("event %+v, activity %q", ev, line.Detail)
		}
	}
}

func TestHoldErrors(t *testing.T) {
	h, st := setup(t)
	if _, err := run(h, "nope", "hold"); !errors.Is(err, rewards.ErrUnknownMilestone) {
		t.Fatalf("unknown milestone: %v", err)
	}
	var bad messages.InvokeResponse_Error
	if _, err := run(h, "won", "dance"); !errors.As(err, &bad) || bad.Type != workflow.ErrBadInput {
		t.Fatalf("unknown step: %v, want %s (not retried)", err, workflow.ErrBadInput)
	}
	lost := t0
	st.referrals[refID].LostAt, st.referrals[refID].LostReason = &lost, "deleted"
	_, err := run(h, "won", "hold")
	var ie messages.InvokeResponse_Error
	if !errors.As(err, &ie) || ie.Type != "Referral.Lost" || !strings.Contains(ie.Message, "deleted before rewards were computed") {
		t.Fatalf("err = %#v", err)
	}
	if len(st.repo.All()) != 0 || len(st.repo.AllEvents()) != 0 {
		t.Fatal("rewards created for a lost deal")
	}
}

func TestPayOnce(t *testing.T) {
	h, st := setup(t)
	if _, err := run(h, "qualified", "hold"); err != nil {
		t.Fatal(err)
	}
	out, err := run(h, "qualified", "pay")
	if err != nil || out.Paid != 1 || len(out.RewardIDs) != 1 {
		t.Fatalf("pay: %+v %v", out, err)
	}
	id := rewards.RewardID(refID, "qualified", "referrer")
	e, ok := st.entries()[id]
	if !ok || e.Type != rewards.EntryPayable || e.AmountMinor != 10000 || e.Currency != "USD" || e.Period != "2026-09" || e.ID != id+":payable" ||
		e.Method != rewards.MethodLedger {
		t.Fatalf("ledger entry %+v", e)
	}
	if rw := st.reward("qualified", "referrer"); rw.Status != rewards.StatusPaid {
		t.Fatalf("reward %s", rw.Status)
	}
	paid := lastEvent(st)
	if paid.Type != events.RewardPaid || paid.RewardID != id || paid.Actor != events.ActorWorkflow || paid.Get("method") != rewards.MethodLedger ||
		activity.Describe(paid).Detail != "Reward "+id+" paid to the ledger: 100.00 USD to the referrer" {
		t.Fatalf("paid event %+v: %q", paid, activity.Describe(paid).Detail)
	}
	evs := len(st.repo.AllEvents())
	again, err := run(h, "qualified", "pay")
	if err != nil || again.Paid != 0 || len(st.repo.Entries()) != 1 || len(st.repo.AllEvents()) != evs {
		t.Fatalf("second pay: %+v %v, %d entries", again, err, len(st.repo.Entries()))
	}
}

func lastEvent(st *fakeStore) events.Event {
	evs := st.repo.AllEvents()
	if len(evs) == 0 {
		return events.Event{}
	}
	return evs[len(evs)-1]
}

func TestPayNeedsApproval(t *testing.T) {
	h, st := setup(t)
	if _, err := run(h, "won", "hold"); err != nil {
		t.Fatal(err)
	}
	h.Rewards.Now = func() time.Time { return t0.Add(30 * 24 * time.Hour) }
	n := len(st.repo.AllEvents())
	out, err := run(h, "won", "pay")
	if err != nil || out.Paid != 1 {
		t.Fatalf("pay: %+v %v", out, err)
	}
	referee := st.reward("won", "referee")
	if referee.Status != rewards.StatusPending || referee.StatusReason != "awaiting approval" {
		t.Fatalf("reward needing approval: %s (%s)", referee.Status, referee.StatusReason)
	}
	if _, paid := st.entries()[referee.ID]; paid {
		t.Fatal("a reward needing approval was paid")
	}
	if _, paid := st.entries()[rewards.RewardID(refID, "won", "referrer")]; !paid {
		t.Fatal("the referrer reward was not paid")
	}
	var types []string
	for _, ev := range st.repo.AllEvents()[n:] {
		types = append(types, string(ev.Type)+" "+ev.Get("party"))
	}
	if !slices.Equal(types, []string{"reward.awaiting_approval referee", "reward.paid referrer"}) {
		t.Fatalf("events %v", types)
	}
	// Once approved (by the admin API), pay pays it.
	referee.Status = rewards.StatusApproved
	st.repo.Put(referee)
	out, err = run(h, "won", "pay")
	if err != nil || out.Paid != 1 || len(st.entries()) != 2 {
		t.Fatalf("pay after approval: %+v %v", out, err)
	}
}

func TestPayLostVoids(t *testing.T) {
	h, st := setup(t)
	if _, err := run(h, "won", "hold"); err != nil {
		t.Fatal(err)
	}
	// The referrer reward was paid already by some earlier run; it stays paid.
	paid := st.reward("won", "referrer")
	paid.Status = rewards.StatusPaid
	st.repo.Put(paid)
	lost := t0.Add(time.Hour)
	st.referrals[refID].LostAt, st.referrals[refID].LostReason = &lost, "refunded"
	n := len(st.repo.AllEvents())
	out, err := run(h, "won", "pay")
	var ie messages.InvokeResponse_Error
	if !errors.As(err, &ie) || ie.Type != workflow.ErrLost {
		t.Fatalf("err = %#v, want Referral.Lost", err)
	}
	if out.Voided != 1 || out.Paid != 0 {
		t.Fatalf("output %+v", out)
	}
	if st.reward("won", "referee").Status != rewards.StatusVoided || st.reward("won", "referrer").Status != rewards.StatusPaid {
		t.Fatalf("statuses: referee %s, referrer %s", st.reward("won", "referee").Status, st.reward("won", "referrer").Status)
	}
	if len(st.repo.Entries()) != 0 {
		t.Fatal("paid a lost deal")
	}
	referee := st.reward("won", "referee")
	if evs := st.repo.AllEvents()[n:]; len(evs) != 1 || evs[0].Type != events.RewardVoided || evs[0].RewardID != referee.ID ||
		activity.Describe(evs[0]).Detail != "Reward "+referee.ID+" voided: deal refunded during the holding period" {
		t.Fatalf("events %+v", evs)
	}
	// Retried: nothing more voided, same error.
	out, err = run(h, "won", "pay")
	if !errors.As(err, &ie) || out.Voided != 0 || len(st.repo.AllEvents()) != n+1 {
		t.Fatalf("retry: %+v %v", out, err)
	}
}

func TestStoreErrorsPropagate(t *testing.T) {
	h, st := setup(t)
	boom := errors.New("throttled")
	st.repo.Fail(boom)
	if _, err := run(h, "won", "hold"); !errors.Is(err, boom) {
		t.Fatalf("hold: %v", err)
	}
	if _, err := run(h, "won", "pay"); !errors.Is(err, boom) {
		t.Fatalf("pay: %v", err)
	}
	if _, err := h.Handle(context.Background(), workflow.RewardsInput{ReferralID: "ref_missing", Milestone: "won", Step: "hold"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing referral: %v", err)
	}
}

// The holding period waits only the hold left: a step repeated later (a
// retry, or a referral continued in a new execution) does not start the
// hold again.
func TestHoldSecondsLeft(t *testing.T) {
	h, _ := setup(t)
	out, err := run(h, "won", "hold")
	if err != nil || out.HoldSecondsLeft != 30*24*3600 {
		t.Fatalf("first hold: %+v %v", out, err)
	}
	h.Rewards.Now = func() time.Time { return t0.Add(20 * 24 * time.Hour) }
	if out, _ = run(h, "won", "hold"); out.HoldSecondsLeft != 10*24*3600 {
		t.Fatalf("20 days in: %d s left, want 10 days", out.HoldSecondsLeft)
	}
	h.Rewards.Now = func() time.Time { return t0.Add(45 * 24 * time.Hour) }
	if out, _ = run(h, "won", "hold"); out.HoldSecondsLeft != 0 {
		t.Fatalf("after the hold: %d s left", out.HoldSecondsLeft)
	}
	if out, _ = run(h, "qualified", "hold"); out.HoldSecondsLeft != 0 {
		t.Fatalf("no hold: %d s left", out.HoldSecondsLeft)
	}
}
