package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/referflow/referflow/internal/activity"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/rewardstest"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

const (
	refID   = "ref_01JB0000000000000000000000"
	otherID = "ref_01JB0000000000000000000001"
)

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// fakeStore keeps one program and referrals in memory, with the store's
// conditional semantics for reviews and transitions; rewards and events
// live in the in-memory rewards repository (conditional status changes,
// exactly-once payment, each change written with its event), which the
// rewards service of the handler shares.
type fakeStore struct {
	*rewardstest.Repo
	referrals map[string]*referral.Referral
	callbacks map[string]workflow.Callbacks // stored beside each referral
	fail      error
	payout    program.Payout // the program's rails
}

func newFakeStore() *fakeStore {
	f := &fakeStore{Repo: rewardstest.New(), referrals: map[string]*referral.Referral{}, callbacks: map[string]workflow.Callbacks{refID: {ReviewToken: "tok-1"}}}
	f.referrals[refID] = &referral.Referral{ID: refID, ProgramID: "p", ProgramVersion: 1, Status: referral.StatusInReview,
		ReferrerCode: "ACME", RefereeEmail: "jane@acme.example", RefereeName: "Jane", RefereeCompany: "Acme",
		Decision: "review", Reasons: []referral.Reason{{Code: "icp_mismatch", Message: "country not in the ICP"}},
		Milestones: map[string]time.Time{"qualified": now.Add(-time.Hour)}}
	return f
}

func (f *fakeStore) Referral(_ context.Context, id string) (*referral.Referral, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	r, ok := f.referrals[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	cp := *r
	return &cp, nil
}

func (f *fakeStore) ProgramVersion(context.Context, string, int) (*program.Program, error) {
	return &program.Program{Milestones: []program.Milestone{{Name: "qualified"}, {Name: "won"}}, Payout: f.payout}, nil
}

func (f *fakeStore) Reward(_ context.Context, id, milestone, party string) (*rewards.Reward, error) {
	rw, ok := f.Get(id, milestone, party)
	if !ok {
		return nil, store.ErrNotFound
	}
	return &rw, nil
}

func (f *fakeStore) RecordReview(_ context.Context, id, outcome, note string, _ time.Time) (*workflow.Waiting, bool, error) {
	r := f.referrals[id]
	if r.Status != referral.StatusInReview || r.ReviewOutcome != "" {
		cp := *r
		return &workflow.Waiting{Referral: &cp, Callbacks: f.callbacks[id]}, false, nil
	}
	r.ReviewOutcome, r.ReviewNote = outcome, note
	cp := *r
	return &workflow.Waiting{Referral: &cp, Callbacks: f.callbacks[id]}, true, nil
}

// Transition mirrors store.Transition: allowed from referral.From(to), a
// terminal status repeated is a no-op that records nothing, and the event
// is recorded with the move.
func (f *fakeStore) Transition(ctx context.Context, id string, to referral.Status, _ time.Time, _ map[string]any, ev events.Event) error {
	r := f.referrals[id]
	if r.Status == to && to.Terminal() {
		return nil
	}
	if !slices.Contains(referral.From(to), r.Status) {
		return store.ErrConflict
	}
	if err := f.Record(ctx, ev); err != nil {
		return err
	}
	r.Status = to
	return nil
}

// paid counts the rewards paid (payable ledger entries).
func (f *fakeStore) paid() int {
	n := 0
	for _, e := range f.Entries() {
		if e.Type == rewards.EntryPayable {
			n++
		}
	}
	return n
}

// fakeSFN records SendTaskSuccess calls; a token resumed twice is closed.
type fakeSFN struct {
	outputs map[string]string
}

func (s *fakeSFN) StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	return &sfn.StartExecutionOutput{}, nil
}

func (s *fakeSFN) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	if _, done := s.outputs[*in.TaskToken]; done {
		return nil, &sfntypes.InvalidToken{}
	}
	s.outputs[*in.TaskToken] = *in.Output
	return &sfn.SendTaskSuccessOutput{}, nil
}

func (s *fakeSFN) SendTaskFailure(context.Context, *sfn.SendTaskFailureInput, ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	return &sfn.SendTaskFailureOutput{}, nil
}

func request(method, routePath string, params map[string]string, body string) lambdaevents.APIGatewayV2HTTPRequest {
	req := lambdaevents.APIGatewayV2HTTPRequest{RouteKey: method + " " + routePath, PathParameters: params, Body: body,
		Headers: map[string]string{"content-type": "application/json"}}
	req.RequestContext.HTTP.Method = method
	return req
}

func reviewReq(id, body string) lambdaevents.APIGatewayV2HTTPRequest {
	return request(http.MethodPost, "/admin/referrals/{id}/review", map[string]string{"id": id}, body)
}

func approveReq(id, milestone, party string) lambdaevents.APIGatewayV2HTTPRequest {
	return request(http.MethodPost, "/admin/rewards/{referral_id}/{milestone}/{party}/approve",
		map[string]string{"referral_id": id, "milestone": milestone, "party": party}, "")
}

type answer struct {
	status int
	body   map[string]any
}

func call(t *testing.T, h *Handler, req lambdaevents.APIGatewayV2HTTPRequest) answer {
	t.Helper()
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, resp.Body)
	}
	return answer{resp.StatusCode, body}
}

func errCode(a answer) string {
	e, _ := a.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func newHandler(f *fakeStore, s *fakeSFN) *Handler {
	clock := func() time.Time { return now }
	return &Handler{Store: f, Rewards: &rewards.Service{Repo: f.Repo, Now: clock}, SFN: s, Now: clock,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestGetReferral(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		fail   error
		status int
		code   string
	}{
		{"found", refID, nil, 200, ""},
		{"unknown id", otherID, nil, 404, "not_found"},
		{"malformed id", "nope", nil, 404, "not_found"},
		{"store down", refID, errors.New("throttled"), 503, "temporarily_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStore()
			f.fail = tt.fail
			f.Put(rewards.Reward{ID: "rw_1", ReferralID: refID, Milestone: "qualified", Party: "referrer", Status: rewards.StatusOnHold, AmountMinor: 100})
			received := events.New(events.ReferralReceived, refID, events.ActorIntake, now).With("referrer_code", "ACME")
			received.ProgramID, received.ProgramVersion = "p", 1
			if err := f.Record(context.Background(), received); err != nil {
				t.Fatal(err)
			}
			a := call(t, newHandler(f, &fakeSFN{outputs: map[string]string{}}), request(http.MethodGet, "/admin/referrals/{id}", map[string]string{"id": tt.id}, ""))
			if a.status != tt.status || errCode(a) != tt.code {
				t.Fatalf("answer %d %q, want %d %q: %v", a.status, errCode(a), tt.status, tt.code, a.body)
			}
			if tt.status != 200 {
				return
			}
			referee := a.body["referee"].(map[string]any)
			if referee["email"] != "jane@acme.example" || a.body["status"] != "in_review" {
				t.Errorf("view lacks the referee or status: %v", a.body)
			}
			if n := len(a.body["rewards"].([]any)); n != 1 {
				t.Errorf("%d rewards, want 1", n)
			}
			if lines := a.body["activity"].([]any); len(lines) != 1 {
				t.Errorf("%d activity lines, want 1", len(lines))
			} else if l := lines[0].(map[string]any); l["type"] != "referral.received" || l["actor"] != "intake" ||
				l["detail"] != "Referral received from referrer ACME under program p version 1" {
				t.Errorf("activity line %v", l)
			}
			ms := a.body["milestones"].([]any)
			if len(ms) != 2 || ms[0].(map[string]any)["reached_at"] == nil || ms[1].(map[string]any)["reached_at"] != nil {
				t.Errorf("milestones %v", ms)
			}
			if reasons := a.body["reasons"].([]any); len(reasons) != 1 {
				t.Errorf("reasons %v", reasons)
			}
		})
	}
}

func TestReview(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		body    string
		setup   func(*fakeStore)
		status  int
		code    string
		field   string
		want    referral.Status
		resumed string // the SendTaskSuccess output, "" = none
		// reviewed: the decision applied now, recorded as one
		// referral.reviewed event (else no event at all)
		reviewed bool
	}{
		{name: "approve", id: refID, body: `{"decision":"approve","reason":"strategic account"}`, status: 200,
			want: referral.StatusInProgress, resumed: `{"outcome":"approved","by":"admin"}`, reviewed: true},
		{name: "reject", id: refID, body: `{"decision":"reject","reason":"competitor"}`, status: 200,
			want: referral.StatusRejected, resumed: `{"outcome":"rejected","by":"admin"}`, reviewed: true},
		{name: "workflow not waiting yet", id: refID, body: `{"decision":"approve","reason":"ok"}`, status: 200,
			setup: func(f *fakeStore) { f.callbacks[refID] = workflow.Callbacks{} }, want: referral.StatusInProgress, reviewed: true},
		{name: "same decision again", id: refID, body: `{"decision":"approve","reason":"again"}`, status: 200,
			setup: func(f *fakeStore) {
				f.referrals[refID].ReviewOutcome = "approved"
				f.referrals[refID].Status = referral.StatusInProgress
			}, want: referral.StatusInProgress, resumed: `{"outcome":"approved","by":"admin"}`},
		{name: "other decision already made", id: refID, body: `{"decision":"reject","reason":"changed my mind"}`, status: 409, code: "already_reviewed",
			setup: func(f *fakeStore) {
				f.referrals[refID].ReviewOutcome = "approved"
				f.referrals[refID].Status = referral.StatusInProgress
			}, want: referral.StatusInProgress},
		{name: "not in review", id: refID, body: `{"decision":"approve","reason":"ok"}`, status: 409, code: "not_in_review",
			setup: func(f *fakeStore) { f.referrals[refID].Status = referral.StatusInProgress }, want: referral.StatusInProgress},
		{name: "deadline applied first", id: refID, body: `{"decision":"approve","reason":"late"}`, status: 409, code: "not_in_review",
			setup: func(f *fakeStore) { f.referrals[refID].Status = referral.StatusRejected }, want: referral.StatusRejected},
		{name: "unknown referral", id: otherID, body: `{"decision":"approve","reason":"ok"}`, status: 404, code: "not_found", want: referral.StatusInReview},
		{name: "not JSON", id: refID, body: `decision=approve`, status: 400, code: "invalid_request", field: "body", want: referral.StatusInReview},
		{name: "no decision", id: refID, body: `{"reason":"ok"}`, status: 400, code: "invalid_request", field: "decision", want: referral.StatusInReview},
		{name: "bad decision", id: refID, body: `{"decision":"maybe","reason":"ok"}`, status: 400, code: "invalid_request", field: "decision", want: referral.StatusInReview},
		{name: "no reason", id: refID, body: `{"decision":"approve","reason":"  "}`, status: 400, code: "invalid_request", field: "reason", want: referral.StatusInReview},
		{name: "too large", id: refID, body: `{"decision":"approve","reason":"` + strings.Repeat("x", maxBody) + `"}`, status: 413, code: "body_too_large", want: referral.StatusInReview},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStore()
			if tt.setup != nil {
				tt.setup(f)
			}
			s := &fakeSFN{outputs: map[string]string{}}
			h := newHandler(f, s)
			a := call(t, h, reviewReq(tt.id, tt.body))
			if a.status != tt.status || errCode(a) != tt.code {
				t.Fatalf("answer %d %q, want %d %q: %v", a.status, errCode(a), tt.status, tt.code, a.body)
			}
			if tt.field != "" {
				fields, _ := a.body["error"].(map[string]any)["fields"].(map[string]any)
				if _, ok := fields[tt.field]; !ok {
					t.Errorf("fields %v do not name %s", fields, tt.field)
				}
			}
			if got := f.referrals[refID].Status; got != tt.want {
				t.Errorf("status %s, want %s", got, tt.want)
			}
			if got := s.outputs["tok-1"]; got != tt.resumed {
				t.Errorf("resumed with %q, want %q", got, tt.resumed)
			}
			if tt.status == 200 && a.body["resumed"] != (tt.resumed != "") {
				t.Errorf("resumed=%v in the answer", a.body["resumed"])
			}
			evs := f.AllEvents()
			if tt.reviewed != (len(evs) == 1) || (tt.reviewed && (evs[0].Type != events.ReferralReviewed || evs[0].Status != string(tt.want))) ||
				(!tt.reviewed && len(evs) != 0) {
				t.Errorf("events %+v, want a review event: %v", evs, tt.reviewed)
			}
		})
	}
}

// TestReviewTwice: the second identical call records nothing new.
func TestReviewTwice(t *testing.T) {
	f := newFakeStore()
	h := newHandler(f, &fakeSFN{outputs: map[string]string{}})
	for i := 0; i < 2; i++ {
		if a := call(t, h, reviewReq(refID, `{"decision":"approve","reason":"fits"}`)); a.status != 200 {
			t.Fatalf("call %d: %d %v", i+1, a.status, a.body)
		}
	}
	evs := f.AllEvents()
	if len(evs) != 1 {
		t.Fatalf("events %+v, want one review event", evs)
	}
	ev, line := evs[0], activity.Describe(evs[0])
	if ev.Type != events.ReferralReviewed || ev.Actor != events.ActorAdmin || ev.ReferralID != refID || ev.Status != string(referral.StatusInProgress) ||
		ev.Get("outcome") != "approved" || ev.Get("by") != "admin" || ev.ProgramID != "p" || ev.ProgramVersion != 1 ||
		line.Detail != "Manual review: approved by an admin" {
		t.Fatalf("event %+v, activity %q", ev, line.Detail)
	}
	for _, v := range ev.Data {
		if strings.Contains(v, "fits") {
			t.Fatalf("the reviewer's free text is in the event: %v", ev.Data)
		}
	}
}

func TestApproveReward(t *testing.T) {
	reward := func(status rewards.Status, needs bool, holdUntil time.Time, reason string) *rewards.Reward {
		rw := &rewards.Reward{ID: "rw_1", ReferralID: refID, ProgramID: "p", Milestone: "won", Party: "referrer",
			AmountMinor: 300000, Currency: "USD", Status: status, NeedsApproval: needs, HoldUntil: holdUntil, StatusReason: reason}
		if reason == rewards.ReasonBudget || reason == rewards.ReasonCap || reason == rewards.ReasonNextPeriod {
			rw.Limited = reason // as the store records a reward left out by a limit
		}
		return rw
	}
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	tests := []struct {
		name     string
		reward   *rewards.Reward
		party    string
		status   int
		code     string
		want     rewards.Status
		paid     int
		override bool
		event    events.Type // the one event the calls record ("" = none)
	}{
		{name: "awaiting approval after the hold", reward: reward(rewards.StatusPending, true, past, "awaiting approval"), status: 200, want: rewards.StatusPaid, paid: 1, event: events.RewardPaid},
		{name: "budget exhausted: an override", reward: reward(rewards.StatusPending, true, past, "budget exhausted"), status: 200, want: rewards.StatusPaid, paid: 1, override: true, event: events.RewardPaid},
		{name: "still on hold: approved, paid by the workflow", reward: reward(rewards.StatusOnHold, true, future, ""), status: 200, want: rewards.StatusApproved, event: events.RewardApproved},
		{name: "paid already", reward: reward(rewards.StatusPaid, true, past, ""), status: 200, want: rewards.StatusPaid},
		{name: "voided", reward: reward(rewards.StatusVoided, true, past, "deal lost"), status: 409, code: "not_payable", want: rewards.StatusVoided},
		{name: "no approval needed", reward: reward(rewards.StatusOnHold, false, future, ""), status: 409, code: "approval_not_required", want: rewards.StatusOnHold},
		{name: "unknown reward", status: 404, code: "not_found"},
		{name: "unknown party", party: "broker", reward: reward(rewards.StatusPending, true, past, ""), status: 404, code: "not_found", want: rewards.StatusPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStore()
			if tt.reward != nil {
				f.Put(*tt.reward)
			}
			party := tt.party
			if party == "" {
				party = "referrer"
			}
			h := newHandler(f, &fakeSFN{outputs: map[string]string{}})
			for i := 0; i < 2; i++ { // a repeat changes nothing
				a := call(t, h, approveReq(refID, "won", party))
				if a.status != tt.status || errCode(a) != tt.code {
					t.Fatalf("call %d: answer %d %q, want %d %q: %v", i+1, a.status, errCode(a), tt.status, tt.code, a.body)
				}
				if tt.status == 200 && a.body["status"] != string(tt.want) {
					t.Errorf("call %d: reward %v, want %s", i+1, a.body["status"], tt.want)
				}
			}
			if f.paid() != tt.paid {
				t.Errorf("paid %d times, want %d", f.paid(), tt.paid)
			}
			if stored, _ := f.Get(refID, "won", "referrer"); tt.reward != nil && stored.Status != tt.want {
				t.Errorf("stored status %s, want %s", stored.Status, tt.want)
			}
			checkApproveEvents(t, f, tt.event, tt.override)
		})
	}
}

// checkApproveEvents: the approval recorded exactly the event want (none
// when ""), by the admin, about the reward; a paid reward that did not fit
// the program's limits carries the override (data and activity line).
func checkApproveEvents(t *testing.T, f *fakeStore, want events.Type, override bool) {
	t.Helper()
	evs := f.AllEvents()
	var types []events.Type
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	if (want == "" && len(evs) != 0) || (want != "" && !slices.Equal(types, []events.Type{want})) {
		t.Fatalf("events %v, want %q", types, want)
	}
	for _, ev := range evs {
		line := activity.Describe(ev)
		if ev.RewardID != "rw_1" || ev.ReferralID != refID || ev.Actor != events.ActorAdmin || !strings.Contains(line.Detail, "approved by an admin") {
			t.Errorf("event %+v, activity %q", ev, line.Detail)
		}
		got := ev.Get("override") != "" || strings.Contains(line.Detail, "override")
		if got != override || (override && (ev.Get("override") != "budget exhausted" ||
			!strings.Contains(line.Detail, "(an override: it did not fit the program's limits: budget exhausted)"))) {
			t.Errorf("event data %v, activity %q: override=%v expected", ev.Data, line.Detail, override)
		}
	}
}

func TestUnknownRoute(t *testing.T) {
	a := call(t, newHandler(newFakeStore(), &fakeSFN{}), request(http.MethodDelete, "/admin/referrals/{id}", map[string]string{"id": refID}, ""))
	if a.status != 404 {
		t.Fatalf("answer %d", a.status)
	}
}

func declineReq(id, milestone, party, body string) lambdaevents.APIGatewayV2HTTPRequest {
	return request(http.MethodPost, "/admin/rewards/{referral_id}/{milestone}/{party}/decline",
		map[string]string{"referral_id": id, "milestone": milestone, "party": party}, body)
}

// A person declines a reward that waits for them: it is voided with their
// reason (kept on the reward, not in the event) and its reservation goes
// back to the budget; a repeat changes nothing; anything else is refused
// and changes nothing.
func TestDeclineReward(t *testing.T) {
	counter := rewards.BudgetCounter("2026-11")
	reward := func(status rewards.Status, needs bool, reserved bool) *rewards.Reward {
		rw := &rewards.Reward{ID: "rw_1", ReferralID: refID, ProgramID: "p", Milestone: "won", Party: "referrer",
			AmountMinor: 300000, Currency: "USD", Status: status, NeedsApproval: needs, HoldUntil: now.Add(-time.Minute)}
		if reserved {
			rw.Reserved = []rewards.Reservation{{Counter: counter, AmountMinor: 300000}}
		}
		return rw
	}
	const why = `{"reason":"a duplicate of a partner deal"}`
	tests := []struct {
		name   string
		reward *rewards.Reward
		body   string
		status int
		code   string
		want   rewards.Status
		spent  int64 // the budget counter afterwards (500000 before)
	}{
		{"awaiting approval, reserved: voided, budget given back", reward(rewards.StatusPending, true, true), why, 200, "", rewards.StatusVoided, 200000},
		{"approved during its hold: still declinable", reward(rewards.StatusApproved, true, true), why, 200, "", rewards.StatusVoided, 200000},
		{"paid", reward(rewards.StatusPaid, true, false), why, 409, "not_payable", rewards.StatusPaid, 500000},
		{"no approval needed", reward(rewards.StatusOnHold, false, true), why, 409, "approval_not_required", rewards.StatusOnHold, 500000},
		{"no reason", reward(rewards.StatusPending, true, true), `{"reason":"  "}`, 400, "invalid_request", rewards.StatusPending, 500000},
		{"not JSON", reward(rewards.StatusPending, true, true), `reason=x`, 400, "invalid_request", rewards.StatusPending, 500000},
		{"unknown reward", nil, why, 404, "not_found", "", 500000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStore()
			if tt.reward != nil {
				f.Put(*tt.reward)
			}
			f.SetSpent("p", counter, 500000) // this reward's 300000 and others'
			h := newHandler(f, &fakeSFN{})
			for i := 0; i < 2; i++ {
				a := call(t, h, declineReq(refID, "won", "referrer", tt.body))
				if a.status != tt.status || errCode(a) != tt.code {
					t.Fatalf("call %d: answer %d %q, want %d %q: %v", i+1, a.status, errCode(a), tt.status, tt.code, a.body)
				}
			}
			if got := f.Spent("p", counter); got != tt.spent {
				t.Errorf("budget counter %d, want %d", got, tt.spent)
			}
			stored, ok := f.Get(refID, "won", "referrer")
			if tt.reward != nil && (!ok || stored.Status != tt.want) {
				t.Fatalf("stored %+v, want %s", stored, tt.want)
			}
			evs := f.AllEvents()
			if tt.status != 200 {
				if len(evs) != 0 {
					t.Errorf("a refused decline recorded %v", evs)
				}
				return
			}
			if stored.StatusReason != "declined: a duplicate of a partner deal" {
				t.Errorf("status reason %q", stored.StatusReason)
			}
			if len(evs) != 1 || evs[0].Type != events.RewardVoided || evs[0].Get("reason") != rewards.ReasonDeclined || evs[0].Actor != events.ActorAdmin {
				t.Fatalf("events %+v", evs)
			}
			for _, v := range evs[0].Data {
				if strings.Contains(v, "duplicate") {
					t.Errorf("the person's words reached the event: %v", evs[0].Data)
				}
			}
		})
	}
}
