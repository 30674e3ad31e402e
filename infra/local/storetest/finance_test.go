package storetest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/finance"
	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// payManual creates and pays an approved cash reward of referral id
// through rail method, writing its ledger entry at t0.
func payManual(t *testing.T, st *store.Store, id, method string, minor int64) rewards.Reward {
	t.Helper()
	ctx := context.Background()
	r := rewards.Reward{ID: rewards.RewardID(id, "won", "referrer"), ReferralID: id, ProgramID: "p1", Milestone: "won", Party: "referrer",
		ReferrerCode: "ANN42", Kind: "cash", AmountMinor: minor, Currency: "EUR", Status: rewards.StatusApproved,
		CreatedAt: t0, UpdatedAt: t0, IdempotencyKey: rewards.IdempotencyKey(rewards.RewardID(id, "won", "referrer"))}
	if _, err := st.CreateRewards(ctx, id, "won", []rewards.Reward{r}, nil, nil); err != nil {
		t.Fatal(err)
	}
	e := rewards.PayableEntry(r, t0)
	e.Method = method
	if ok, err := st.PayReward(ctx, r, e, rewards.Event(events.RewardPaid, r, "test", t0), t0, rewards.DealAny); !ok || err != nil {
		t.Fatalf("pay %s: %v %v", id, ok, err)
	}
	return r
}

func financeService(st *store.Store) *finance.Service {
	return &finance.Service{Store: st, Payees: st, Now: func() time.Time { return t0 }, Rand: rand.Reader}
}

// Two operators gather payout batches at the same time: every payable
// manual entry ends up in exactly one batch, and a third gathering finds
// nothing; reversed and provider-paid entries stay out.
func TestPayoutBatchesClaimEachEntryOnce(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	const n = 24
	for i := range n {
		payManual(t, st, fmt.Sprintf("ref_%02d", i), []string{"manual", "ledger"}[i%2], 1000+int64(i))
	}
	payManual(t, st, "ref_stripe", "stripe", 5000)
	rev := payManual(t, st, "ref_rev", "manual", 7000)
	if ok, err := st.ReverseReward(ctx, rev, rewards.ReversalEntry(rev, t0), rewards.Event(events.RewardReversed, rev, "test", t0)); !ok || err != nil {
		t.Fatalf("reverse: %v %v", ok, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	in := map[string][]string{}
	for op := range 2 {
		wg.Go(func() {
			b, err := financeService(st).CreateBatch(ctx, "p1", "EUR", "", fmt.Sprint("operator", op))
			if errors.Is(err, finance.ErrNothingToBatch) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, l := range b.Lines {
				in[l.EntryID] = append(in[l.EntryID], b.ID)
			}
		})
	}
	wg.Wait()
	if len(in) != n {
		t.Fatalf("%d entries batched, want %d: %v", len(in), n, in)
	}
	batches := map[string]bool{}
	for e, bs := range in {
		if len(bs) != 1 {
			t.Errorf("entry %s in batches %v", e, bs)
		}
		batches[bs[0]] = true
	}
	total := 0
	for id := range batches {
		b, err := financeService(st).Batch(ctx, id)
		if err != nil || b.Status != finance.BatchOpen || b.ProgramID != "p1" || b.Currency != "EUR" {
			t.Fatalf("batch %s: %+v %v", id, b, err)
		}
		total += len(b.Lines)
	}
	if total != n {
		t.Fatalf("the stored batches hold %d lines, want %d", total, n)
	}
	if _, err := financeService(st).CreateBatch(ctx, "p1", "EUR", "", "admin"); !errors.Is(err, finance.ErrNothingToBatch) {
		t.Fatalf("third gathering: %v", err)
	}
}

// Marking a batch paid records the reference on the batch and each line
// once: the same reference again changes nothing, another is refused.
// The CSV carries the payee's details, and "no payout method" for a
// payee without any.
func TestPayoutBatchMarkedPaidOnce(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	must(t, st.CreateReferrer(ctx, referral.Referrer{ProgramID: "p1", Code: "ANN42", Email: "ann@referrer.io", Name: "Ann", CreatedAt: t0}))
	r := newReferral("ref_A", "jane@acme.example", "acme.example")
	r.ReferrerCode = "ANN42"
	must(t, st.CreateReferral(ctx, store.NewReferral{Referral: r, Event: events.New(events.ReferralReceived, r.ID, "test", t0), PartnerKey: "ANN42"}))
	if _, err := (&payees.Service{Store: st, Now: func() time.Time { return t0 }}).SetPartner(ctx, "p1", "ANN42", annIBAN, events.ActorAdmin); err != nil {
		t.Fatal(err)
	}
	payManual(t, st, "ref_A", "manual", 12345)
	payManual(t, st, "ref_B", "manual", 500) // no referral: no payee
	svc := financeService(st)
	b, err := svc.CreateBatch(ctx, "p1", "EUR", "", "admin")
	if err != nil || len(b.Lines) != 2 || b.Total != "128.45" {
		t.Fatalf("batch %+v %v", b, err)
	}
	paid, changed, err := svc.MarkPaid(ctx, b.ID, "SEPA-2026-11-22", "finance")
	if err != nil || !changed || paid.Status != finance.BatchPaid || paid.PaidAt == nil || !paid.PaidAt.Equal(t0) || paid.PaidBy != "finance" {
		t.Fatalf("paid %+v %v %v", paid, changed, err)
	}
	for _, l := range paid.Lines {
		if l.PaidOutAt == nil || !l.PaidOutAt.Equal(t0) {
			t.Errorf("line %+v not paid out", l)
		}
	}
	svc.Now = func() time.Time { return t0.Add(time.Hour) }
	again, changed, err := svc.MarkPaid(ctx, b.ID, "SEPA-2026-11-22", "finance")
	if err != nil || changed || !again.PaidAt.Equal(t0) || !again.Lines[0].PaidOutAt.Equal(t0) {
		t.Fatalf("repeat: %+v %v %v", again, changed, err)
	}
	if _, _, err := svc.MarkPaid(ctx, b.ID, "OTHER", "finance"); !errors.Is(err, finance.ErrAlreadyPaid) {
		t.Fatalf("another reference: %v", err)
	}
	if _, _, err := svc.MarkPaid(ctx, "pb_000000000000000000000000", "X", "finance"); !errors.Is(err, finance.ErrNotFound) {
		t.Fatalf("unknown batch: %v", err)
	}
	claims := 0
	for _, it := range items(t, st) {
		if sk := str(it["SK"]); len(sk) > 8 && sk[:8] == "BATCHED#" {
			claims++
			if str(it["remittance_reference"]) != "SEPA-2026-11-22" || str(it["batch_id"]) != b.ID {
				t.Errorf("claim %v", it)
			}
		}
	}
	if claims != 2 {
		t.Fatalf("%d claims, want 2", claims)
	}
	var out bytes.Buffer
	if err := svc.WriteCSV(ctx, b.ID, &out); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("csv %v %v", rows, err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, row := range rows[1:] {
		switch row[col["referral_id"]] {
		case "ref_A":
			if row[col["payee_name"]] != "Ann Lee" || row[col["payee_email"]] != "ann@referrer.io" || row[col["iban"]] != "DE89370400440532013000" ||
				row[col["amount"]] != "123.45" || row[col["payout_method_status"]] != "" || row[col["remittance_reference"]] != "SEPA-2026-11-22" {
				t.Errorf("ann's line %v", row)
			}
		case "ref_B":
			if row[col["payout_method_status"]] != finance.NoPayoutMethod || row[col["iban"]] != "" || row[col["amount"]] != "5.00" {
				t.Errorf("line without payee %v", row)
			}
		default:
			t.Errorf("line %v", row)
		}
	}
}
