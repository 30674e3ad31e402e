package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/referral"
)

// A referral that needs attention shows so to its referrer; the cause
// (an operator's matter) stays in the admin view.
func TestStatusShowsNeedsAttentionWithoutItsCause(t *testing.T) {
	h, st := setup()
	r := st.referrals[id]
	r.Status = referral.StatusNeedsAttention
	r.Attention = &referral.Attention{From: referral.StatusInProgress, Error: "Sandbox.Timedout", Cause: "Task timed out after 10.00 seconds", Execution: id + "-2"}
	resp := get(t, h, id, token)
	var v Status
	if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &v) != nil || v.Status != "needs_attention" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	for _, s := range []string{"Sandbox", "timed out", `"attention":`} {
		if strings.Contains(resp.Body, s) {
			t.Errorf("the status view shows %q: %s", s, resp.Body)
		}
	}
}
