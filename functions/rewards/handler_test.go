package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/referflow/referflow/internal/ledger"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
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

// fakeStore mirrors store.Store's reward semantics: create-if-absent, and
// conditional status changes and ledger payment.
type fakeStore struct {
	referrals  map[string]*referral.Referral
	programs   map[string]*program.Program
	rewards    map[string]ledger.Reward // referral#milestone#party
	entries    map[string]ledger.Entry  // reward id
	activities []store.Activity
	creates    int
	err        error // every write fails with it when set
}

func rkey(r ledger.Reward) string { return r.ReferralID + "#" + r.Milestone + "#" + r.Party }

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

// CreateRewardsReserved: this program has no caps, so no reservation is
// ever asked for; rewards are created all or nothing, once.
func (f *fakeStore) CreateRewardsReserved(ctx context.Context, referralID, milestone string, rws []ledger.Reward, res []store.Reservation, describe func(ledger.Reward) store.Activity) ([]ledger.Reward, error) {
	if f.err != nil {
		return nil, f.err
	}
	if len(res) != 0 {
		return nil, fmt.Errorf("unexpected reservations %+v for a program without caps", res)
	}
	var acts []store.Activity
	for _, r := range rws {
		acts = append(acts, describe(r))
	}
	exists := false
	for _, r := range rws {
		if _, ok := f.rewards[rkey(r)]; ok {
			exists = true
		}
	}
	if !exists && len(rws) > 0 { // one transaction: all or nothing
		for _, r := range rws {
			f.rewards[rkey(r)] = r
			f.creates++
		}
		f.activities = append(f.activities, acts...)
	}
	return f.MilestoneRewards(ctx, referralID, milestone)
}

func (f *fakeStore) RankReferral(context.Context, string, string, string, string, time.Time) (int, error) {
	return 0, errors.New("a program without tiers needs no rank")
}

func (f *fakeStore) MilestoneRewards(_ context.Context, referralID, milestone string) ([]ledger.Reward, error) {
	var out []ledger.Reward
	for _, r := range f.rewards {
		if r.ReferralID == referralID && r.Milestone == milestone {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Party < out[j].Party })
	return out, nil
}

func (f *fakeStore) SetRewardStatus(_ context.Context, r ledger.Reward, from []ledger.Status, to ledger.Status, reason string, now time.Time) (bool, error) {
	if f.err != nil {
		return false, f.err
	}
	cur, ok := f.rewards[rkey(r)]
	if !ok {
		return false, nil
	}
	for _, s := range from {
		if cur.Status == s {
			cur.Status, cur.StatusReason, cur.UpdatedAt = to, reason, now
			f.rewards[rkey(r)] = cur
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeStore) PayToLedger(_ context.Context, r ledger.Reward, e ledger.Entry, act store.Activity, now time.Time) (bool, error) {
	if f.err != nil {
		return false, f.err
	}
	cur, ok := f.rewards[rkey(r)]
	if !ok || !cur.Status.Payable() {
		return false, nil
	}
	if _, dup := f.entries[e.RewardID]; dup {
		return false, nil
	}
	cur.Status, cur.PaidAt = ledger.StatusPaid, &now
	f.rewards[rkey(r)] = cur
	f.entries[e.RewardID] = e
	f.activities = append(f.activities, act)
	return true, nil
}

func (f *fakeStore) AddActivity(_ context.Context, _ string, acts ...store.Activity) error {
	if f.err != nil {
		return f.err
	}
	f.activities = append(f.activities, acts...)
	return nil
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
		rewards:  map[string]ledger.Reward{}, entries: map[string]ledger.Entry{},
	}
	return &Handler{Store: st, Now: func() time.Time { return t0 }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, st
}

func run(h *Handler, milestone, step string) (workflow.RewardsOutput, error) {
	return h.Handle(context.Background(), workflow.RewardsInput{ReferralID: refID, Milestone: milestone, Step: step})
}

func TestHold(t *testing.T) {
	cases := []struct {
		milestone string
		want      map[string]ledger.Reward // by party
		held      int
	}{
		{"qualified", map[string]ledger.Reward{
			"referrer": {Kind: "cash", AmountMinor: 10000, Status: ledger.StatusPending, HoldUntil: t0},
		}, 0},
		{"won", map[string]ledger.Reward{
			"referrer": {Kind: "cash", AmountMinor: 50000, Status: ledger.StatusOnHold, HoldUntil: t0.Add(30 * 24 * time.Hour)},
			"referee":  {Kind: "discount", AmountMinor: 100000, Status: ledger.StatusOnHold, HoldUntil: t0.Add(30 * 24 * time.Hour), NeedsApproval: true},
		}, 2},
		{"renewed", map[string]ledger.Reward{}, 0},
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
			if len(st.rewards) != len(c.want) {
				t.Fatalf("%d rewards stored, want %d", len(st.rewards), len(c.want))
			}
			for party, w := range c.want {
				got, ok := st.rewards[refID+"#"+c.milestone+"#"+party]
				if !ok {
					t.Fatalf("no %s reward", party)
				}
				wantID := ledger.RewardID(refID, c.milestone, party)
				if got.ID != wantID || got.IdempotencyKey != ledger.IdempotencyKey(wantID) || got.ProgramID != "partners" ||
					got.ReferrerCode != "ann-42" || got.Currency != "USD" || got.Kind != w.Kind || got.AmountMinor != w.AmountMinor ||
					got.Status != w.Status || !got.HoldUntil.Equal(w.HoldUntil) || got.NeedsApproval != w.NeedsApproval || !got.CreatedAt.Equal(t0) {
					t.Fatalf("%s reward %+v\nwant %+v (id %s)", party, got, w, wantID)
				}
			}
			if len(st.activities) != len(c.want) {
				t.Fatalf("%d activity lines", len(st.activities))
			}
			// Repeated: nothing new.
			creates, acts := st.creates, len(st.activities)
			h.Now = func() time.Time { return t0.Add(time.Hour) }
			again, err := run(h, c.milestone, "hold")
			if err != nil || st.creates != creates || len(st.activities) != acts || len(again.RewardIDs) != len(out.RewardIDs) || again.Held != out.Held {
				t.Fatalf("second hold: %+v %v (creates %d→%d)", again, err, creates, st.creates)
			}
			for _, rw := range st.rewards {
				if !rw.CreatedAt.Equal(t0) {
					t.Fatal("a reward was rewritten")
				}
			}
		})
	}
}

func TestHoldErrors(t *testing.T) {
	h, st := setup(t)
	if _, err := run(h, "nope", "hold"); err == nil {
		t.Fatal("unknown milestone accepted")
	}
	if _, err := run(h, "won", "dance"); err == nil {
		t.Fatal("unknown step accepted")
	}
	lost := t0
	st.referrals[refID].LostAt, st.referrals[refID].LostReason = &lost, "deleted"
	_, err := run(h, "won", "hold")
	var ie messages.InvokeResponse_Error
	if !errors.As(err, &ie) || ie.Type != "Referral.Lost" {
		t.Fatalf("err = %#v", err)
	}
	if len(st.rewards) != 0 {
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
	id := ledger.RewardID(refID, "qualified", "referrer")
	e, ok := st.entries[id]
	if !ok || e.Type != ledger.EntryPayable || e.AmountMinor != 10000 || e.Currency != "USD" || e.Period != "2026-09" || e.ID != id+":payable" {
		t.Fatalf("ledger entry %+v", e)
	}
	if rw := st.rewards[refID+"#qualified#referrer"]; rw.Status != ledger.StatusPaid {
		t.Fatalf("reward %s", rw.Status)
	}
	again, err := run(h, "qualified", "pay")
	if err != nil || again.Paid != 0 || len(st.entries) != 1 {
		t.Fatalf("second pay: %+v %v, %d entries", again, err, len(st.entries))
	}
}

func TestPayNeedsApproval(t *testing.T) {
	h, st := setup(t)
	if _, err := run(h, "won", "hold"); err != nil {
		t.Fatal(err)
	}
	h.Now = func() time.Time { return t0.Add(30 * 24 * time.Hour) }
	out, err := run(h, "won", "pay")
	if err != nil || out.Paid != 1 {
		t.Fatalf("pay: %+v %v", out, err)
	}
	referee := st.rewards[refID+"#won#referee"]
	if referee.Status != ledger.StatusPending || referee.StatusReason != "awaiting approval" {
		t.Fatalf("reward needing approval: %s (%s)", referee.Status, referee.StatusReason)
	}
	if _, paid := st.entries[referee.ID]; paid {
		t.Fatal("a reward needing approval was paid")
	}
	if _, paid := st.entries[ledger.RewardID(refID, "won", "referrer")]; !paid {
		t.Fatal("the referrer reward was not paid")
	}
	// Once approved (by the admin API), pay pays it.
	referee.Status = ledger.StatusApproved
	st.rewards[refID+"#won#referee"] = referee
	out, err = run(h, "won", "pay")
	if err != nil || out.Paid != 1 || len(st.entries) != 2 {
		t.Fatalf("pay after approval: %+v %v", out, err)
	}
}

func TestPayLostVoids(t *testing.T) {
	h, st := setup(t)
	if _, err := run(h, "won", "hold"); err != nil {
		t.Fatal(err)
	}
	// The referrer reward was paid already by some earlier run; it stays paid.
	paid := st.rewards[refID+"#won#referrer"]
	paid.Status = ledger.StatusPaid
	st.rewards[refID+"#won#referrer"] = paid
	lost := t0.Add(time.Hour)
	st.referrals[refID].LostAt, st.referrals[refID].LostReason = &lost, "refunded"
	out, err := run(h, "won", "pay")
	var ie messages.InvokeResponse_Error
	if !errors.As(err, &ie) || ie.Type != workflow.ErrLost {
		t.Fatalf("err = %#v, want Referral.Lost", err)
	}
	if out.Voided != 1 || out.Paid != 0 {
		t.Fatalf("output %+v", out)
	}
	if st.rewards[refID+"#won#referee"].Status != ledger.StatusVoided || st.rewards[refID+"#won#referrer"].Status != ledger.StatusPaid {
		t.Fatalf("statuses: referee %s, referrer %s", st.rewards[refID+"#won#referee"].Status, st.rewards[refID+"#won#referrer"].Status)
	}
	if len(st.entries) != 0 {
		t.Fatal("paid a lost deal")
	}
	// Retried: nothing more voided, same error.
	out, err = run(h, "won", "pay")
	if !errors.As(err, &ie) || out.Voided != 0 {
		t.Fatalf("retry: %+v %v", out, err)
	}
}

func TestStoreErrorsPropagate(t *testing.T) {
	h, st := setup(t)
	st.err = errors.New("throttled")
	if _, err := run(h, "won", "hold"); !errors.Is(err, st.err) {
		t.Fatalf("hold: %v", err)
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
	h.Now = func() time.Time { return t0.Add(20 * 24 * time.Hour) }
	if out, _ = run(h, "won", "hold"); out.HoldSecondsLeft != 10*24*3600 {
		t.Fatalf("20 days in: %d s left, want 10 days", out.HoldSecondsLeft)
	}
	h.Now = func() time.Time { return t0.Add(45 * 24 * time.Hour) }
	if out, _ = run(h, "won", "hold"); out.HoldSecondsLeft != 0 {
		t.Fatalf("after the hold: %d s left", out.HoldSecondsLeft)
	}
	if out, _ = run(h, "qualified", "hold"); out.HoldSecondsLeft != 0 {
		t.Fatalf("no hold: %d s left", out.HoldSecondsLeft)
	}
}
