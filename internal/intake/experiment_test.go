package intake_test

import (
	"context"
	"testing"

	"github.com/referflow/referflow/internal/intake"
	"github.com/referflow/referflow/internal/program"
)

// TestSubmitRecordsTheVariant: under a program running an experiment the
// referral is stored with the experiment and the variant its partner's
// lifelong key is assigned (not its current code); without one, with none.
func TestSubmitRecordsTheVariant(t *testing.T) {
	svc, st, _ := newService()
	p := st.Programs["partners"]
	p.Experiment = &program.Experiment{ID: "double", Assign: program.AssignPartner,
		Variants: []program.Variant{{Name: "A", Weight: 1}, {Name: "B", Weight: 1}}}
	_, want := p.Assign("ANN42", "")
	if _, byCode := p.Assign("ANNA", ""); byCode == want {
		// The test needs a key and a code that hash apart to tell them apart.
		t.Fatalf("key and code land in the same variant %s: pick another experiment id", want)
	}
	if _, err := svc.Submit(context.Background(), intake.Input{Submission: sub("ANNA")}); err != nil {
		t.Fatal(err)
	}
	r := st.Referrals()[0].Referral
	if r.Experiment != "double" || r.Variant != want {
		t.Fatalf("stored experiment %q variant %q, want double %s", r.Experiment, r.Variant, want)
	}

	svc, st, _ = newService()
	if _, err := svc.Submit(context.Background(), intake.Input{Submission: sub("ANNA")}); err != nil {
		t.Fatal(err)
	}
	if r := st.Referrals()[0].Referral; r.Experiment != "" || r.Variant != "" {
		t.Fatalf("no experiment, yet stored %q %q", r.Experiment, r.Variant)
	}
}
