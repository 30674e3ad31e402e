package storetest_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// TestSessionsAndSignInTokensKeepTheirKind: an operator's session and
// sign-in token come back as the operator's; a partner's (written without
// a kind, as before kinds existed) come back as a partner's.
func TestSessionsAndSignInTokensKeepTheirKind(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	op := store.Session{Hash: "h-op", Kind: store.SessionOperator, Operator: "ops@example.com", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	partner := store.Session{Hash: "h-partner", ProgramID: "p1", Code: "DEMO", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	for _, s := range []store.Session{op, partner} {
		if err := st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.SessionAt(ctx, "h-op", t0)
	if err != nil || got.Kind != store.SessionOperator || got.Operator != "ops@example.com" || got.Code != "" {
		t.Fatalf("operator session %+v, %v", got, err)
	}
	got, err = st.SessionAt(ctx, "h-partner", t0)
	if err != nil || got.Kind != store.SessionPartner || got.Operator != "" || got.Code != "DEMO" {
		t.Fatalf("partner session %+v, %v", got, err)
	}
	if _, err := st.SessionAt(ctx, "h-op", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired operator session: %v", err)
	}
	tok := store.SignInToken{Hash: "t-op", Kind: store.SessionOperator, Operator: "ops@example.com", ExpiresAt: t0.Add(15 * time.Minute)}
	if err := st.PutSignInToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	used, err := st.UseSignInToken(ctx, "t-op", t0)
	if err != nil || used.Kind != store.SessionOperator || used.Operator != "ops@example.com" {
		t.Fatalf("used token %+v, %v", used, err)
	}
	if _, err := st.UseSignInToken(ctx, "t-op", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a token used twice: %v", err)
	}
}

// TestAuditListsNewestFirstAcrossMonths: entries come back newest first,
// across month partitions, up to the limit; none overwrites another.
func TestAuditListsNewestFirstAcrossMonths(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	at := []time.Time{t0.AddDate(0, -1, 0), t0.Add(-time.Minute), t0, t0}
	for i, a := range at {
		e := store.AuditEntry{At: a, Operator: "ops@example.com", Action: "review.approve", Targets: []string{"referral", "ref_" + string(rune('A'+i))},
			Note: "why", Outcome: "ok", Nonce: string(rune('a' + i))}
		if err := st.PutAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Audit(ctx, t0, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, e := range got {
		targets = append(targets, e.Targets[1])
	}
	if want := []string{"ref_D", "ref_C", "ref_B", "ref_A"}; !slices.Equal(targets, want) {
		t.Fatalf("audit order %q, want %q", targets, want)
	}
	if got[0].Operator != "ops@example.com" || got[0].Note != "why" || got[0].Outcome != "ok" || !got[0].At.Equal(t0) {
		t.Fatalf("entry %+v", got[0])
	}
	if got, _ := st.Audit(ctx, t0, 2, 3); len(got) != 2 {
		t.Fatalf("limit 2 gave %d", len(got))
	}
}

// TestReferralsByStatusPagesNewestFirstWithinDates: the status index
// answers the referrals in one status, newest first, within [from, to),
// page by page.
func TestReferralsByStatusPagesNewestFirstWithinDates(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	for i, id := range []string{"ref_S1", "ref_S2", "ref_S3"} {
		r := newReferral(id, id+"@acme.example", "")
		r.Status, r.CreatedAt = referral.StatusInReview, t0.Add(time.Duration(i)*time.Hour)
		create(t, st, r)
	}
	other := newReferral("ref_S4", "s4@acme.example", "")
	create(t, st, other)
	page, err := st.ReferralsByStatus(ctx, "in_review", time.Time{}, time.Time{}, 2, "")
	if err != nil || !slices.Equal(page.IDs, []string{"ref_S3", "ref_S2"}) || page.Next == "" {
		t.Fatalf("first page %+v, %v", page, err)
	}
	page, err = st.ReferralsByStatus(ctx, "in_review", time.Time{}, time.Time{}, 2, page.Next)
	if err != nil || !slices.Equal(page.IDs, []string{"ref_S1"}) {
		t.Fatalf("second page %+v, %v", page, err)
	}
	page, err = st.ReferralsByStatus(ctx, "in_review", t0.Add(30*time.Minute), t0.Add(90*time.Minute), 10, "")
	if err != nil || !slices.Equal(page.IDs, []string{"ref_S2"}) {
		t.Fatalf("within dates %+v, %v", page, err)
	}
}
