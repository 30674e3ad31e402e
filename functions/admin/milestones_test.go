package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/referral"
)

// fakeMilestones answers as crm.Ingester.RecordByHand does.
type fakeMilestones struct {
	f     *fakeStore
	err   error
	calls []string
}

func (m *fakeMilestones) RecordByHand(ctx context.Context, id, milestone, reason, actor string) (crm.ByHand, error) {
	m.calls = append(m.calls, id+" "+milestone+" "+reason+" "+actor)
	r, _ := m.f.Referral(ctx, id)
	if m.err != nil {
		return crm.ByHand{Referral: r}, m.err
	}
	r.Milestones[milestone] = now
	return crm.ByHand{Referral: r, Outcome: crm.OutcomeMilestone}, nil
}

func TestAdminRecordsAMilestoneByHand(t *testing.T) {
	params := map[string]string{"id": refID}
	f := newFakeStore()
	h := newHandler(f, &fakeSFN{outputs: map[string]string{}})
	m := &fakeMilestones{f: f}
	h.Milestones = m
	a := call(t, h, request(http.MethodPost, "/admin/referrals/{id}/milestones", params, `{"milestone":"won","reason":"Signed on paper"}`))
	ms, _ := a.body["milestones"].([]any)
	if a.status != http.StatusOK || a.body["recorded"] != true || a.body["milestone"] != "won" || len(ms) != 2 ||
		ms[1].(map[string]any)["name"] != "won" {
		t.Fatalf("record: %d %v", a.status, a.body)
	}
	if len(m.calls) != 1 || m.calls[0] != refID+" won Signed on paper admin" {
		t.Fatalf("calls %v", m.calls)
	}
	cases := []struct {
		name, body string
		params     map[string]string
		err        error
		status     int
		code       string
	}{
		{"no reason", `{"milestone":"won"}`, params, nil, 400, "invalid_request"},
		{"a reason too long", `{"milestone":"won","reason":"` + strings.Repeat("x", crm.MaxReason+1) + `"}`, params, nil, 400, "invalid_request"},
		{"no milestone", `{"reason":"why"}`, params, nil, 400, "invalid_request"},
		{"not JSON", `milestone=won`, params, nil, 400, "invalid_request"},
		{"not the program's", `{"milestone":"signed","reason":"why"}`, params, crm.ErrUnknownMilestone, 400, "invalid_request"},
		{"reached", `{"milestone":"qualified","reason":"why"}`, params, crm.ErrReached, 409, "milestone_reached"},
		{"ended", `{"milestone":"won","reason":"why"}`, params, crm.ErrEnded, 409, "referral_ended"},
		{"unknown referral", `{"milestone":"won","reason":"why"}`, map[string]string{"id": otherID}, nil, 404, "not_found"},
		{"transient", `{"milestone":"won","reason":"why"}`, params, context.DeadlineExceeded, 503, "temporarily_unavailable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeStore()
			h := newHandler(f, &fakeSFN{outputs: map[string]string{}})
			m := &fakeMilestones{f: f, err: c.err}
			h.Milestones = m
			a := call(t, h, request(http.MethodPost, "/admin/referrals/{id}/milestones", c.params, c.body))
			if e, _ := a.body["error"].(map[string]any); a.status != c.status || e["code"] != c.code {
				t.Fatalf("%d %v", a.status, a.body)
			}
			if c.err == nil && len(m.calls) != 0 {
				t.Fatalf("a refused request was recorded: %v", m.calls)
			}
		})
	}
}

// The admin view shows who recorded a milestone by hand and why, in the
// milestones and the activity.
func TestAdminViewShowsAMilestoneRecordedByHand(t *testing.T) {
	f := newFakeStore()
	f.referrals[refID].HandNotes = []referral.MilestoneNote{{Milestone: "qualified", By: "admin", Reason: "Called the buyer", At: now}}
	h := newHandler(f, &fakeSFN{outputs: map[string]string{}})
	a := call(t, h, request(http.MethodGet, "/admin/referrals/{id}", map[string]string{"id": refID}, ""))
	ms, _ := a.body["milestones"].([]any)
	var note map[string]any
	for _, x := range ms {
		if m := x.(map[string]any); m["name"] == "qualified" {
			note, _ = m["recorded_by_hand"].(map[string]any)
		}
	}
	if a.status != 200 || note["reason"] != "Called the buyer" || note["by"] != "admin" {
		t.Fatalf("view %d %v", a.status, a.body)
	}
}
