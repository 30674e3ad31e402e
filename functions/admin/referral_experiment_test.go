package main

import (
	"net/http"
	"testing"
)

// GET /admin/referrals/{id} names the experiment and variant a referral
// was assigned, and leaves both out when no experiment ran.
func TestGetReferralShowsItsExperimentAndVariant(t *testing.T) {
	for _, c := range []struct {
		name, experiment, variant string
	}{
		{"assigned a variant", "double-tiers", "B"},
		{"no experiment ran", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeStore()
			f.referrals[refID].Experiment, f.referrals[refID].Variant = c.experiment, c.variant
			a := call(t, newHandler(f, &fakeSFN{outputs: map[string]string{}}), request(http.MethodGet, "/admin/referrals/{id}", map[string]string{"id": refID}, ""))
			if a.status != http.StatusOK {
				t.Fatalf("answer %d %v", a.status, a.body)
			}
			for field, want := range map[string]string{"experiment": c.experiment, "variant": c.variant} {
				got, present := a.body[field]
				switch {
				case want == "" && present:
					t.Errorf("%s is %v, want it omitted", field, got)
				case want != "" && got != want:
					t.Errorf("%s = %v, want %q", field, got, want)
				}
			}
		})
	}
}
