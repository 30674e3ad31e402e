package storetest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

func TestReferralCodeIsUniqueAcrossPrograms(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	ann := referral.Referrer{ProgramID: "p1", Code: "ANN42", Email: "ann@referrer.io", CreatedAt: t0}
	if err := st.CreateReferrer(ctx, ann); err != nil {
		t.Fatal(err)
	}
	// The same code, in this program or another, is refused.
	for _, prog := range []string{"p1", "p2"} {
		err := st.CreateReferrer(ctx, referral.Referrer{ProgramID: prog, Code: "ANN42", Email: "bob@other.io", CreatedAt: t0})
		if !errors.Is(err, store.ErrCodeTaken) {
			t.Errorf("second referrer with the code in %s: %v, want ErrCodeTaken", prog, err)
		}
		if err := st.PutReferrer(ctx, referral.Referrer{ProgramID: "p2", Code: "ANN42", Email: "bob@other.io"}); !errors.Is(err, store.ErrCodeTaken) {
			t.Errorf("PutReferrer of another program's code: %v, want ErrCodeTaken", err)
		}
	}
	// The holder may be replaced (an operator edits the partner).
	ann.Name = "Ann"
	ann.Status = referral.ReferrerDisabled
	if err := st.PutReferrer(ctx, ann); err != nil {
		t.Fatalf("replacing the referrer: %v", err)
	}
	got, err := st.ReferrerByCode(ctx, "ANN42")
	if err != nil {
		t.Fatal(err)
	}
	if got.ProgramID != "p1" || got.Name != "Ann" || got.Active() {
		t.Errorf("ReferrerByCode = %+v", got)
	}
	if _, err := st.ReferrerByCode(ctx, "NOPE"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown code: %v, want ErrNotFound", err)
	}
	if _, err := st.Referrer(ctx, "p2", "ANN42"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused referrer was stored: %v", err)
	}
}
