package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

const programYAML = `
schema: 1
id: partners
eligibility:
  allow_self_referral: false
  require_company_domain: true
  customer_domains: [bigcorp.com]
  existing_customer: review
  max_per_referrer_per_day: 2
review:
  deadline: 3d
  default: approve
milestones:
  - name: qualified
    deadline: 90d
    rewards: [{party: referrer, kind: cash, amount: 100}]
  - name: won
    deadline: 365d
    hold: 30d
    rewards: [{party: referrer, kind: cash, amount: 500}]
`

type fakeStore struct {
	r         *referral.Referral
	p         *program.Program
	referrer  referral.Referrer
	counted   map[string]bool
	today     int // referrals counted today before this one
	writes    int
	countCall int
	evs       []events.Event
}

func (f *fakeStore) Referral(context.Context, string) (*referral.Referral, error) {
	c := *f.r
	return &c, nil
}

func (f *fakeStore) ProgramVersion(_ context.Context, id string, v int) (*program.Program, error) {
	if id != f.p.ID || v != f.p.Version {
		return nil, store.ErrNotFound
	}
	return f.p, nil
}

func (f *fakeStore) Referrer(_ context.Context, programID, code string) (*referral.Referrer, error) {
	if code != f.referrer.Code {
		return nil, store.ErrNotFound
	}
	r := f.referrer
	return &r, nil
}

// CountReferral counts a referral once and includes it in the counts.
func (f *fakeStore) CountReferral(_ context.Context, referralID, programID, code string, now time.Time) (referral.ReferrerCounts, error) {
	f.countCall++
	if !f.counted[referralID] {
		f.counted[referralID] = true
		f.today++
	}
	return referral.ReferrerCounts{Today: f.today, ThisMonth: f.today}, nil
}

func (f *fakeStore) Transition(_ context.Context, id string, to referral.Status, now time.Time, set map[string]any, ev events.Event) error {
	if !slices.Contains(referral.From(to), f.r.Status) {
		return fmt.Errorf("%s → %s: %w", f.r.Status, to, store.ErrConflict)
	}
	f.evs = append(f.evs, ev)
	f.writes++
	f.r.Status = to
	if d, ok := set["decision"]; ok {
		f.r.Decision = d.(string)
	}
	if rs, ok := set["reasons"]; ok {
		f.r.Reasons = rs.([]referral.Reason)
	}
	return nil
}

func (f *fakeStore) Record(_ context.Context, evs ...events.Event) error {
	f.writes++
	f.evs = append(f.evs, evs...)
	return nil
}

const id = "ref_01J0000000000000000000000V"

func setup(t *testing.T, refereeEmail, refereeDomain string) (*Handler, *fakeStore) {
	p, err := program.Load([]byte(programYAML))
	if err != nil {
		t.Fatal(err)
	}
	p.Version = 5
	st := &fakeStore{
		r: &referral.Referral{ID: id, ProgramID: "partners", ProgramVersion: 5, Status: referral.StatusReceived,
			ReferrerCode: "ann-42", RefereeEmail: refereeEmail, RefereeDomain: refereeDomain},
		p:        p,
		referrer: referral.Referrer{ProgramID: "partners", Code: "ann-42", Email: "ann@referrer.io", Domain: "referrer.io"},
		counted:  map[string]bool{},
	}
	return &Handler{Store: st, Now: func() time.Time { return time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC) },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, st
}

// Events carry no personal data (invariant 5): a reason's message names
// the referee's (and referrer's) email or domain, so it stays on the
// referral, where the admin view reads it; the event keeps the code.
func TestReasonEventsCarryNoPersonalData(t *testing.T) {
	for _, c := range []struct{ email, domain string }{
		{"ann@referrer.io", ""}, {"bob@referrer.io", "referrer.io"}, {"bob@bigcorp.com", "bigcorp.com"},
	} {
		h, st := setup(t, c.email, c.domain)
		if _, err := h.Handle(context.Background(), workflow.VerifyInput{ReferralID: id}); err != nil {
			t.Fatal(err)
		}
		if len(st.r.Reasons) == 0 || !strings.Contains(st.r.Reasons[0].Message, "@") && !strings.Contains(st.r.Reasons[0].Message, ".") {
			t.Fatalf("%s: the referral lost its reasons' messages: %+v", c.email, st.r.Reasons)
		}
		for _, ev := range st.evs {
			b, _ := json.Marshal(ev)
			for _, pii := range []string{c.email, "referrer.io", "bigcorp.com", "ann@"} {
				if strings.Contains(string(b), pii) {
					t.Errorf("%s: event %s holds %q", c.email, b, pii)
				}
			}
		}
	}
}

var wantSteps = []workflow.Step{
	{Name: "qualified", DeadlineSeconds: 90 * 86400, HoldSeconds: 0},
	{Name: "won", DeadlineSeconds: 365 * 86400, HoldSeconds: 30 * 86400},
}

func TestVerify(t *testing.T) {
	cases := []struct {
		name          string
		email, domain string
		outcome       string
		status        referral.Status
		codes         []string
	}{
		{"approved", "bob@acme.io", "acme.io", workflow.Approved, referral.StatusInProgress, nil},
		{"self referral by domain", "bob@referrer.io", "referrer.io", workflow.Rejected, referral.StatusRejected, []string{"self_referral"}},
		{"self referral by email", "ann@referrer.io", "", workflow.Rejected, referral.StatusRejected, []string{"self_referral"}},
		{"existing customer goes to review", "bob@bigcorp.com", "bigcorp.com", workflow.Review, referral.StatusInReview, []string{"existing_customer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, st := setup(t, c.email, c.domain)
			out, err := h.Handle(context.Background(), workflow.VerifyInput{ReferralID: id})
			if err != nil {
				t.Fatal(err)
			}
			want := workflow.VerifyOutput{ReferralID: id, Outcome: c.outcome, Milestones: wantSteps,
				ReviewDeadlineSeconds: 3 * 86400, ReviewDefault: workflow.Approved}
			if !reflect.DeepEqual(out, want) {
				t.Fatalf("output\n got %+v\nwant %+v", out, want)
			}
			if st.r.Status != c.status || st.r.Decision != c.outcome {
				t.Fatalf("referral %s decision %q", st.r.Status, st.r.Decision)
			}
			var codes []string
			for _, r := range st.r.Reasons {
				codes = append(codes, r.Code)
			}
			if !reflect.DeepEqual(codes, c.codes) {
				t.Fatalf("reasons %v, want %v", codes, c.codes)
			}
			// verifying, verified, then one reason event per reason code.
			if len(st.evs) != 2+len(c.codes) || st.evs[0].Type != events.ReferralVerifying || st.evs[1].Type != events.ReferralVerified ||
				st.evs[1].Data["outcome"] != c.outcome || st.evs[1].Data["reasons"] != strings.Join(c.codes, ", ") {
				t.Fatalf("events %+v", st.evs)
			}
			for i, code := range c.codes {
				if ev := st.evs[2+i]; ev.Type != events.ReferralReason || ev.Data["code"] != code || ev.Data["message"] != "" {
					t.Fatalf("reason event %d: %+v", i, ev)
				}
			}
			// A retry on the decided referral: same answer, no writes.
			writes, counts := st.writes, st.countCall
			again, err := h.Handle(context.Background(), workflow.VerifyInput{ReferralID: id})
			if err != nil || !reflect.DeepEqual(again, want) {
				t.Fatalf("retry: %+v %v", again, err)
			}
			if st.writes != writes || st.countCall != counts {
				t.Fatal("a retry on a decided referral wrote something")
			}
		})
	}
}

func TestVerifyRetriedMidway(t *testing.T) {
	// The first attempt moved to verifying and counted, then crashed.
	h, st := setup(t, "bob@acme.io", "acme.io")
	st.r.Status = referral.StatusVerifying
	st.counted[id], st.today = true, 1
	out, err := h.Handle(context.Background(), workflow.VerifyInput{ReferralID: id})
	if err != nil || out.Outcome != workflow.Approved || st.r.Status != referral.StatusInProgress {
		t.Fatalf("%+v %v (%s)", out, err, st.r.Status)
	}
	if st.today != 1 {
		t.Fatalf("counted twice: %d", st.today)
	}
}

func TestVerifyVelocity(t *testing.T) {
	h, st := setup(t, "bob@acme.io", "acme.io")
	st.today = 2 // two accepted today already; the limit is 2
	out, err := h.Handle(context.Background(), workflow.VerifyInput{ReferralID: id})
	if err != nil || out.Outcome != workflow.Rejected || st.r.Reasons[0].Code != "velocity_day" {
		t.Fatalf("%+v %v %+v", out, err, st.r.Reasons)
	}
	h, st = setup(t, "bob@acme.io", "acme.io")
	st.today = 1
	if out, _ := h.Handle(context.Background(), workflow.VerifyInput{ReferralID: id}); out.Outcome != workflow.Approved {
		t.Fatalf("second of the day: %+v", out)
	}
}

func TestRetryOutcomes(t *testing.T) {
	for status, want := range map[referral.Status]string{
		referral.StatusInProgress: workflow.Approved, referral.StatusCompleted: workflow.Approved,
		referral.StatusLost: workflow.Approved, referral.StatusExpired: workflow.Approved,
		referral.StatusInReview: workflow.Review, referral.StatusRejected: workflow.Rejected,
	} {
		h, st := setup(t, "bob@acme.io", "acme.io")
		st.r.Status = status
		out, err := h.Handle(context.Background(), workflow.VerifyInput{ReferralID: id})
		if err != nil || out.Outcome != want || st.writes != 0 || st.countCall != 0 {
			t.Errorf("%s: %+v %v writes %d", status, out, err, st.writes)
		}
	}
}

func TestReviewDeadline(t *testing.T) {
	for outcome, status := range map[string]referral.Status{workflow.Approved: referral.StatusInProgress, workflow.Rejected: referral.StatusRejected} {
		h, st := setup(t, "bob@bigcorp.com", "bigcorp.com")
		st.r.Status = referral.StatusInReview
		out, err := h.Handle(context.Background(), workflow.VerifyInput{ReferralID: id, Step: "review_deadline", Outcome: outcome})
		if err != nil || out.Outcome != outcome || !reflect.DeepEqual(out.Milestones, wantSteps) {
			t.Fatalf("%s: %+v %v", outcome, out, err)
		}
		if st.r.Status != status || st.r.Decision != outcome {
			t.Fatalf("%s: referral %s decision %q", outcome, st.r.Status, st.r.Decision)
		}
		if len(st.evs) != 1 || st.evs[0].Type != events.ReferralReviewed || st.evs[0].Data["by"] != "deadline" || st.evs[0].Data["outcome"] != outcome {
			t.Fatalf("events %+v", st.evs)
		}
	}
}

func TestOutputDefaults(t *testing.T) {
	p := &program.Program{ID: "p", Review: program.Review{Default: "reject"}}
	out := output(&referral.Referral{ID: id}, p)
	if out.ReviewDeadlineSeconds != 7*86400 || out.ReviewDefault != workflow.Rejected || out.Milestones != nil {
		t.Fatalf("%+v", out)
	}
}

// RecordReview stores the first decision only, while the referral is in review.
func (f *fakeStore) RecordReview(_ context.Context, id, outcome, note string, _ time.Time) (*workflow.Waiting, bool, error) {
	decided := f.r.ReviewOutcome == "" && f.r.Status == referral.StatusInReview
	if decided {
		f.r.ReviewOutcome, f.r.ReviewNote = outcome, note
		f.writes++
	}
	c := *f.r
	return &workflow.Waiting{Referral: &c}, decided, nil
}

// An admin decision racing the review deadline: whichever is recorded
// first decides, the other changes nothing, and the deadline step never
// fails (a failed step used to fail the whole execution).
func TestReviewDecisionAndDeadlineResolveToOneOutcome(t *testing.T) {
	cases := []struct {
		name     string
		status   referral.Status
		recorded string // review outcome recorded before the deadline step
		deflt    string // the program's default the deadline applies
		want     string
		status2  referral.Status
		events   []string // "by" of the reviewed events the deadline step records
	}{
		{"admin decided and applied first", referral.StatusInProgress, workflow.Approved, workflow.Rejected, workflow.Approved, referral.StatusInProgress, nil},
		{"admin rejected and applied first", referral.StatusRejected, workflow.Rejected, workflow.Approved, workflow.Rejected, referral.StatusRejected, nil},
		{"admin recorded, not applied yet", referral.StatusInReview, workflow.Approved, workflow.Rejected, workflow.Approved, referral.StatusInProgress, []string{"admin"}},
		{"nobody decided: the default applies", referral.StatusInReview, "", workflow.Rejected, workflow.Rejected, referral.StatusRejected, []string{"deadline"}},
		{"deadline step retried after it applied", referral.StatusRejected, workflow.Rejected, workflow.Rejected, workflow.Rejected, referral.StatusRejected, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, st := setup(t, "bob@bigcorp.com", "bigcorp.com")
			st.r.Status, st.r.ReviewOutcome = c.status, c.recorded
			out, err := h.Handle(context.Background(), workflow.VerifyInput{ReferralID: id, Step: "review_deadline", Outcome: c.deflt})
			if err != nil {
				t.Fatalf("the deadline step failed: %v", err)
			}
			if out.Outcome != c.want || st.r.Status != c.status2 || st.r.ReviewOutcome != c.want {
				t.Fatalf("outcome %s, referral %s reviewed %q; want %s, %s", out.Outcome, st.r.Status, st.r.ReviewOutcome, c.want, c.status2)
			}
			var by []string
			for _, ev := range st.evs {
				if ev.Type == events.ReferralReviewed && ev.Data["outcome"] == c.want {
					by = append(by, ev.Data["by"])
				}
			}
			if len(st.evs) != len(c.events) || !reflect.DeepEqual(by, c.events) {
				t.Fatalf("events %+v, want reviewed by %v", st.evs, c.events)
			}
		})
	}
}

// A payload the step cannot act on is a named, permanent error (not
// retried); a referral that needs attention is left to its resume.
func TestVerifyRefusals(t *testing.T) {
	for _, c := range []struct {
		name   string
		status referral.Status
		in     workflow.VerifyInput
		bad    bool
	}{
		{"unknown step", referral.StatusReceived, workflow.VerifyInput{ReferralID: id, Step: "bogus"}, true},
		{"unknown deadline outcome", referral.StatusInReview, workflow.VerifyInput{ReferralID: id, Step: "review_deadline", Outcome: "maybe"}, true},
		{"needs attention", referral.StatusNeedsAttention, workflow.VerifyInput{ReferralID: id}, false},
	} {
		h, st := setup(t, "bob@acme.io", "acme.io")
		st.r.Status = c.status
		_, err := h.Handle(context.Background(), c.in)
		var named messages.InvokeResponse_Error
		if err == nil || errors.As(err, &named) != c.bad || (c.bad && named.Type != workflow.ErrBadInput) {
			t.Errorf("%s: err %v", c.name, err)
		}
		if st.writes != 0 || st.r.Status != c.status {
			t.Errorf("%s: %d writes, status %s", c.name, st.writes, st.r.Status)
		}
	}
}
