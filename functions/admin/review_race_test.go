package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/workflow"
)

// The review deadline recorded the program's default first: an admin's
// decision, whatever it is, comes too late (409 not_in_review, as before
// the deadline's default was recorded as the review) and changes nothing.
func TestReviewAfterTheDeadlineDecided(t *testing.T) {
	for _, c := range []struct {
		name     string
		status   referral.Status
		decision string
	}{
		{"same decision, applied", referral.StatusInProgress, "approve"},
		{"other decision, applied", referral.StatusInProgress, "reject"},
		{"recorded, not applied yet", referral.StatusInReview, "reject"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeStore()
			r := f.referrals[refID]
			r.Status, r.ReviewOutcome, r.ReviewNote = c.status, workflow.Approved, workflow.ReviewDeadlineNote
			s := &fakeSFN{outputs: map[string]string{}}
			h := newHandler(f, s)
			resp, _ := h.Handle(context.Background(), reviewReq(refID, `{"decision":"`+c.decision+`","reason":"late"}`))
			var e struct {
				Error struct{ Code, Message string }
			}
			_ = json.Unmarshal([]byte(resp.Body), &e)
			if resp.StatusCode != http.StatusConflict || e.Error.Code != "not_in_review" {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			if r.Status != c.status || len(s.outputs) != 0 || len(f.AllEvents()) != 0 {
				t.Fatalf("changed: %s, resumed %v, events %v", r.Status, s.outputs, f.AllEvents())
			}
		})
	}
}
