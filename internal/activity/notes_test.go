package activity

import (
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	domain "github.com/referflow/referflow/internal/referral"
)

func TestMilestoneByHandReadsWithItsReason(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	deal := func(provider, actor string) events.Event {
		return events.New(events.ReferralDealEvent, "ref_1", actor, at).With("provider", provider).
			With("milestone", "won").With("outcome", "milestone").With("where", "stage won")
	}
	lines := WithNotes(Log([]events.Event{deal("by-hand", "console:ab12"), deal("by-hand", "admin"), deal("hubspot", "webhook:hubspot")}),
		[]domain.MilestoneNote{{Milestone: "qualified", Reason: "other"}, {Milestone: "won", By: "console:ab12", Reason: "signed on paper"}})
	want := []string{
		"Milestone won recorded by hand by console:ab12: signed on paper",
		"Milestone won recorded by hand by an admin: signed on paper",
		"Milestone won reached in hubspot (stage won)",
	}
	for i, w := range want {
		if lines[i].Detail != w {
			t.Errorf("line %d: %q, want %q", i, lines[i].Detail, w)
		}
	}
}
