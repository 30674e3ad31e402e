package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/referral"
)

type fakeResumer struct {
	res   recovery.Result
	err   error
	calls []string
}

func (f *fakeResumer) Resume(_ context.Context, id, actor string) (recovery.Result, error) {
	f.calls = append(f.calls, id+" by "+actor)
	return f.res, f.err
}

func resumeReq(id string) map[string]string { return map[string]string{"id": id} }

func TestResume(t *testing.T) {
	resumed := recovery.Result{ReferralID: refID, Status: referral.StatusInProgress, Execution: refID + "-3", Action: recovery.Resumed}
	cases := []struct {
		name   string
		id     string
		res    recovery.Result
		err    error
		status int
		code   string
		calls  int
	}{
		{"resumed", refID, resumed, nil, 200, "", 1},
		{"final", refID, recovery.Result{ReferralID: refID, Status: referral.StatusCompleted, Action: recovery.Settled}, recovery.ErrNotResumable, 409, "not_resumable", 1},
		{"resume failed: repeat it", refID, recovery.Result{}, errors.New("throttled"), 503, "temporarily_unavailable", 1},
		{"unknown referral", otherID, resumed, nil, 404, "not_found", 0},
		{"malformed id", "nope", resumed, nil, 404, "not_found", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHandler(newFakeStore(), &fakeSFN{outputs: map[string]string{}})
			r := &fakeResumer{res: c.res, err: c.err}
			h.Resumer = r
			resp, err := h.Handle(context.Background(), request(http.MethodPost, "/admin/referrals/{id}/resume", resumeReq(c.id), `{}`))
			if err != nil || resp.StatusCode != c.status || len(r.calls) != c.calls {
				t.Fatalf("%d %s, calls %v (%v)", resp.StatusCode, resp.Body, r.calls, err)
			}
			if c.calls > 0 && r.calls[0] != c.id+" by "+events.ActorAdmin {
				t.Errorf("calls %v", r.calls)
			}
			if c.code != "" {
				var e struct{ Error struct{ Code string } }
				if json.Unmarshal([]byte(resp.Body), &e); e.Error.Code != c.code {
					t.Errorf("body %s, want code %s", resp.Body, c.code)
				}
				return
			}
			var got recovery.Result
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || got != c.res {
				t.Errorf("body %s (%v)", resp.Body, err)
			}
		})
	}
}

// The admin view shows why a referral needs attention.
func TestReferralViewShowsAttention(t *testing.T) {
	f := newFakeStore()
	a := &referral.Attention{From: referral.StatusInProgress, Error: "Sandbox.Timedout", Cause: "Task timed out after 10.00 seconds", Execution: refID + "-2", At: now}
	f.referrals[refID].Status, f.referrals[refID].Attention = referral.StatusNeedsAttention, a
	h := newHandler(f, &fakeSFN{outputs: map[string]string{}})
	resp, _ := h.Handle(context.Background(), request(http.MethodGet, "/admin/referrals/{id}", resumeReq(refID), ""))
	var v struct {
		Status    string
		Attention *referral.Attention
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &v) != nil || v.Status != "needs_attention" || v.Attention == nil || *v.Attention != *a {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
}
