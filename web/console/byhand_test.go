package console

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
)

// byHand records milestones as crm.Ingester.RecordByHand does, in the
// console's fake store: the milestone, the note with the reason, and the
// deal event by the operator.
type byHand struct {
	st    *fakeStore
	calls []string
}

func (b *byHand) RecordByHand(ctx context.Context, id, milestone, reason, actor string) (crm.ByHand, error) {
	r, err := b.st.Referral(ctx, id)
	if err != nil {
		return crm.ByHand{}, err
	}
	switch {
	case milestone != "qualified" && milestone != "won":
		return crm.ByHand{Referral: r}, crm.ErrUnknownMilestone
	case r.Status.Terminal():
		return crm.ByHand{Referral: r}, crm.ErrEnded
	case r.Reached(milestone):
		return crm.ByHand{Referral: r}, crm.ErrReached
	}
	b.calls = append(b.calls, id+" "+milestone+" "+reason+" "+actor)
	b.st.mu.Lock()
	ref := b.st.referrals[id]
	ref.Milestones[milestone] = t0
	ref.HandNotes = append(ref.HandNotes, referral.MilestoneNote{Milestone: milestone, By: actor, Reason: reason, At: t0})
	b.st.mu.Unlock()
	ev := events.New(events.ReferralDealEvent, id, actor, t0).With("provider", crm.ProviderByHand).With("milestone", milestone).With("outcome", "milestone")
	return crm.ByHand{Outcome: crm.OutcomeMilestone}, b.st.Record(ctx, ev)
}

func TestOperatorRecordsAMilestoneByHandWithAReason(t *testing.T) {
	e := newEnv(t)
	rec := &byHand{st: e.st}
	e.h.Milestones = rec
	e.st.referrals[refID].Status = referral.StatusInProgress
	e.signIn()

	page := e.do("GET", "/console/referrals/"+refID, nil).Body
	for _, want := range []string{`action="/console/referrals/` + refID + `/milestone"`, `<option value="qualified">`, `<option value="won">`, `label for="ms-reason"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("the referral's page lacks %q", want)
		}
	}
	resp := e.post("/console/referrals/"+refID+"/milestone", url.Values{"milestone": {"won"}, "reason": {"Signed on paper; the CRM was down"}})
	if resp.StatusCode != 303 || resp.Headers["location"] != "/console/referrals/"+refID+"?done=milestone" {
		t.Fatalf("record: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	if len(rec.calls) != 1 || !strings.HasPrefix(rec.calls[0], refID+" won Signed on paper; the CRM was down console:") {
		t.Fatalf("recorded %q: want the operator's id as the actor", rec.calls)
	}
	if got := e.sessions.actions(); got[len(got)-1] != "referral.milestone milestone referral,"+refID+",milestone,won" {
		t.Fatalf("audit %q", got)
	}
	if e.sessions.audit[len(e.sessions.audit)-1].Note != "Signed on paper; the CRM was down" {
		t.Fatalf("the audit entry lacks the reason: %+v", e.sessions.audit)
	}
	page = e.do("GET", "/console/referrals/"+refID+"?done=milestone", nil).Body
	for _, want := range []string{"The milestone was recorded.", "Milestone won recorded by hand by " + opEmail + ": Signed on paper; the CRM was down",
		"(recorded by hand)", `<option value="qualified">`} {
		if !strings.Contains(page, want) {
			t.Errorf("after recording, the page lacks %q", want)
		}
	}
	if strings.Contains(page, `<option value="won">`) {
		t.Error("a reached milestone is still offered")
	}
}

func TestMilestoneByHandRefusalsLeaveNothingBehind(t *testing.T) {
	tests := []struct {
		name   string
		form   url.Values
		status int
		audit  string
	}{
		{"no reason", url.Values{"milestone": {"won"}}, 400, ""},
		{"no milestone", url.Values{"reason": {"why"}}, 400, ""},
		{"a reason too long", url.Values{"milestone": {"won"}, "reason": {strings.Repeat("x", maxReason+1)}}, 400, ""},
		{"not the program's", url.Values{"milestone": {"signed"}, "reason": {"why"}}, 400, ""},
		{"reached already", url.Values{"milestone": {"qualified"}, "reason": {"why"}}, 409, "referral.milestone refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rec := &byHand{st: e.st}
			e.h.Milestones = rec
			e.st.referrals[refID].Milestones["qualified"] = t0
			e.signIn()
			resp := e.post("/console/referrals/"+refID+"/milestone", tt.form)
			if resp.StatusCode != tt.status || len(rec.calls) != 0 {
				t.Fatalf("answer %d (want %d), %d recorded", resp.StatusCode, tt.status, len(rec.calls))
			}
			got := e.sessions.actions()
			if last := got[len(got)-1]; (tt.audit == "") != (last == "sign-in ok ") || !strings.HasPrefix(last, tt.audit) {
				t.Fatalf("audit %q", got)
			}
		})
	}
	e := newEnv(t)
	e.h.Milestones = &byHand{st: e.st}
	e.signIn()
	if resp := e.do("POST", "/console/referrals/"+refID+"/milestone", url.Values{"milestone": {"won"}, "reason": {"why"}}); resp.StatusCode != 403 {
		t.Fatalf("without CSRF: %d", resp.StatusCode)
	}
	e.st.referrals[thirdID].Status = referral.StatusLost
	if page := e.do("GET", "/console/referrals/"+thirdID, nil).Body; strings.Contains(page, "/milestone\"") {
		t.Fatal("an ended referral offers to record a milestone")
	}
	if resp := e.post("/console/referrals/"+thirdID+"/milestone", url.Values{"milestone": {"won"}, "reason": {"why"}}); resp.StatusCode != 409 {
		t.Fatalf("an ended referral: %d", resp.StatusCode)
	}
	if got := e.sessions.actions(); !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "referral.milestone refused") }) {
		t.Fatalf("the refusal is not audited: %q", got)
	}
}
