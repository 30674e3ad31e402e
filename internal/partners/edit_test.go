package partners_test

import (
	"context"
	"errors"
	"testing"

	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

func ptr(s string) *string { return &s }

// An operator corrects a partner's name, email and company: the partner
// keeps its code, key and status; the new email signs in, the old one no
// longer does; an email another partner holds is refused.
func TestEditCorrectsAPartnerAndMovesTheirSignIn(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := setup(t, program.JoinInvitation)
	ann, err := svc.Invite(ctx, partners.New{ProgramID: "p1", Email: "ann@agency.example", Name: "Ann", Code: "ANN42"}, "https://portal.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Invite(ctx, partners.New{ProgramID: "p1", Email: "bob@agency.example", Name: "Bob"}, "https://portal.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ChangeCode(ctx, "p1", ann.Code, "ANNA"); err != nil {
		t.Fatal(err)
	}
	// The old code still finds her, as for every operation.
	got, err := svc.Edit(ctx, "P1", "ANN42", partners.Changes{Name: ptr(" Ann Lee "), Email: ptr(" Ann@New-Agency.example "), Company: ptr("New Agency")})
	if err != nil || got.Code != "ANNA" || got.Key != "ANN42" || got.Name != "Ann Lee" || got.Email != "ann@new-agency.example" ||
		got.Domain != "new-agency.example" || got.Company != "New Agency" || got.State() != referral.ReferrerInvited {
		t.Fatalf("edit = %+v, %v", got, err)
	}
	stored, err := st.CurrentPartner(ctx, "p1", "ANNA")
	if err != nil || stored.Email != "ann@new-agency.example" || stored.Name != "Ann Lee" || len(stored.PreviousCodes) != 1 {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	if refs, _ := st.PartnersByEmail(ctx, "ann@new-agency.example"); len(refs) != 1 || refs[0].Code != "ANNA" {
		t.Fatalf("the new email does not sign in: %+v", refs)
	}
	if refs, _ := st.PartnersByEmail(ctx, "ann@agency.example"); len(refs) != 0 {
		t.Fatalf("the old email still signs in: %+v", refs)
	}
	if _, err := svc.Edit(ctx, "p1", "ANNA", partners.Changes{Email: ptr("bob@agency.example")}); !errors.Is(err, partners.ErrExists) {
		t.Fatalf("another partner's email: %v", err)
	}
	if _, err := svc.Edit(ctx, "p1", "NOPE", partners.Changes{Name: ptr("X")}); !errors.Is(err, partners.ErrNotFound) {
		t.Fatalf("unknown partner: %v", err)
	}
}

func TestEditRefusesWhatIsNotValid(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := setup(t, program.JoinInvitation)
	if _, err := svc.Invite(ctx, partners.New{ProgramID: "p1", Email: "ann@agency.example", Name: "Ann", Code: "ANN42"}, "https://portal.example"); err != nil {
		t.Fatal(err)
	}
	long := string(make([]rune, partners.MaxName+1))
	for _, c := range []struct {
		ch    partners.Changes
		field string
	}{
		{partners.Changes{Email: ptr("not-an-email")}, "email"},
		{partners.Changes{Name: ptr("  ")}, "name"},
		{partners.Changes{Name: ptr(long)}, "name"},
		{partners.Changes{Company: ptr(long)}, "company"},
		{partners.Changes{}, "body"},
	} {
		var inv *partners.Invalid
		if _, err := svc.Edit(ctx, "p1", "ANN42", c.ch); !errors.As(err, &inv) || inv.Fields[c.field] == "" {
			t.Errorf("%+v: %v, want a problem with %s", c.ch, err, c.field)
		}
	}
	if p, _ := st.CurrentPartner(ctx, "p1", "ANN42"); p.Name != "Ann" || p.Email != "ann@agency.example" {
		t.Fatalf("a refused edit changed the partner: %+v", p)
	}
}
