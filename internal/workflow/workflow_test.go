package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/referflow/referflow/internal/referral"
)

// fakeSFN records every call and answers with err (nil: success).
type fakeSFN struct {
	err       error
	starts    []*sfn.StartExecutionInput
	successes []*sfn.SendTaskSuccessInput
	failures  []*sfn.SendTaskFailureInput
}

func (f *fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.starts = append(f.starts, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:exec")}, nil
}

func (f *fakeSFN) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	f.successes = append(f.successes, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sfn.SendTaskSuccessOutput{}, nil
}

func (f *fakeSFN) SendTaskFailure(_ context.Context, in *sfn.SendTaskFailureInput, _ ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	f.failures = append(f.failures, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sfn.SendTaskFailureOutput{}, nil
}

var _ SFN = (*fakeSFN)(nil)

var (
	t0      = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	errBoom = errors.New("throttled")
)

func waiting(milestone string) *Waiting {
	return &Waiting{Referral: &referral.Referral{ID: "ref_1", Status: referral.StatusInProgress, Milestones: map[string]time.Time{}},
		Callbacks: Callbacks{WaitMilestone: milestone, WaitToken: "tok-1"}}
}

func TestResume(t *testing.T) {
	lost := t0.Add(time.Hour)
	cases := []struct {
		name        string
		r           *Waiting
		err         error
		wantSent    bool
		wantErr     bool
		wantSuccess string // expected Output JSON
		wantFailure string // expected Cause
	}{
		{"milestone reached", func() *Waiting {
			r := waiting("won")
			r.Milestones["qualified"], r.Milestones["won"] = t0, t0.Add(time.Minute)
			return r
		}(), nil, true, false, `{"milestone":"won","reached_at":"2026-03-01T12:01:00Z"}`, ""},
		{"lost beats reached", func() *Waiting {
			r := waiting("won")
			r.Milestones["won"] = t0
			r.LostAt, r.LostReason = &lost, "lost"
			return r
		}(), nil, true, false, "", "the deal was lost in the CRM"},
		{"deleted", func() *Waiting {
			r := waiting("won")
			r.LostAt, r.LostReason = &lost, "deleted"
			return r
		}(), nil, true, false, "", "the deal was deleted in the CRM"},
		{"other milestone reached: nothing to do", func() *Waiting {
			r := waiting("won")
			r.Milestones["qualified"] = t0
			return r
		}(), nil, false, false, "", ""},
		{"no token", func() *Waiting {
			r := waiting("won")
			r.WaitToken = ""
			r.Milestones["won"] = t0
			return r
		}(), nil, false, false, "", ""},
		{"no wait milestone", func() *Waiting {
			r := waiting("")
			r.Milestones["won"] = t0
			return r
		}(), nil, false, false, "", ""},
		{"terminal referral", func() *Waiting {
			r := waiting("won")
			r.Status = referral.StatusCompleted
			r.Milestones["won"] = t0
			return r
		}(), nil, false, false, "", ""},
		{"closed: invalid token", reachedWon(), &sfntypes.InvalidToken{Message: aws.String("x")}, false, false, `{"milestone":"won","reached_at":"2026-03-01T12:00:00Z"}`, ""},
		{"closed: task does not exist", reachedWon(), &sfntypes.TaskDoesNotExist{}, false, false, `{"milestone":"won","reached_at":"2026-03-01T12:00:00Z"}`, ""},
		{"closed: timed out", reachedWon(), &sfntypes.TaskTimedOut{}, false, false, `{"milestone":"won","reached_at":"2026-03-01T12:00:00Z"}`, ""},
		{"closed error wrapped", reachedWon(), errors.Join(errors.New("op"), &sfntypes.TaskTimedOut{}), false, false, `{"milestone":"won","reached_at":"2026-03-01T12:00:00Z"}`, ""},
		{"transient error", reachedWon(), errBoom, false, true, `{"milestone":"won","reached_at":"2026-03-01T12:00:00Z"}`, ""},
		{"transient error on failure", func() *Waiting {
			r := waiting("won")
			r.LostAt, r.LostReason = &lost, "lost"
			return r
		}(), errBoom, false, true, "", "the deal was lost in the CRM"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSFN{err: c.err}
			sent, err := Resume(context.Background(), f, c.r)
			if sent != c.wantSent || (err != nil) != c.wantErr {
				t.Fatalf("Resume = %v, %v; want %v, err %v", sent, err, c.wantSent, c.wantErr)
			}
			if c.wantErr && !errors.Is(err, errBoom) {
				t.Fatalf("error %v does not wrap the cause", err)
			}
			if len(f.starts) != 0 {
				t.Fatal("Resume started an execution")
			}
			switch {
			case c.wantSuccess != "":
				if len(f.successes) != 1 || len(f.failures) != 0 {
					t.Fatalf("calls: %d successes, %d failures", len(f.successes), len(f.failures))
				}
				s := f.successes[0]
				if aws.ToString(s.TaskToken) != "tok-1" || aws.ToString(s.Output) != c.wantSuccess {
					t.Fatalf("SendTaskSuccess(%s, %s), want output %s", aws.ToString(s.TaskToken), aws.ToString(s.Output), c.wantSuccess)
				}
			case c.wantFailure != "":
				if len(f.failures) != 1 || len(f.successes) != 0 {
					t.Fatalf("calls: %d successes, %d failures", len(f.successes), len(f.failures))
				}
				fl := f.failures[0]
				if aws.ToString(fl.TaskToken) != "tok-1" || aws.ToString(fl.Error) != "Referral.Lost" || aws.ToString(fl.Cause) != c.wantFailure {
					t.Fatalf("SendTaskFailure(%s, %s, %s)", aws.ToString(fl.TaskToken), aws.ToString(fl.Error), aws.ToString(fl.Cause))
				}
			default:
				if len(f.successes)+len(f.failures) != 0 {
					t.Fatalf("sent %d successes, %d failures; want none", len(f.successes), len(f.failures))
				}
			}
		})
	}
}

func reachedWon() *Waiting {
	r := waiting("won")
	r.Milestones["won"] = t0
	return r
}

func TestReachedOutputDecodes(t *testing.T) {
	f := &fakeSFN{}
	if _, err := Resume(context.Background(), f, reachedWon()); err != nil {
		t.Fatal(err)
	}
	var got Reached
	if err := json.Unmarshal([]byte(aws.ToString(f.successes[0].Output)), &got); err != nil {
		t.Fatal(err)
	}
	if got.Milestone != "won" || !got.ReachedAt.Equal(t0) {
		t.Fatalf("output %+v", got)
	}
}

func TestResumeReview(t *testing.T) {
	cases := []struct {
		name     string
		token    string
		outcome  string
		err      error
		wantCall bool
		wantSent bool
		wantErr  bool
	}{
		{"approved", "rt", Approved, nil, true, true, false},
		{"rejected", "rt", Rejected, nil, true, true, false},
		{"no decision yet", "rt", "", nil, false, false, false},
		{"no token yet", "", Approved, nil, false, false, false},
		{"closed token", "rt", Approved, &sfntypes.InvalidToken{}, true, false, false},
		{"task gone", "rt", Approved, &sfntypes.TaskDoesNotExist{}, true, false, false},
		{"timed out", "rt", Approved, &sfntypes.TaskTimedOut{}, true, false, false},
		{"transient", "rt", Approved, errBoom, true, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSFN{err: c.err}
			r := &Waiting{Referral: &referral.Referral{ID: "ref_2", Status: referral.StatusInReview, ReviewOutcome: c.outcome},
				Callbacks: Callbacks{ReviewToken: c.token}}
			sent, err := ResumeReview(context.Background(), f, r)
			if sent != c.wantSent || (err != nil) != c.wantErr {
				t.Fatalf("ResumeReview = %v, %v; want %v, err %v", sent, err, c.wantSent, c.wantErr)
			}
			if len(f.failures) != 0 || len(f.starts) != 0 {
				t.Fatal("unexpected failure/start call")
			}
			if !c.wantCall {
				if len(f.successes) != 0 {
					t.Fatalf("sent %d successes, want none", len(f.successes))
				}
				return
			}
			if len(f.successes) != 1 {
				t.Fatalf("sent %d successes, want 1", len(f.successes))
			}
			want := `{"outcome":"` + c.outcome + `","by":"admin"}`
			if aws.ToString(f.successes[0].TaskToken) != "rt" || aws.ToString(f.successes[0].Output) != want {
				t.Fatalf("SendTaskSuccess(%s, %s), want %s", aws.ToString(f.successes[0].TaskToken), aws.ToString(f.successes[0].Output), want)
			}
		})
	}
}

func TestStart(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"started", nil, false},
		{"already exists counts as started", &sfntypes.ExecutionAlreadyExists{Message: aws.String("exists")}, false},
		{"other error", errBoom, true},
		{"limit exceeded is an error", &sfntypes.ExecutionLimitExceeded{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSFN{err: c.err}
			err := Start(context.Background(), f, "arn:aws:states:eu-west-1:1:stateMachine:ReferralWorkflow", "ref_ABC")
			if (err != nil) != c.wantErr {
				t.Fatalf("Start err = %v, wantErr %v", err, c.wantErr)
			}
			if c.wantErr && !errors.Is(err, c.err) {
				t.Fatalf("error %v does not wrap %v", err, c.err)
			}
			if len(f.starts) != 1 {
				t.Fatalf("%d StartExecution calls", len(f.starts))
			}
			in := f.starts[0]
			if aws.ToString(in.StateMachineArn) != "arn:aws:states:eu-west-1:1:stateMachine:ReferralWorkflow" ||
				aws.ToString(in.Name) != "ref_ABC" {
				t.Fatalf("StartExecution(%s, %s)", aws.ToString(in.StateMachineArn), aws.ToString(in.Name))
			}
			// Ids only: the input is exactly {"referral_id": ...}.
			var got map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(in.Input)), &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got["referral_id"] != "ref_ABC" {
				t.Fatalf("execution input %s", aws.ToString(in.Input))
			}
		})
	}
}

func TestFail(t *testing.T) {
	err := Fail(ErrLost, "the deal was lost")
	var ie messages.InvokeResponse_Error
	if !errors.As(err, &ie) {
		t.Fatalf("Fail returned %T, want messages.InvokeResponse_Error", err)
	}
	if ie.Type != "Referral.Lost" || ie.Message != "the deal was lost" {
		t.Fatalf("Fail = %+v", ie)
	}
	for name, want := range map[string]string{ErrLost: "Referral.Lost", ErrExpired: "Referral.Expired"} {
		if name != want {
			t.Errorf("error name %q, want %q (the ASL catches it)", name, want)
		}
	}
}

// Payloads carry ids only (invariant 5): no field of any payload may be a
// personal-data field.
func TestPayloadsCarryIDsOnly(t *testing.T) {
	for _, v := range []any{Input{}, VerifyInput{}, CallbackInput{}, PlanInput{}, WaitPlan{}, VerifyOutput{}, Reached{}, RewardsInput{}, RewardsOutput{}, CompleteInput{}, ReviewDecision{}, Step{}} {
		b, _ := json.Marshal(v)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		for k := range m {
			switch k {
			case "email", "referee_email", "referee_name", "name_of_referee", "referee_phone", "message", "referee_company":
				t.Errorf("%T carries %q", v, k)
			}
		}
	}
}
