package intake_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/intake"
	"github.com/referflow/referflow/internal/intake/intaketest"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

var now = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func newService() (*intake.Service, *intaketest.Store, *[]string) {
	st := intaketest.New()
	st.Programs["partners"] = &program.Program{ID: "partners", Version: 3, SiteOrigins: []string{"https://www.example.com"},
		Milestones: []program.Milestone{{Name: "qualified"}, {Name: "won"}}}
	p := st.AddPartner(referral.Referrer{ProgramID: "partners", Code: "ANNA", Email: "ann@referrer.io"})
	p.Key = "ANN42" // the partner's code changed once
	var started []string
	svc := &intake.Service{Store: st, DefaultProgram: "partners", Now: func() time.Time { return now },
		Start:  func(_ context.Context, id string) error { started = append(started, id); return nil },
		Random: zeros{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), StartAttempts: 2}
	return svc, st, &started
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func sub(code string) referral.Submission {
	return referral.Submission{ReferrerCode: code, RefereeEmail: " Jane@Acme.example ", RefereeCompany: "Acme"}
}

func TestSubmitFilesTheReferralUnderItsPartner(t *testing.T) {
	svc, st, started := newService()
	out, err := svc.Submit(context.Background(), intake.Input{Submission: sub("ANNA")})
	if err != nil || out.Accepted == nil || out.Replay != nil {
		t.Fatalf("Submit = %+v, %v", out, err)
	}
	created := st.Referrals()
	if len(created) != 1 {
		t.Fatalf("%d referrals stored", len(created))
	}
	nr := created[0]
	if nr.PartnerKey != "ANN42" || nr.CountsMilestone != "won" || nr.Referral.ReferrerCode != "ANNA" ||
		nr.Referral.RefereeEmail != "jane@acme.example" || nr.Referral.RefereeDomain != "acme.example" || nr.Referral.ProgramVersion != 3 {
		t.Fatalf("stored %+v / %+v", nr, nr.Referral)
	}
	if referral.HashToken(out.Accepted.StatusToken) != nr.Referral.StatusTokenHash || out.Accepted.Program.ID != "partners" {
		t.Fatalf("accepted %+v", out.Accepted)
	}
	if !reflect.DeepEqual(*started, []string{nr.Referral.ID}) {
		t.Fatalf("started %v", *started)
	}
}

func TestSubmitRefusalsStoreNothing(t *testing.T) {
	cases := []struct {
		name   string
		mod    func(*intaketest.Store)
		in     intake.Input
		status int
		code   string
	}{
		{"invalid", nil, intake.Input{Submission: referral.Submission{ReferrerCode: "ANNA"}}, http.StatusBadRequest, "invalid_request"},
		{"unreadable field", nil, intake.Input{Submission: sub("ANNA"), Unreadable: map[string]string{"message": "must be a string"}}, http.StatusBadRequest, "invalid_request"},
		{"unknown program", nil, intake.Input{Submission: referral.Submission{Program: "nope", ReferrerCode: "ANNA", RefereeEmail: "a@b.example", RefereeCompany: "B"}}, http.StatusBadRequest, "unknown_program"},
		{"foreign site", nil, intake.Input{Submission: sub("ANNA"), Origin: "https://evil.example"}, http.StatusForbidden, "origin_not_allowed"},
		{"unknown code", nil, intake.Input{Submission: sub("NOPE")}, http.StatusBadRequest, "unknown_referrer"},
		{"pending partner", func(st *intaketest.Store) { st.Partners["partners#ANNA"].Status = referral.ReferrerPending }, intake.Input{Submission: sub("ANNA")}, http.StatusBadRequest, "unknown_referrer"},
		{"disabled partner", func(st *intaketest.Store) { st.Partners["partners#ANNA"].Status = referral.ReferrerDisabled }, intake.Input{Submission: sub("ANNA")}, http.StatusBadRequest, "unknown_referrer"},
		{"invited partner", func(st *intaketest.Store) { st.Partners["partners#ANNA"].Status = referral.ReferrerInvited }, intake.Input{Submission: sub("ANNA")}, http.StatusBadRequest, "unknown_referrer"},
		{"duplicate", func(st *intaketest.Store) { st.CreateErr = store.ErrDuplicate }, intake.Input{Submission: sub("ANNA")}, http.StatusConflict, "duplicate_referral"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc, st, started := newService()
			if c.mod != nil {
				c.mod(st)
			}
			_, err := svc.Submit(context.Background(), c.in)
			var r *intake.Refusal
			if !errors.As(err, &r) || r.Status != c.status || r.Code != c.code {
				t.Fatalf("err = %v, want %d %s", err, c.status, c.code)
			}
			if len(st.Referrals()) != 0 || len(*started) != 0 {
				t.Fatal("a refused submission was stored or started")
			}
		})
	}
}

func TestSubmitTransientFailuresAreUnavailable(t *testing.T) {
	boom := errors.New("dynamodb: throttled")
	for name, mod := range map[string]func(*intaketest.Store){
		"program read": func(st *intaketest.Store) { st.ReadErr = boom },
		"partner read": func(st *intaketest.Store) { st.PartnerErr = boom },
		"write":        func(st *intaketest.Store) { st.CreateErr = boom },
	} {
		t.Run(name, func(t *testing.T) {
			svc, st, started := newService()
			mod(st)
			if _, err := svc.Submit(context.Background(), intake.Input{Submission: sub("ANNA")}); !errors.Is(err, intake.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if len(*started) != 0 {
				t.Fatal("started without a stored referral")
			}
		})
	}
}

func TestSubmitIdempotencyReplaysTheStoredAnswer(t *testing.T) {
	svc, st, _ := newService()
	answer := func(a intake.Accepted) apigw.Response {
		return apigw.JSON(http.StatusAccepted, map[string]string{"referral_id": a.ReferralID})
	}
	in := intake.Input{Submission: sub("ANNA"), Idempotency: intake.Key{Name: "k", Hash: "h1"}, Answer: answer}
	first, err := svc.Submit(context.Background(), in)
	if err != nil || first.Accepted == nil {
		t.Fatal(first, err)
	}
	again, err := svc.Submit(context.Background(), in)
	if err != nil || again.Replay == nil || again.Accepted != nil || again.Replay.Body != answer(*first.Accepted).Body {
		t.Fatalf("replay = %+v, %v", again, err)
	}
	in.Idempotency.Hash = "h2"
	_, err = svc.Submit(context.Background(), in)
	var r *intake.Refusal
	if !errors.As(err, &r) || r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("reused key: %v", err)
	}
	if len(st.Referrals()) != 1 {
		t.Fatal("stored twice")
	}
}

func TestStartIsRetriedThenLeftToTheReconciler(t *testing.T) {
	svc, st, _ := newService()
	calls := 0
	svc.Start = func(context.Context, string) error { calls++; return errors.New("sfn down") }
	out, err := svc.Submit(context.Background(), intake.Input{Submission: sub("ANNA")})
	if err != nil || out.Accepted == nil || len(st.Referrals()) != 1 {
		t.Fatalf("a stored referral must be accepted even if its workflow did not start: %+v %v", out, err)
	}
	if calls != 2 {
		t.Fatalf("%d start attempts, want 2", calls)
	}
}

func TestSiteAllowed(t *testing.T) {
	cases := []struct {
		sites  []string
		origin string
		want   bool
	}{
		{nil, "https://any.example", true},
		{[]string{"https://www.example.com"}, "HTTPS://WWW.EXAMPLE.COM/", true},
		{[]string{"https://www.example.com"}, "https://evil.example", false},
	}
	for _, c := range cases {
		if got := intake.SiteAllowed(c.sites, c.origin); got != c.want {
			t.Errorf("SiteAllowed(%v, %q) = %v", c.sites, c.origin, got)
		}
	}
}
