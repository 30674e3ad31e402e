package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// `referflow person erase EMAIL` erases the referee's data, says how many
// referrals it erased, and erases nothing more when repeated.
func TestPersonErase(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	now := time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC)
	r := &referral.Referral{ID: "ref_A", ProgramID: "p", ProgramVersion: 1, Status: referral.StatusReceived, ReferrerCode: "ACME",
		RefereeEmail: "jane@acme.example", RefereeName: "Jane Doe", RefereeCompany: "Acme", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateReferral(ctx, store.NewReferral{Referral: r, Event: events.New(events.ReferralReceived, r.ID, "test", now)}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := erasePerson(ctx, st, " Jane@ACME.example", &out, now); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "erased the personal data of 1 referral(s)\n" {
		t.Fatalf("output %q", got)
	}
	if got, _ := st.Referral(ctx, "ref_A"); got.RefereeEmail != "" || got.RefereeName != "" || got.ReferrerCode != "ACME" {
		t.Fatalf("referral after erasure: %+v", got)
	}
	evs, _ := st.Events(ctx, "ref_A")
	if last := evs[len(evs)-1]; last.Type != events.ReferralErased || last.Actor != events.ActorOperator {
		t.Fatalf("last event %+v", last)
	}
	out.Reset()
	if err := erasePerson(ctx, st, "jane@acme.example", &out, now); err != nil || out.String() != "erased the personal data of 0 referral(s)\n" {
		t.Fatalf("repeat: %q, %v", out.String(), err)
	}
	if err := erasePerson(ctx, st, "not-an-email", &out, now); err == nil {
		t.Fatal("erased a non-email")
	}
}
