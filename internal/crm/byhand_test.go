package crm

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/workflow"
)

// A milestone recorded by hand goes the way a CRM event reporting it
// goes: recorded with those it implies, the waiting execution woken, a
// deal event by the person; the reason stays on the referral, never in
// the event.
func TestMilestoneRecordedByHandWakesTheWorkflowLikeACRMEvent(t *testing.T) {
	e := newEnv(t, true)
	id := refID(1)
	e.add(id, nil)
	e.st.wait(id, "won", "token-won")

	res, err := e.in.RecordByHand(context.Background(), id, " won ", " Contract signed on paper, CRM down ", "console:abc123")
	if err != nil || res.Outcome != OutcomeMilestone {
		t.Fatalf("RecordByHand = %+v, %v", res, err)
	}
	if !reflect.DeepEqual(res.Referral.Milestones, map[string]time.Time{"qualified": e.clock, "demo": e.clock, "won": e.clock}) {
		t.Fatalf("milestones %v", res.Referral.Milestones)
	}
	if len(e.sfn.successes) != 1 || str(e.sfn.successes[0].TaskToken) != "token-won" {
		t.Fatalf("the waiting execution was not woken: %+v", e.sfn.successes)
	}
	var out workflow.Reached
	if err := json.Unmarshal([]byte(str(e.sfn.successes[0].Output)), &out); err != nil || out.Milestone != "won" {
		t.Fatalf("output %s", str(e.sfn.successes[0].Output))
	}
	n := res.Referral.HandNote("won")
	if n == nil || n.By != "console:abc123" || n.Reason != "Contract signed on paper, CRM down" || !n.At.Equal(e.clock) {
		t.Fatalf("note %+v", res.Referral.HandNotes)
	}
	acts := e.st.activities[id]
	if len(acts) != 1 || acts[0].Type != events.ReferralDealEvent || acts[0].Actor != "console:abc123" ||
		acts[0].Data["provider"] != ProviderByHand || acts[0].Data["milestone"] != "won" || acts[0].Data["outcome"] != OutcomeMilestone ||
		acts[0].Detail != "Milestone won recorded by hand by console:abc123" {
		t.Fatalf("activity %+v", acts)
	}
	for k, v := range acts[0].Data {
		if strings.Contains(v, "paper") {
			t.Fatalf("the reason is in the event's %s", k)
		}
	}
	if ev := e.st.event(ProviderByHand, id+"/won"); ev.state != "applied" || ev.referralID != id {
		t.Fatalf("dedupe record %+v", ev)
	}
	// A repeat changes nothing: the event was applied once.
	again, err := e.in.RecordByHand(context.Background(), id, "won", "again", "admin")
	if err != nil || again.Outcome != OutcomeDuplicate || len(e.sfn.successes) != 1 || len(again.Referral.HandNotes) != 1 {
		t.Fatalf("repeat = %+v, %v", again, err)
	}
}

func TestMilestoneByHandRefusals(t *testing.T) {
	tests := []struct {
		name, milestone, reason string
		mod                     func(r *referral.Referral)
		want                    error
	}{
		{"no reason", "won", "  ", nil, ErrReason},
		{"a reason too long", "won", strings.Repeat("x", MaxReason+1), nil, ErrReason},
		{"not a milestone of the program", "signed", "why", nil, ErrUnknownMilestone},
		{"reached through the CRM", "qualified", "why", func(r *referral.Referral) { r.Milestones["qualified"] = t0 }, ErrReached},
		{"an ended referral", "won", "why", func(r *referral.Referral) { r.Status = referral.StatusLost }, ErrEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, true)
			id := refID(2)
			e.add(id, tt.mod)
			if _, err := e.in.RecordByHand(context.Background(), id, tt.milestone, tt.reason, "admin"); !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if len(e.st.deals) != 0 || len(e.st.activities[id]) != 0 || e.sfn.calls() != 0 {
				t.Fatal("a refused milestone left something behind")
			}
		})
	}
	e := newEnv(t, true)
	if _, err := e.in.RecordByHand(context.Background(), refID(9), "won", "why", "admin"); !errors.Is(err, referral.ErrNotFound) {
		t.Fatalf("unknown referral: %v", err)
	}
}

// An attempt cut short after the milestone was written is finished by a
// repeat: the execution still wakes.
func TestMilestoneByHandCutShortIsFinishedByARepeat(t *testing.T) {
	e := newEnv(t, false)
	id := refID(3)
	e.add(id, nil)
	e.st.wait(id, "qualified", "token-q")
	e.sfn.err = errors.New("throttled")
	if _, err := e.in.RecordByHand(context.Background(), id, "qualified", "called the buyer", "admin"); err == nil {
		t.Fatal("a failed wake-up was not reported")
	}
	e.sfn.err = nil
	res, err := e.in.RecordByHand(context.Background(), id, "qualified", "called the buyer", "admin")
	if err != nil || res.Outcome != OutcomeMilestone || len(e.sfn.successes) != 2 {
		t.Fatalf("repeat = %+v, %v (%d wake-ups)", res, err, len(e.sfn.successes))
	}
	if acts := e.st.activities[id]; len(acts) != 1 || acts[0].Detail != "Milestone qualified recorded by hand by an admin" {
		t.Fatalf("activity %+v", acts)
	}
}
