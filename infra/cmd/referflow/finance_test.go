package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/finance"
	"github.com/referflow/referflow/internal/rewards"
)

// railNoPayments is a rail that has paid nothing (and must never be asked
// to pay).
type railNoPayments struct{ t *testing.T }

func (r railNoPayments) Send(context.Context, rewards.Reward) (rewards.Transfer, error) {
	r.t.Error("reconcile called Send")
	return rewards.Transfer{}, nil
}
func (railNoPayments) Find(context.Context, rewards.Reward) (rewards.Transfer, bool, error) {
	return rewards.Transfer{}, false, nil
}

// `referflow payouts batch create|show|csv|paid`, `balances` and
// `reconcile` over a table with two paid rewards: one manual, one through
// Stripe that the rail does not know.
func TestFinanceCommands(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	now := time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC)
	pay := func(id, method, ref string, minor int64) {
		r := rewards.Reward{ID: rewards.RewardID(id, "won", "referrer"), ReferralID: id, ProgramID: "p1", Milestone: "won", Party: "referrer",
			ReferrerCode: "ANN42", Kind: "cash", AmountMinor: minor, Currency: "BHD", Status: rewards.StatusApproved, CreatedAt: now, UpdatedAt: now,
			IdempotencyKey: rewards.IdempotencyKey(rewards.RewardID(id, "won", "referrer")), Rail: method}
		if _, err := st.CreateRewards(ctx, id, "won", []rewards.Reward{r}, nil, nil); err != nil {
			t.Fatal(err)
		}
		e := rewards.PayableEntry(r, now)
		e.Method, e.Reference = method, ref
		if ok, err := st.PayReward(ctx, r, e, rewards.Event(events.RewardPaid, r, "test", now), now, rewards.DealAny); !ok || err != nil {
			t.Fatalf("pay: %v %v", ok, err)
		}
	}
	pay("ref_M", "manual", "", 1250)
	pay("ref_S", "stripe", "tr_1", 2000)
	svc := &finance.Service{Store: st, Payees: st, Now: func() time.Time { return now }, Rand: rand.Reader,
		Rails: map[string]rewards.Rail{rewards.RailStripe: railNoPayments{t}}}
	a := testApp(t)
	a.openFinance = func(context.Context, bool) (financeOps, error) { return svc, nil }
	run := func(cmd string, args ...string) (string, error) {
		line := strings.Fields(cmd)
		if line[0] == "batch" {
			line = append([]string{"payouts"}, line...)
		}
		return cli(t, a, append(line, args...)...)
	}
	out, err := run("batch create", "--program", "P1", "--currency", "bhd", "-o", "json")
	var b finance.Batch
	if err != nil || json.Unmarshal([]byte(out), &b) != nil || len(b.Lines) != 1 || b.Total != "1.250" || b.CreatedBy != events.ActorOperator {
		t.Fatalf("create: %q %v", out, err)
	}
	if _, err := run("batch create", "--program", "p1", "--currency", "BHD"); err == nil || !strings.Contains(err.Error(), "no payable manual entry") {
		t.Fatalf("second create: %v", err)
	}
	if _, err := run("batch create", "--program", "p1", "--currency", "BHX"); err == nil || !strings.Contains(err.Error(), "--currency") {
		t.Fatalf("bad currency: %v", err)
	}
	if out, err := run("batch show", b.ID); err != nil || !strings.Contains(out, "1 entries, 1.250 BHD") || !strings.Contains(out, "ref_M") {
		t.Fatalf("show: %q %v", out, err)
	}
	if out, err := run("batch csv", b.ID); err != nil || !strings.HasPrefix(out, strings.Join(finance.CSVHeader, ",")) ||
		!strings.Contains(out, ",1.250,BHD,no payout method,") {
		t.Fatalf("csv: %q %v", out, err)
	}
	if out, err := run("batch paid", "--reference", "WIRE-1", b.ID); err != nil || !strings.Contains(out, "reference WIRE-1") {
		t.Fatalf("paid: %q %v", out, err)
	}
	if out, err := run("batch paid", "--reference", "WIRE-1", b.ID); err != nil || !strings.Contains(out, "nothing changed") {
		t.Fatalf("paid again: %q %v", out, err)
	}
	if _, err := run("batch paid", "--reference", "WIRE-2", b.ID); err == nil || !strings.Contains(err.Error(), "another remittance reference") {
		t.Fatalf("another reference: %v", err)
	}
	if _, err := run("batch show", "pb_000000000000000000000000"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown batch: %v", err)
	}
	if out, err := run("balances", "--program", "p1", "--from", "2026-11"); err != nil || !strings.Contains(out, "BHD") || !strings.Contains(out, "3.250") {
		t.Fatalf("balances: %q %v", out, err)
	}
	// The Stripe payment is unknown to the rail: a difference, exit status 1.
	out, err = run("reconcile", "--period", "2026-11")
	if err == nil || !strings.Contains(out, "1 checked, 1 differences") || !strings.Contains(out, finance.MissingAtRail) || !strings.Contains(out, "tr_1 2.000 BHD") {
		t.Fatalf("reconcile: %q %v", out, err)
	}
	if out, err := run("reconcile", "--period", "2026-10", "-o", "json"); err != nil || !strings.Contains(out, `"differences": []`) {
		t.Fatalf("reconcile an empty month: %q %v", out, err)
	}
	if _, err := run("reconcile", "--period", "11/2026"); err == nil || !strings.Contains(err.Error(), "--period") {
		t.Fatalf("bad period: %v", err)
	}
}
