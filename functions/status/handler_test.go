package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

type fakeStore struct {
	referrals  map[string]*referral.Referral
	programs   map[string]*program.Program
	rewards    map[string][]rewards.Reward
	readErr    error
	rewardsErr error
	programErr error
}

func (f *fakeStore) Referral(_ context.Context, id string) (*referral.Referral, error) {
	if f.readErr != nil {
		return nil, f.readErr
	}
	r, ok := f.referrals[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return r, nil
}

func (f *fakeStore) ProgramVersion(_ context.Context, id string, v int) (*program.Program, error) {
	if f.programErr != nil {
		return nil, f.programErr
	}
	p, ok := f.programs[id]
	if !ok || p.Version != v {
		return nil, store.ErrNotFound
	}
	return p, nil
}

func (f *fakeStore) Rewards(_ context.Context, id string) ([]rewards.Reward, error) {
	return f.rewards[id], f.rewardsErr
}

var (
	t0 = time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	id = "ref_01J0000000000000000000000A"
)

const token = "s3cret-token_AZ"

func setup() (*Handler, *fakeStore) {
	st := &fakeStore{
		referrals: map[string]*referral.Referral{id: {
			ID: id, ProgramID: "partners", ProgramVersion: 2, Status: referral.StatusInProgress,
			ReferrerCode: "ann-42", RefereeEmail: "bob@acme.io", RefereeName: "Bob Builder", RefereeCompany: "Acme",
			RefereePhone: "+1 555 0100", Message: "call Bob", StatusTokenHash: referral.HashToken(token),
			Milestones: map[string]time.Time{"qualified": t0}, UpdatedAt: t0.Add(time.Hour),
		}},
		// Version 2 is frozen on the referral; version 3 has other milestones.
		programs: map[string]*program.Program{"partners": {ID: "partners", Version: 2, Milestones: []program.Milestone{{Name: "qualified"}, {Name: "demo"}, {Name: "won"}}}},
		rewards: map[string][]rewards.Reward{id: {
			{ID: "rw_1", ReferralID: id, Milestone: "qualified", Party: "referrer", ReferrerCode: "ann-42", Kind: "cash", AmountMinor: 10000, Currency: "USD", Status: rewards.StatusPaid},
			{ID: "rw_2", ReferralID: id, Milestone: "won", Party: "referee", Kind: "discount", AmountMinor: 5000, Currency: "JPY", Status: rewards.StatusOnHold},
		}},
	}
	return &Handler{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, st
}

func get(t *testing.T, h *Handler, id, tok string) apigw.Response {
	t.Helper()
	req := apigw.Request{PathParameters: map[string]string{"id": id}}
	if tok != "" {
		req.QueryStringParameters = map[string]string{"token": tok}
	}
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestStatusWithRightToken(t *testing.T) {
	h, _ := setup()
	resp := get(t, h, id, token)
	if resp.StatusCode != 200 || resp.Headers["content-type"] != "application/json" || resp.Headers["cache-control"] != "no-store" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Headers)
	}
	want := `{"referral_id":"` + id + `","program":"partners","status":"in_progress",` +
		`"milestones":[{"name":"qualified","reached_at":"2026-07-01T08:00:00Z"},{"name":"demo","reached_at":null},{"name":"won","reached_at":null}],` +
		`"rewards":[{"milestone":"qualified","party":"referrer","kind":"cash","amount":"100.00","amount_minor":10000,"currency":"USD","status":"paid"},` +
		`{"milestone":"won","party":"referee","kind":"discount","amount":"5000","amount_minor":5000,"currency":"JPY","status":"on_hold"}],` +
		`"updated_at":"2026-07-01T09:00:00Z"}`
	if resp.Body != want {
		t.Fatalf("body\n got %s\nwant %s", resp.Body, want)
	}
	for _, pii := range []string{"bob@acme.io", "Bob", "Acme", "555", "call", "ann-42", token, referral.HashToken(token)} {
		if strings.Contains(resp.Body, pii) {
			t.Errorf("the status body contains %q", pii)
		}
	}
}

func TestStatusEmptyLists(t *testing.T) {
	h, st := setup()
	st.rewards = nil
	st.referrals[id].Milestones = map[string]time.Time{}
	st.programs["partners"].Milestones = nil
	resp := get(t, h, id, token)
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"milestones":[],"rewards":[]`) {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
}

func TestStatusProgramUnreadable(t *testing.T) {
	h, st := setup()
	st.programErr = errors.New("throttled")
	resp := get(t, h, id, token)
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"milestones":[{"name":"qualified","reached_at":"2026-07-01T08:00:00Z"}]`) {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
}

func TestStatusNotFoundIsUniform(t *testing.T) {
	h, _ := setup()
	want := `{"error":{"code":"not_found","message":"no referral with this id and token"}}`
	cases := map[string][2]string{
		"wrong token":       {id, "wrong"},
		"token of the hash": {id, referral.HashToken(token)},
		"no token":          {id, ""},
		"unknown id":        {"ref_01J0000000000000000000000B", token},
		"invalid id shape":  {"ref_123", token},
		"lower-case id":     {strings.ToLower(id), token},
		"path traversal":    {"../admin", token},
		"empty id":          {"", token},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			resp := get(t, h, c[0], c[1])
			if resp.StatusCode != 404 || resp.Body != want {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
		})
	}
}

func TestStatusStoreFailure(t *testing.T) {
	for name, mod := range map[string]func(*fakeStore){
		"referral": func(st *fakeStore) { st.readErr = errors.New("throttled") },
		"rewards":  func(st *fakeStore) { st.rewardsErr = errors.New("throttled") },
	} {
		h, st := setup()
		mod(st)
		if resp := get(t, h, id, token); resp.StatusCode != 503 {
			t.Errorf("%s: %d %s", name, resp.StatusCode, resp.Body)
		}
	}
}
