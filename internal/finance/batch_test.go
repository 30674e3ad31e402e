package finance

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/referflow/referflow/internal/rewards"
)

// A batch gathers the program's payable manual (and legacy ledger) cash
// entries of its currency that are in no batch and not reversed; other
// programs, currencies, rails, kinds and reversed rewards stay out.
func TestCreateBatchGathersWhatFinancePays(t *testing.T) {
	m := newMem()
	m.add(entry("rw_manual", "p1", "USD", "manual", "cash", 10000, "2026-11"))
	m.add(entry("rw_ledger", "p1", "USD", "ledger", "cash", 2000, "2026-10"))
	m.add(entry("rw_legacy", "p1", "USD", "", "gift_card", 300, "2025-01"))
	m.add(entry("rw_old", "p1", "USD", "manual", "cash", 1, "2024-11")) // before the 24 months
	m.add(entry("rw_stripe", "p1", "USD", "stripe", "cash", 5000, "2026-11"))
	m.add(entry("rw_credit", "p1", "USD", "ledger", "credit", 5000, "2026-11"))
	m.add(entry("rw_eur", "p1", "EUR", "manual", "cash", 5000, "2026-11"))
	m.add(entry("rw_p2", "p2", "USD", "manual", "cash", 5000, "2026-11"))
	m.add(entry("rw_rev", "p1", "USD", "manual", "cash", 4000, "2026-09"))
	rev := entry("rw_rev", "p1", "USD", "manual", "cash", -4000, "2026-11")
	rev.ID, rev.Type = "rw_rev:reversal", rewards.EntryReversal
	m.add(rev)
	s := newService(m)
	ctx := context.Background()
	b, err := s.CreateBatch(ctx, "p1", "USD", "", "admin")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, l := range b.Lines {
		got[l.RewardID] = true
	}
	if len(got) != 3 || !got["rw_manual"] || !got["rw_ledger"] || !got["rw_legacy"] {
		t.Fatalf("lines %+v", b.Lines)
	}
	if !ValidBatchID(b.ID) || b.Status != BatchOpen || b.TotalMinor != 12300 || b.Total != "123.00" || b.From != "2024-12" || b.To != "2026-11" || b.CreatedBy != "admin" {
		t.Fatalf("batch %+v", b)
	}
	// Gathered once: a second batch finds nothing.
	if _, err := s.CreateBatch(ctx, "p1", "USD", "", "admin"); !errors.Is(err, ErrNothingToBatch) {
		t.Fatalf("second batch: %v", err)
	}
	// An older from month reaches the older entry.
	b2, err := s.CreateBatch(ctx, "p1", "USD", "2024-11", "admin")
	if err != nil || len(b2.Lines) != 1 || b2.Lines[0].RewardID != "rw_old" || b2.ID == b.ID {
		t.Fatalf("older batch: %+v, %v", b2, err)
	}
}

func TestCreateBatchInvalid(t *testing.T) {
	tests := []struct{ name, program, currency, from, field string }{
		{"no program", "", "USD", "", "program"},
		{"unknown currency", "p1", "XYZ", "", "currency"},
		{"lower-case currency", "p1", "usd", "", "currency"},
		{"bad month", "p1", "USD", "2026-1", "from"},
		{"too far back", "p1", "USD", "2020-01", "from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem()
			_, err := newService(m).CreateBatch(context.Background(), tt.program, tt.currency, tt.from, "admin")
			var inv *Invalid
			if !errors.As(err, &inv) || inv.Fields[tt.field] == "" || len(m.reads) != 0 {
				t.Fatalf("want %s invalid and nothing read, got %v (read %v)", tt.field, err, m.reads)
			}
		})
	}
}

// Two operators gathering at once: every entry ends up in exactly one batch.
func TestCreateBatchConcurrentOperators(t *testing.T) {
	m := newMem()
	for i := range 40 {
		m.add(entry("rw_"+string(rune('A'+i)), "p1", "USD", "manual", "cash", 100, "2026-11"))
	}
	s := newService(m)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	for range 2 {
		wg.Go(func() {
			b, err := s.CreateBatch(context.Background(), "p1", "USD", "", "admin")
			if errors.Is(err, ErrNothingToBatch) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, l := range b.Lines {
				seen[l.EntryID]++
			}
		})
	}
	wg.Wait()
	if len(seen) != 40 {
		t.Fatalf("%d entries batched, want 40", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("entry %s in %d batches", id, n)
		}
	}
}

// Marking a batch paid happens once: the same reference again changes
// nothing, another one is refused.
func TestMarkPaid(t *testing.T) {
	m := newMem()
	m.add(entry("rw_1", "p1", "JPY", "manual", "cash", 5000, "2026-11"))
	s := newService(m)
	ctx := context.Background()
	b, err := s.CreateBatch(ctx, "p1", "JPY", "", "admin")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id, ref string
		changed       bool
		err           error
		field         bool
	}{
		{"first", b.ID, "BANK-2026-11-001", true, nil, false},
		{"same reference again", b.ID, " BANK-2026-11-001 ", false, nil, false},
		{"another reference", b.ID, "BANK-OTHER", false, ErrAlreadyPaid, false},
		{"no reference", b.ID, "  ", false, nil, true},
		{"control characters", b.ID, "A\nB", false, nil, true},
		{"unknown batch", "pb_000000000000000000000000", "X", false, ErrNotFound, false},
		{"malformed id", "nope", "X", false, ErrNotFound, false},
	}
	for _, tt := range tests {
		got, changed, err := s.MarkPaid(ctx, tt.id, tt.ref, "finance")
		var inv *Invalid
		switch {
		case tt.field:
			if !errors.As(err, &inv) || inv.Fields["remittance_reference"] == "" {
				t.Errorf("%s: want invalid, got %v", tt.name, err)
			}
		case tt.err != nil:
			if !errors.Is(err, tt.err) {
				t.Errorf("%s: want %v, got %v", tt.name, tt.err, err)
			}
		case err != nil || changed != tt.changed || got.Status != BatchPaid || got.RemittanceReference != "BANK-2026-11-001" ||
			got.Lines[0].PaidOutAt == nil || got.Total != "5000":
			t.Errorf("%s: %+v changed=%v %v", tt.name, got, changed, err)
		}
	}
}
