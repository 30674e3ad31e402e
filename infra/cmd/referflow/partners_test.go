package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/program"
)

type sentMail []mail.Message

func (s *sentMail) Send(_ context.Context, m mail.Message) (string, error) {
	*s = append(*s, m)
	return "m", m.Validate()
}

// `referflow partners ...` drives the partner operations: invite (with a
// sign-in email), list, disable, enable and change a code.
func TestPartnersCommands(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	now := time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC)
	p := &program.Program{Schema: 1, ID: "p1", Name: "Partners"}
	p.SetDefaults()
	if _, err := st.PublishProgram(ctx, p, now); err != nil {
		t.Fatal(err)
	}
	var sent sentMail
	svc := &partners.Service{Store: st, Mail: &sent, SignIn: notify.SignIn, From: "ops@example.com", Now: func() time.Time { return now }}
	a := testApp(t)
	a.openPartners = func(context.Context, string) (partnerOps, error) { return svc, nil }
	run := func(sub string, args ...string) (string, error) {
		return cli(t, a, append([]string{"partners", sub}, args...)...)
	}
	out, err := run("invite", "--program", "p1", "--email", "ann@agency.example", "--name", "Ann", "--code", "ANN42", "--base-url", "https://api.example.com")
	if err != nil || out != "partner ANN42 of program p1: invited\n" || len(sent) != 1 || !strings.Contains(sent[0].Text, "https://api.example.com/portal/sign-in/") {
		t.Fatalf("invite: %q %v, %d emails", out, err, len(sent))
	}
	if _, err := run("invite", "--program", "p1", "--email", "ann@agency.example", "--name", "Ann", "--base-url", "https://api.example.com"); err == nil || !strings.Contains(err.Error(), "already a partner") {
		t.Fatalf("second invite: %v", err)
	}
	if _, err := run("invite", "--program", "p1", "--email", "bob@agency.example", "--name", "Bob", "--base-url", ""); err == nil {
		t.Fatal("invited without a link base")
	}
	if out, err := run("disable", "--program", "p1", "ANN42"); err != nil || !strings.Contains(out, "disabled") {
		t.Fatalf("disable: %q %v", out, err)
	}
	if _, err := run("approve", "--program", "p1", "--base-url", "https://api.example.com", "ANN42"); err == nil || !strings.Contains(err.Error(), "status does not allow") {
		t.Fatalf("approve a disabled partner: %v", err)
	}
	if out, err := run("enable", "--program", "p1", "ANN42"); err != nil || !strings.Contains(out, "active") {
		t.Fatalf("enable: %q %v", out, err)
	}
	if out, err := run("code", "--program", "p1", "ANN42", "ANNA"); err != nil || !strings.Contains(out, "partner ANNA") {
		t.Fatalf("code: %q %v", out, err)
	}
	out, err = run("list", "--program", "p1")
	if err != nil || !strings.Contains(out, "ANNA") || !strings.Contains(out, "ann@agency.example") || !strings.Contains(out, "ANN42") {
		t.Fatalf("list: %q %v", out, err)
	}
	if _, err := run("disable", "--program", "p1"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("missing code: %v", err)
	}
}
