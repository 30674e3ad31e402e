package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// `referflow payees set|show|remove` records a partner's and a referee's
// payee, shows it masked, refuses bad details naming the flag's field,
// and removes it.
func TestPayeesCommands(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	now := time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC)
	if err := st.CreateReferrer(ctx, referral.Referrer{ProgramID: "p1", Code: "ANN42", Email: "ann@agency.example", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	r := &referral.Referral{ID: "ref_A", ProgramID: "p1", ProgramVersion: 1, Status: referral.StatusReceived, ReferrerCode: "ANN42",
		RefereeEmail: "jane@acme.example", RefereeCompany: "Acme", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateReferral(ctx, store.NewReferral{Referral: r, Event: events.New(events.ReferralReceived, r.ID, "test", now)}); err != nil {
		t.Fatal(err)
	}
	svc := &payees.Service{Store: st, Now: func() time.Time { return now }}
	a := testApp(t)
	a.openPayees = func(context.Context) (payeeOps, error) { return svc, nil }
	run := func(sub string, args ...string) (string, error) {
		return cli(t, a, append([]string{"payees", sub}, args...)...)
	}
	out, err := run("set", "--program", "p1", "--method", "manual", "--account-holder", "Ann Lee", "--iban", "DE89 3704 0044 0532 0130 00", "--bic", "COBADEFFXXX", "ANN42")
	if err != nil || !strings.Contains(out, "payee of partner ANN42 of program p1: manual") || !strings.Contains(out, "iban: ******************3000") ||
		strings.Contains(out, "DE89") || !strings.Contains(out, "by operator") {
		t.Fatalf("set: %q %v", out, err)
	}
	if rec, err := st.PartnerPayee(ctx, "p1", "ANN42"); err != nil || rec.Details.IBAN != "DE89370400440532013000" {
		t.Fatalf("stored %+v %v", rec, err)
	}
	_, err = run("set", "--program", "p1", "--method", "manual", "--account-holder", "Ann Lee", "--iban", "DE89370400440532013001", "--bic", "COBADEFF", "ANN42")
	if err == nil || !strings.Contains(err.Error(), "details.iban") {
		t.Fatalf("bad IBAN: %v", err)
	}
	if rec, _ := st.PartnerPayee(ctx, "p1", "ANN42"); rec.Details.IBAN != "DE89370400440532013000" {
		t.Fatalf("a refused set wrote %+v", rec)
	}
	if out, err := run("show", "--program", "p1", "ANN42"); err != nil || !strings.Contains(out, "bic: *******FXXX") || strings.Contains(out, "Ann Lee") {
		t.Fatalf("show: %q %v", out, err)
	}
	if out, err := run("set", "--referral", "ref_A", "--method", "stripe", "--customer", "cus_NffrFeUfNV2Hib"); err != nil || !strings.Contains(out, "customer: **************2Hib") {
		t.Fatalf("set referee: %q %v", out, err)
	}
	if _, err := run("set", "--referral", "ref_nope", "--method", "stripe", "--customer", "cus_1"); err == nil || !strings.Contains(err.Error(), "no referral ref_nope") {
		t.Fatalf("unknown referral: %v", err)
	}
	if out, err := run("remove", "--program", "p1", "ANN42"); err != nil || out != "payee of partner ANN42 of program p1 removed\n" {
		t.Fatalf("remove: %q %v", out, err)
	}
	if _, err := run("show", "--program", "p1", "ANN42"); err == nil || !strings.Contains(err.Error(), "has no payee") {
		t.Fatalf("show after remove: %v", err)
	}
	if _, err := run("show", "--program", "p1"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("missing code: %v", err)
	}
	if _, err := run("show", "--program", "p1", "NOBODY"); err == nil || !strings.Contains(err.Error(), "no partner NOBODY in program p1") {
		t.Fatalf("unknown partner: %v", err)
	}
}
