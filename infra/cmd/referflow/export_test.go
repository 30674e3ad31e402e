package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/rewards"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// The finance export writes each amount with its currency's own number of
// decimals: 100,000 UGX (no minor unit) is "100000", not "1000.00", and
// CLF (four decimals) keeps all four.
func TestLedgerExportUsesEachCurrencysDecimals(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	now := time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		referral, currency string
		minor              int64
		want               string
	}{
		{"ref-ugx", "UGX", 100000, "100000"},
		{"ref-clf", "CLF", 123456, "12.3456"},
		{"ref-usd", "USD", 50000, "500.00"},
		{"ref-jpy", "JPY", 1000000, "1000000"},
		{"ref-kwd", "KWD", 1500, "1.500"},
	}
	for _, c := range cases {
		rw := rewards.Reward{ID: rewards.RewardID(c.referral, "won", "referrer"), ReferralID: c.referral, ProgramID: "p",
			Milestone: "won", Party: "referrer", ReferrerCode: "ACME", Kind: "cash", AmountMinor: c.minor, Currency: c.currency,
			Status: rewards.StatusOnHold, HoldUntil: now, CreatedAt: now, UpdatedAt: now}
		if _, err := st.CreateRewards(ctx, c.referral, "won", []rewards.Reward{rw}, nil, nil); err != nil {
			t.Fatal(err)
		}
		if paid, err := st.PayReward(ctx, rw, rewards.PayableEntry(rw, now), rewards.Event(events.RewardPaid, rw, "test", now), now, rewards.DealOpen); err != nil || !paid {
			t.Fatalf("pay %s: %v %v", c.currency, paid, err)
		}
	}
	var out bytes.Buffer
	if err := exportLedger(ctx, st, "2026-11", &out); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, row := range rows[1:] {
		got[row[10]] = row[9]
	}
	for _, c := range cases {
		if got[c.currency] != c.want {
			t.Errorf("%s %d minor units exported as %q, want %q", c.currency, c.minor, got[c.currency], c.want)
		}
	}
}
