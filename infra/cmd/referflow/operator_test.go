package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/exports"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// Edit completes memPartners (cli_test.go): the changes it was given.
func (m *memPartners) Edit(_ context.Context, _, code string, c partners.Changes) (*store.Partner, error) {
	p, err := m.find(code)
	if err != nil {
		return nil, err
	}
	if c.Name == nil && c.Email == nil && c.Company == nil {
		return nil, &partners.Invalid{Fields: map[string]string{"body": "names nothing to change"}}
	}
	if c.Name != nil {
		p.Name = *c.Name
	}
	if c.Email != nil {
		p.Email = *c.Email
	}
	if c.Company != nil {
		p.Company = *c.Company
	}
	return p, nil
}

// `partners edit CODE` changes only the fields whose flags are given.
func TestPartnersEdit(t *testing.T) {
	mem := &memPartners{ps: []store.Partner{{Referrer: referral.Referrer{ProgramID: "p1", Code: "ANN42", Email: "ann@agency.example", Name: "Ann", Company: "Agency"}}}}
	a := testApp(t)
	a.openPartners = func(context.Context, string) (partnerOps, error) { return mem, nil }
	out, err := cli(t, a, "partners", "edit", "--program", "p1", "ANN42", "--email", "ann@new.example", "--company", "")
	if err != nil || !strings.Contains(out, "partner ANN42 of program p1") {
		t.Fatalf("edit: %q %v", out, err)
	}
	if p := mem.ps[0]; p.Email != "ann@new.example" || p.Company != "" || p.Name != "Ann" {
		t.Fatalf("edited %+v: want the email and company changed, the name kept", p)
	}
	if _, err := cli(t, a, "partners", "edit", "--program", "p1", "ANN42"); exitCode(err) != exitUsage {
		t.Fatalf("nothing to change: %v", err)
	}
	if _, err := cli(t, a, "partners", "edit", "--program", "p1", "NOBODY", "--name", "X"); exitCode(err) != exitNotFound {
		t.Fatalf("unknown partner: %v", err)
	}
}

// `referrals milestone ID MILESTONE --reason TEXT` is the admin API's
// POST /admin/referrals/{id}/milestones.
func TestReferralsMilestoneThroughTheAPI(t *testing.T) {
	srv, seen := fakeAdmin(t, map[string]struct {
		status int
		body   string
	}{
		"POST /admin/referrals/ref_A/milestones": {200, `{"referral_id":"ref_A","milestone":"won","status":"in_progress","recorded":true,"milestones":[]}`},
		"POST /admin/referrals/ref_B/milestones": {409, `{"error":{"code":"milestone_reached","message":"the milestone was reached already"}}`},
	})
	a := stackApp(t, &fakeCFN{stacks: map[string]map[string]string{"prod": {"TableName": "t", "ApiUrl": srv.URL}}})
	a.getenv = func(k string) string { return map[string]string{"REFERFLOW_ADMIN_TOKEN": "tok"}[k] }
	out, err := cli(t, a, "--stack", "prod", "referrals", "milestone", "ref_A", "won", "--reason", "signed on paper")
	if err != nil || out != "referral ref_A: milestone won recorded by hand (status in_progress)\n" ||
		len(*seen) != 1 || !strings.HasSuffix((*seen)[0], `{"milestone":"won","reason":"signed on paper"}`) {
		t.Fatalf("milestone: %q %v, sent %q", out, err, *seen)
	}
	if _, err := cli(t, a, "--stack", "prod", "referrals", "milestone", "ref_B", "won", "--reason", "x"); exitCode(err) != exitConflict {
		t.Fatalf("reached: %v", err)
	}
	*seen = nil
	if _, err := cli(t, a, "--stack", "prod", "referrals", "milestone", "ref_A", "won"); exitCode(err) != exitUsage || len(*seen) != 0 {
		t.Fatalf("without a reason: %v, sent %q", err, *seen)
	}
}

// `referrals export` writes the referrals received in the period, through
// the console's chunks, with the header once; no progress bar on a pipe.
func TestReferralsExport(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	day := time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC)
	for i := range 5 {
		at := day.Add(time.Duration(i-1) * 24 * time.Hour)
		r := &referral.Referral{ID: fmt.Sprintf("ref_%d", i), ProgramID: "p", ProgramVersion: 1, Status: referral.StatusReceived, ReferrerCode: "ACME",
			RefereeEmail: fmt.Sprintf("p%d@acme%d.example", i, i), RefereeName: "Secret", RefereeCompany: fmt.Sprintf("+Co %d", i), CreatedAt: at, UpdatedAt: at}
		ev := events.New(events.ReferralReceived, r.ID, events.ActorIntake, at)
		ev.ProgramID = "p"
		if err := st.CreateReferral(ctx, store.NewReferral{Referral: r, Event: ev}); err != nil {
			t.Fatal(err)
		}
	}
	j, err := exports.New("cli", exports.Referrals, "", "2026-11-15", "2026-11-17", "operator", day)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := runExport(ctx, st, j, &out, newProgress(&errOut, j.Steps, "exporting")); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(rows) != 4 || rows[0][0] != "referral_id" || errOut.Len() != 0 {
		t.Fatalf("rows %v (%v), stderr %q", rows, err, errOut.String())
	}
	for _, r := range rows[1:] {
		if r[0] == "ref_0" || r[0] == "ref_4" || !strings.HasPrefix(r[6], "'+Co") || strings.Contains(strings.Join(r, ","), "Secret") {
			t.Errorf("row %v: outside the period, a formula unquoted, or a name", r)
		}
	}
	a := testApp(t)
	if _, err := cli(t, a, "referrals", "export", "--from", "2026-11-17", "--to", "2026-11-15"); exitCode(err) != exitUsage {
		t.Fatalf("a bad period: %v", err)
	}
}
