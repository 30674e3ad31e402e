package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

type fakeStore struct {
	r   *referral.Referral
	cb  workflow.Callbacks // the callbacks stored beside the referral
	err error
	// moved records each Transition: the status and its event.
	moved []events.Event
}

func (f *fakeStore) Transition(_ context.Context, id string, to referral.Status, now time.Time, _ map[string]any, ev events.Event) error {
	if f.r == nil || f.r.ID != id {
		return store.ErrNotFound
	}
	f.r.Status, f.r.UpdatedAt = to, now
	f.moved = append(f.moved, ev)
	return nil
}

func (f *fakeStore) SetWait(_ context.Context, id, milestone, token string, now time.Time) (*workflow.Waiting, error) {
	if f.err != nil {
		return nil, f.err
	}
	if f.r == nil || f.r.ID != id {
		return nil, store.ErrNotFound
	}
	f.cb.WaitMilestone, f.cb.WaitToken, f.r.UpdatedAt = milestone, token, now
	c := *f.r
	return &workflow.Waiting{Referral: &c, Callbacks: f.cb}, nil
}

func (f *fakeStore) SetReviewWait(_ context.Context, id, token string, now time.Time) (*workflow.Waiting, error) {
	if f.err != nil {
		return nil, f.err
	}
	if f.r == nil || f.r.ID != id {
		return nil, store.ErrNotFound
	}
	f.cb.ReviewToken, f.r.UpdatedAt = token, now
	c := *f.r
	return &workflow.Waiting{Referral: &c, Callbacks: f.cb}, nil
}

func (f *fakeStore) StartWait(_ context.Context, id, milestone string, now time.Time) (time.Time, error) {
	return now, f.err
}

type fakeSFN struct {
	err       error
	successes []*sfn.SendTaskSuccessInput
	failures  []*sfn.SendTaskFailureInput
	starts    int
}

func (f *fakeSFN) StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.starts++
	return &sfn.StartExecutionOutput{}, nil
}
func (f *fakeSFN) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	f.successes = append(f.successes, in)
	return &sfn.SendTaskSuccessOutput{}, f.err
}
func (f *fakeSFN) SendTaskFailure(_ context.Context, in *sfn.SendTaskFailureInput, _ ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	f.failures = append(f.failures, in)
	return &sfn.SendTaskFailureOutput{}, f.err
}

var t0 = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

const id = "ref_01J0000000000000000000000W"

func setup(mod func(r *referral.Referral)) (*Handler, *fakeStore, *fakeSFN) {
	r := &referral.Referral{ID: id, Status: referral.StatusInProgress, Milestones: map[string]time.Time{}}
	if mod != nil {
		mod(r)
	}
	st, s := &fakeStore{r: r}, &fakeSFN{}
	return &Handler{Store: st, SFN: s, Now: func() time.Time { return t0 }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, st, s
}

func TestAwaitMilestone(t *testing.T) {
	lost := t0
	cases := []struct {
		name        string
		mod         func(r *referral.Referral)
		sfnErr      error
		wantSuccess string
		wantFailure bool
		waiting     bool
		wantErr     bool
	}{
		{"nothing yet: just waits", nil, nil, "", false, true, false},
		{"earlier milestone only", func(r *referral.Referral) { r.Milestones["qualified"] = t0 }, nil, "", false, true, false},
		{"already reached: resumes at once", func(r *referral.Referral) { r.Milestones["won"] = t0.Add(-time.Hour) },
			nil, `{"milestone":"won","reached_at":"2026-01-31T23:00:00Z"}`, false, false, false},
		{"already lost: fails at once", func(r *referral.Referral) { r.LostAt, r.LostReason = &lost, "lost" }, nil, "", true, false, false},
		{"reached but the token closed meanwhile", func(r *referral.Referral) { r.Milestones["won"] = t0 },
			&sfntypes.TaskTimedOut{}, `{"milestone":"won","reached_at":"2026-02-01T00:00:00Z"}`, false, true, false},
		{"callback fails transiently: error so Lambda retries", func(r *referral.Referral) { r.Milestones["won"] = t0 },
			errors.New("throttled"), `{"milestone":"won","reached_at":"2026-02-01T00:00:00Z"}`, false, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, st, s := setup(c.mod)
			s.err = c.sfnErr
			out, err := h.Handle(context.Background(), workflow.CallbackInput{ReferralID: id, Kind: "milestone", Milestone: "won", TaskToken: "tok-won"})
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v", err)
			}
			if st.cb.WaitToken != "tok-won" || st.cb.WaitMilestone != "won" {
				t.Fatalf("token not stored: %q %q", st.cb.WaitMilestone, st.cb.WaitToken)
			}
			if !c.wantErr && out["waiting"] != c.waiting {
				t.Fatalf("output %v", out)
			}
			switch {
			case c.wantSuccess != "":
				if len(s.successes) != 1 || len(s.failures) != 0 || aws.ToString(s.successes[0].TaskToken) != "tok-won" || aws.ToString(s.successes[0].Output) != c.wantSuccess {
					t.Fatalf("successes %d failures %d", len(s.successes), len(s.failures))
				}
			case c.wantFailure:
				if len(s.failures) != 1 || len(s.successes) != 0 || aws.ToString(s.failures[0].Error) != "Referral.Lost" || aws.ToString(s.failures[0].TaskToken) != "tok-won" {
					t.Fatalf("successes %d failures %d", len(s.successes), len(s.failures))
				}
			default:
				if len(s.successes)+len(s.failures) != 0 {
					t.Fatal("resumed with nothing to resume for")
				}
			}
			if s.starts != 0 {
				t.Fatal("started an execution")
			}
		})
	}
}

func TestAwaitReview(t *testing.T) {
	// Decision made before the wait began: resumed at once.
	h, st, s := setup(func(r *referral.Referral) { r.Status, r.ReviewOutcome = referral.StatusInReview, "approved" })
	out, err := h.Handle(context.Background(), workflow.CallbackInput{ReferralID: id, Kind: "review", TaskToken: "tok-r"})
	if err != nil || out["waiting"] != false || st.cb.ReviewToken != "tok-r" {
		t.Fatalf("%v %v", out, err)
	}
	if len(s.successes) != 1 || aws.ToString(s.successes[0].TaskToken) != "tok-r" || aws.ToString(s.successes[0].Output) != `{"outcome":"approved","by":"admin"}` {
		t.Fatalf("successes %+v", s.successes)
	}
	if st.cb.WaitToken != "" {
		t.Fatal("a review wait stored a milestone token")
	}
	// No decision yet: just waits.
	h, st, s = setup(func(r *referral.Referral) { r.Status = referral.StatusInReview })
	out, err = h.Handle(context.Background(), workflow.CallbackInput{ReferralID: id, Kind: "review", TaskToken: "tok-r"})
	if err != nil || out["waiting"] != true || len(s.successes) != 0 || st.cb.ReviewToken != "tok-r" {
		t.Fatalf("%v %v %d", out, err, len(s.successes))
	}
}

// An operator's decision recorded while the referral was in review, whose
// status change was cut short (the referral needed attention meanwhile and
// was resumed), is applied when the review wait begins again: the
// workflow goes on with the referral in progress (or rejected), never
// leaving it "in review" behind it.
func TestRecordedReviewIsAppliedWhenTheWaitBegins(t *testing.T) {
	for _, tc := range []struct {
		outcome, note string
		want          referral.Status
		by            string
	}{
		{"approved", "looks good", referral.StatusInProgress, "admin"},
		{"rejected", "not our market", referral.StatusRejected, "admin"},
		{"approved", workflow.ReviewDeadlineNote, referral.StatusInProgress, "deadline"},
	} {
		h, st, s := setup(func(r *referral.Referral) {
			r.Status, r.ReviewOutcome, r.ReviewNote = referral.StatusInReview, tc.outcome, tc.note
		})
		out, err := h.Handle(context.Background(), workflow.CallbackInput{ReferralID: id, Kind: "review", TaskToken: "tok-r"})
		if err != nil || out["waiting"] != false || len(s.successes) != 1 {
			t.Fatalf("%s: %v %v, successes %d", tc.outcome, out, err, len(s.successes))
		}
		if st.r.Status != tc.want || len(st.moved) != 1 {
			t.Fatalf("%s: status %s after %d transitions, want %s", tc.outcome, st.r.Status, len(st.moved), tc.want)
		}
		if ev := st.moved[0]; ev.Type != events.ReferralReviewed || ev.Get("outcome") != tc.outcome || ev.Get("by") != tc.by || ev.Status != string(tc.want) {
			t.Errorf("%s: event %+v", tc.outcome, ev)
		}
	}
	// Applied already (the operator's call did it): nothing moves twice.
	h, st, _ := setup(func(r *referral.Referral) { r.Status, r.ReviewOutcome = referral.StatusInProgress, "approved" })
	if _, err := h.Handle(context.Background(), workflow.CallbackInput{ReferralID: id, Kind: "review", TaskToken: "tok-r"}); err != nil || len(st.moved) != 0 {
		t.Fatalf("an applied decision moved again: %v %d", err, len(st.moved))
	}
}

func TestAwaitErrors(t *testing.T) {
	for name, in := range map[string]workflow.CallbackInput{
		"no token":    {ReferralID: id, Kind: "milestone", Milestone: "won"},
		"no referral": {Kind: "milestone", Milestone: "won", TaskToken: "t"},
	} {
		h, st, s := setup(nil)
		if _, err := h.Handle(context.Background(), in); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if st.cb.WaitToken != "" || len(s.successes) != 0 {
			t.Errorf("%s: wrote or resumed", name)
		}
	}
	h, st, s := setup(nil)
	st.err = errors.New("throttled")
	if _, err := h.Handle(context.Background(), workflow.CallbackInput{ReferralID: id, Kind: "milestone", Milestone: "won", TaskToken: "t"}); !errors.Is(err, st.err) {
		t.Fatalf("store error: %v", err)
	}
	if len(s.successes)+len(s.failures) != 0 {
		t.Fatal("resumed without storing the token")
	}
}
