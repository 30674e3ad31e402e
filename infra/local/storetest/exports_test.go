package storetest_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/exports"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// TestExportReadsAPeriodInChunksThroughTheIndexes: referrals received
// over three days (and one the day after the period), with rewards paid
// to the ledger, exported in chunks of at most two index items: every
// referral, reward and ledger entry of the period comes out once, the
// chunks are saved with the export's progress, and a stale request
// cannot append a chunk twice.
func TestExportReadsAPeriodInChunksThroughTheIndexes(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	var want []string
	for i := range 7 {
		at := t0.Add(time.Duration(i%4) * 24 * time.Hour)
		r := newReferral(fmt.Sprintf("ref_%02d", i), fmt.Sprintf("p%d@acme%d.example", i, i), fmt.Sprintf("acme%d.example", i))
		r.CreatedAt, r.UpdatedAt = at, at
		ev := events.New(events.ReferralReceived, r.ID, events.ActorIntake, at)
		ev.ProgramID = "p1"
		if err := st.CreateReferral(ctx, store.NewReferral{Referral: r, Event: ev}); err != nil {
			t.Fatal(err)
		}
		rw := rewards.Reward{ID: rewards.RewardID(r.ID, "won", "referrer"), ReferralID: r.ID, ProgramID: "p1", Milestone: "won", Party: "referrer",
			ReferrerCode: "DEMO", Kind: "cash", AmountMinor: 10000, Currency: "EUR", Status: rewards.StatusOnHold, HoldUntil: at, CreatedAt: at, UpdatedAt: at}
		created := func(rw rewards.Reward) events.Event { return rewards.Event(events.RewardCreated, rw, "test", at) }
		if _, err := st.CreateRewards(ctx, r.ID, "won", []rewards.Reward{rw}, nil, created); err != nil {
			t.Fatal(err)
		}
		if _, err := st.PayReward(ctx, rw, rewards.PayableEntry(rw, at), rewards.Event(events.RewardPaid, rw, "test", at), at, rewards.DealOpen); err != nil {
			t.Fatal(err)
		}
		if i%4 != 3 {
			want = append(want, r.ID)
		}
	}
	from, to := t0.Format(time.DateOnly), t0.Add(48*time.Hour).Format(time.DateOnly)
	budget := exports.Budget{Pages: 1, Items: 2, Bytes: 1 << 20}
	for _, kind := range exports.Kinds {
		t.Run(kind, func(t *testing.T) {
			j, err := exports.New("exp_"+kind+"-0123456789", kind, "p1", from, to, "console:x", t0)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.CreateExport(ctx, j); err != nil {
				t.Fatal(err)
			}
			for steps := 0; !j.Done; steps++ {
				if j, err = exports.Step(ctx, st, j, budget, time.Now); err != nil || steps > 40 {
					t.Fatalf("step %d: %+v, %v", steps, j, err)
				}
			}
			saved, err := st.Export(ctx, j.ID, t0)
			if err != nil || !saved.Done || saved.Rows != len(want) || saved.Chunks < 2 || saved.StepsDone != saved.Steps {
				t.Fatalf("saved %+v, %v: want %d rows in chunks", saved, err, len(want))
			}
			body, err := st.ExportChunks(ctx, j.ID, 1, saved.Chunks, nil)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			col := map[string]int{exports.Referrals: 0, exports.Rewards: 2, exports.Ledger: 4}[kind]
			var got []string
			for _, r := range rows {
				got = append(got, r[col])
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(want, " ") || strings.Contains(string(body), "@acme") {
				t.Fatalf("exported %v, want %v:\n%s", got, want, body)
			}
			stale := *saved
			stale.Chunks = saved.Chunks + 1
			if err := st.SaveExportChunk(ctx, stale, saved.Chunks-1, []byte("x\n"), 1); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("a stale chunk: %v, want ErrConflict", err)
			}
			if _, err := st.Export(ctx, j.ID, t0.Add(exports.TTL+time.Second)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("an expired export: %v", err)
			}
		})
	}
}

// TestMilestoneNotesArePersonalData: the reason of a milestone recorded
// by hand is kept on the referral and erased with the person.
func TestMilestoneNotesArePersonalData(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	r := newReferral("ref_note", "jane@acme.example", "acme.example")
	create(t, st, r)
	note := &referral.MilestoneNote{Milestone: "won", By: "console:ab12", Reason: "Jane signed on paper", At: t0}
	if _, err := st.RecordDeal(ctx, r.ID, referral.DealUpdate{Milestones: []string{"won"}, Note: note}, t0); err != nil {
		t.Fatal(err)
	}
	got, err := st.Referral(ctx, r.ID)
	if err != nil || got.HandNote("won") == nil || got.HandNote("won").Reason != "Jane signed on paper" || got.Milestones["won"].IsZero() {
		t.Fatalf("referral %+v, %v", got, err)
	}
	if _, err := st.ErasePerson(ctx, "jane@acme.example", events.ActorAdmin, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Referral(ctx, r.ID); err != nil || len(got.HandNotes) != 0 || got.Milestones["won"].IsZero() {
		t.Fatalf("after erasure %+v, %v: the note must go, the milestone stay", got, err)
	}
}
