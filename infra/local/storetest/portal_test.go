package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

func TestSignInTokenIsSingleUseAndExpires(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	tok := store.SignInToken{Hash: "h1", ProgramID: "p1", Code: "ANN42", ExpiresAt: t0.Add(15 * time.Minute)}
	if err := st.PutSignInToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := st.PutSignInToken(ctx, tok); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("same hash twice: %v, want ErrConflict", err)
	}
	// Looking at it (the confirm page) does not use it.
	if got, err := st.SignInTokenAt(ctx, "h1", t0); err != nil || got.Code != "ANN42" || got.ProgramID != "p1" {
		t.Fatalf("SignInTokenAt = %+v, %v", got, err)
	}
	got, err := st.UseSignInToken(ctx, "h1", t0.Add(time.Minute))
	if err != nil || got.Code != "ANN42" || !got.ExpiresAt.Equal(tok.ExpiresAt) {
		t.Fatalf("first use = %+v, %v", got, err)
	}
	if _, err := st.UseSignInToken(ctx, "h1", t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second use: %v, want ErrNotFound", err)
	}
	// An expired token cannot be used, even before TTL deletes it.
	old := store.SignInToken{Hash: "h2", ProgramID: "p1", Code: "ANN42", ExpiresAt: t0.Add(15 * time.Minute)}
	if err := st.PutSignInToken(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SignInTokenAt(ctx, "h2", t0.Add(16*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired look: %v", err)
	}
	if _, err := st.UseSignInToken(ctx, "h2", t0.Add(16*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired use: %v", err)
	}
	assertTTL(t, st, "SIGNIN#h2", "SIGNIN", old.ExpiresAt)
}

func TestSessionsExpireAndEnd(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	sess := store.Session{Hash: "s1", ProgramID: "p1", Code: "ANN42", CreatedAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour)}
	if err := st.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSession(ctx, sess); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("same hash twice: %v", err)
	}
	got, err := st.SessionAt(ctx, "s1", t0.Add(time.Hour))
	if err != nil || got.Code != "ANN42" || got.ProgramID != "p1" || !got.CreatedAt.Equal(t0) || !got.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Fatalf("SessionAt = %+v, %v", got, err)
	}
	if _, err := st.SessionAt(ctx, "s1", sess.ExpiresAt); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session: %v", err)
	}
	assertTTL(t, st, "SESSION#s1", "SESSION", sess.ExpiresAt)
	if err := st.DeleteSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SessionAt(ctx, "s1", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ended session: %v", err)
	}
	if err := st.DeleteSession(ctx, "s1"); err != nil {
		t.Fatalf("ending it again: %v", err)
	}
}

func TestRateLimitCountersPerWindow(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	window := 15 * time.Minute
	for i := 1; i <= 3; i++ {
		n, err := st.Hit(ctx, "sign-in", store.LimitEmail, "Ann@Referrer.io", window, t0.Add(time.Duration(i)*time.Minute))
		if err != nil || n != i {
			t.Fatalf("hit %d = %d, %v", i, n, err)
		}
	}
	// Another email, an IP, and the next window count apart.
	if n, _ := st.Hit(ctx, "sign-in", store.LimitEmail, "bob@referrer.io", window, t0); n != 1 {
		t.Fatalf("another email: %d", n)
	}
	if n, _ := st.Hit(ctx, "sign-in", store.LimitIP, "ann@referrer.io", window, t0); n != 1 {
		t.Fatalf("an IP with the same text: %d", n)
	}
	if n, _ := st.Hit(ctx, "sign-in", store.LimitEmail, "ann@referrer.io", window, t0.Add(window)); n != 1 {
		t.Fatalf("next window: %d", n)
	}
	// The counters hold no email and expire with their window.
	items := partition(t, st, "")
	found := 0
	for _, it := range items {
		pk := it["PK"].(*types.AttributeValueMemberS).Value
		if !strings.HasPrefix(pk, "RATE#") {
			continue
		}
		found++
		if strings.Contains(strings.ToLower(fmt.Sprint(it)), "referrer.io") {
			t.Fatalf("a rate counter holds the email: %v", it)
		}
		if _, ok := it["expires_at"]; !ok {
			t.Fatalf("a rate counter without TTL: %v", it)
		}
	}
	if found != 4 {
		t.Fatalf("%d rate counters, want 4", found)
	}
}

func TestPartnerEmailFindsPartnersWithoutStoringTheEmailInKeys(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	ann := referral.Referrer{ProgramID: "p1", Code: "ANN42", Email: "ann@referrer.io", CreatedAt: t0}
	must(t, st.CreateReferrer(ctx, ann))
	must(t, st.CreateReferrer(ctx, referral.Referrer{ProgramID: "p2", Code: "ANN43", Email: "ANN@referrer.io", CreatedAt: t0}))
	got, err := st.PartnersByEmail(ctx, " Ann@Referrer.IO ")
	want := []store.PartnerRef{{ProgramID: "p1", Code: "ANN42"}, {ProgramID: "p2", Code: "ANN43"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("PartnersByEmail = %v, %v; want %v", got, err, want)
	}
	// One partner per email and program.
	if err := st.CreateReferrer(ctx, referral.Referrer{ProgramID: "p1", Code: "ANN44", Email: "ann@referrer.io"}); !errors.Is(err, store.ErrPartnerExists) {
		t.Fatalf("a second code for the email: %v, want ErrPartnerExists", err)
	}
	if _, err := st.Partner(ctx, "p1", "ANN44"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("the refused partner was stored")
	}
	// Replacing the partner with another email moves its sign-in item.
	ann.Email = "ann@new.example"
	must(t, st.PutReferrer(ctx, ann))
	if got, _ := st.PartnersByEmail(ctx, "ann@referrer.io"); len(got) != 1 || got[0].ProgramID != "p2" {
		t.Fatalf("old email still finds p1: %v", got)
	}
	if got, _ := st.PartnersByEmail(ctx, "ann@new.example"); len(got) != 1 || got[0].Code != "ANN42" {
		t.Fatalf("new email: %v", got)
	}
	if got, _ := st.PartnersByEmail(ctx, "nobody@referrer.io"); len(got) != 0 {
		t.Fatalf("unknown email: %v", got)
	}
	for _, it := range partition(t, st, "") {
		if strings.Contains(strings.ToLower(it["PK"].(*types.AttributeValueMemberS).Value), "referrer.io") ||
			strings.Contains(strings.ToLower(it["PK"].(*types.AttributeValueMemberS).Value), "new.example") {
			t.Fatalf("an email in a key: %v", it["PK"])
		}
	}
}

func TestReferralsByPartnerNewestFirstInPages(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	var ids []string
	for i := 0; i < 5; i++ {
		r := newReferral(fmt.Sprintf("ref_%d", i), fmt.Sprintf("p%d@co%d.example", i, i), fmt.Sprintf("co%d.example", i))
		r.ReferrerCode = "ANN42"
		r.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
		must(t, st.CreateReferral(ctx, store.NewReferral{Referral: r, Event: events.New(events.ReferralReceived, r.ID, "test", t0), PartnerKey: "ANN"}))
		ids = append([]string{r.ID}, ids...)
	}
	other := newReferral("ref_other", "x@other.example", "other.example")
	create(t, st, other) // the DEMO partner's
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := st.ReferralsByPartner(ctx, "p1", "ANN", 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.IDs...)
		if page.Next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("pages never end")
		}
		cursor = page.Next
	}
	if !reflect.DeepEqual(got, ids) {
		t.Fatalf("pages = %v, want %v", got, ids)
	}
	if page, _ := st.ReferralsByPartner(ctx, "p1", "DEMO", 10, ""); !reflect.DeepEqual(page.IDs, []string{"ref_other"}) {
		t.Fatalf("a referral without a partner key is filed under its code: %v", page.IDs)
	}
}

func TestChangeCodeKeepsReferralsAndReservesBothCodes(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	must(t, st.CreateReferrer(ctx, referral.Referrer{ProgramID: "p1", Code: "ANN42", Email: "ann@referrer.io", CreatedAt: t0}))
	must(t, st.CreateReferrer(ctx, referral.Referrer{ProgramID: "p1", Code: "BOB", Email: "bob@referrer.io", CreatedAt: t0}))
	r := newReferral("ref_1", "jane@acme.example", "acme.example")
	r.ReferrerCode = "ANN42"
	must(t, st.CreateReferral(ctx, store.NewReferral{Referral: r, Event: events.New(events.ReferralReceived, r.ID, "test", t0), PartnerKey: "ANN42"}))

	if _, err := st.ChangeCode(ctx, "p1", "ANN42", "BOB"); !errors.Is(err, store.ErrCodeTaken) {
		t.Fatalf("change to a taken code: %v", err)
	}
	if _, err := st.ChangeCode(ctx, "p1", "NOPE", "NEW1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("change of an unknown code: %v", err)
	}
	p, err := st.ChangeCode(ctx, "p1", "ANN42", "ANNA")
	if err != nil || p.Code != "ANNA" || p.Key != "ANN42" || !p.Holds("ANN42") {
		t.Fatalf("ChangeCode = %+v, %v", p, err)
	}
	if page, _ := st.ReferralsByPartner(ctx, "p1", p.Key, 10, ""); !reflect.DeepEqual(page.IDs, []string{"ref_1"}) {
		t.Fatalf("referrals after the change: %v", page.IDs)
	}
	if cur, err := st.CurrentPartner(ctx, "p1", "ANN42"); err != nil || cur.Code != "ANNA" {
		t.Fatalf("CurrentPartner(old code) = %+v, %v", cur, err)
	}
	if _, err := st.ReferrerByCode(ctx, "ANN42"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the old code still attributes: %v", err)
	}
	if got, _ := st.PartnersByEmail(ctx, "ann@referrer.io"); len(got) != 1 || got[0].Code != "ANNA" {
		t.Fatalf("sign-in lookup after the change: %v", got)
	}
	// The old code stays the program's: nobody else can take it.
	if err := st.CreateReferrer(ctx, referral.Referrer{ProgramID: "p2", Code: "ANN42", Email: "eve@x.example"}); !errors.Is(err, store.ErrCodeTaken) {
		t.Fatalf("another program took the old code: %v", err)
	}
}

func TestPartnerStatusAndDisplayName(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	must(t, st.CreateReferrer(ctx, referral.Referrer{ProgramID: "p1", Code: "ANN42", Email: "ann@referrer.io", Status: referral.ReferrerInvited}))
	pending := []referral.ReferrerStatus{referral.ReferrerPending}
	if _, err := st.SetPartnerStatus(ctx, "p1", "ANN42", pending, referral.ReferrerActive); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("approve an invited partner: %v, want ErrConflict", err)
	}
	p, err := st.SetPartnerStatus(ctx, "p1", "ANN42", []referral.ReferrerStatus{referral.ReferrerInvited}, referral.ReferrerActive)
	if err != nil || !p.Active() {
		t.Fatalf("activate = %+v, %v", p, err)
	}
	if _, err := st.SetPartnerStatus(ctx, "p1", "NOPE", pending, referral.ReferrerActive); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown partner: %v", err)
	}
	// A legacy referrer without a status is active, and can be disabled.
	must(t, st.CreateReferrer(ctx, referral.Referrer{ProgramID: "p1", Code: "OLD", Email: "old@referrer.io"}))
	if p, err := st.SetPartnerStatus(ctx, "p1", "OLD", []referral.ReferrerStatus{referral.ReferrerActive}, referral.ReferrerDisabled); err != nil || p.Active() {
		t.Fatalf("disable a legacy referrer = %+v, %v", p, err)
	}
	if p, err := st.SetDisplayName(ctx, "p1", "ANN42", "Ann's Agency"); err != nil || p.DisplayName != "Ann's Agency" {
		t.Fatalf("display name = %+v, %v", p, err)
	}
	if p, err := st.SetDisplayName(ctx, "p1", "ANN42", ""); err != nil || p.DisplayName != "" {
		t.Fatalf("clear display name = %+v, %v", p, err)
	}
	list, next, err := st.PartnersOf(ctx, "p1", 1, "")
	if err != nil || len(list) != 1 || list[0].Code != "ANN42" || next != "ANN42" {
		t.Fatalf("PartnersOf page 1 = %v %q %v", list, next, err)
	}
	list, _, err = st.PartnersOf(ctx, "p1", 10, next)
	if err != nil || len(list) != 1 || list[0].Code != "OLD" {
		t.Fatalf("PartnersOf page 2 = %v %v", list, err)
	}
}

func TestLeaderboardCountsAReferralOnceWhenItsMilestoneIsReached(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	mk := func(id, key, email, domain string) {
		r := newReferral(id, email, domain)
		must(t, st.CreateReferral(ctx, store.NewReferral{Referral: r, Event: events.New(events.ReferralReceived, r.ID, "test", t0),
			PartnerKey: key, CountsMilestone: "won"}))
	}
	mk("ref_a1", "ANN", "a1@a1.example", "a1.example")
	mk("ref_a2", "ANN", "a2@a2.example", "a2.example")
	mk("ref_b1", "BOB", "b1@b1.example", "b1.example")
	mk("ref_c1", "CAT", "c1@c1.example", "c1.example")
	won := t0.Add(24 * time.Hour)
	deal := func(id string, ms ...string) {
		if _, err := st.RecordDeal(ctx, id, referral.DealUpdate{Milestones: ms, ReachedAt: won}, won); err != nil {
			t.Fatal(err)
		}
	}
	deal("ref_a1", "qualified") // not the counted milestone
	deal("ref_a1", "won")
	deal("ref_a1", "won") // a duplicate webhook
	deal("ref_a2", "qualified", "won")
	deal("ref_b1", "won")
	got, err := st.Leaderboard(ctx, "p1", won.Format("2006-01"))
	want := []store.BoardEntry{{PartnerKey: "ANN", Count: 2}, {PartnerKey: "BOB", Count: 1}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Leaderboard = %v, %v; want %v", got, err, want)
	}
	if got, _ := st.Leaderboard(ctx, "p1", won.AddDate(0, 1, 0).Format("2006-01")); len(got) != 0 {
		t.Fatalf("next month: %v", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// partition lists every item of the store's table (pk "" = all): tests
// only, to check what keys hold.
func partition(t *testing.T, st *store.Store, pk string) []map[string]types.AttributeValue {
	t.Helper()
	db := storetest.DB(t)
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(st.Table())})
	if err != nil {
		t.Fatal(err)
	}
	var items []map[string]types.AttributeValue
	for _, it := range out.Items {
		if pk == "" || it["PK"].(*types.AttributeValueMemberS).Value == pk {
			items = append(items, it)
		}
	}
	return items
}

func assertTTL(t *testing.T, st *store.Store, pk, sk string, at time.Time) {
	t.Helper()
	for _, it := range partition(t, st, pk) {
		if it["SK"].(*types.AttributeValueMemberS).Value != sk {
			continue
		}
		v, ok := it["expires_at"].(*types.AttributeValueMemberN)
		if !ok || v.Value != fmt.Sprint(at.Unix()) {
			t.Fatalf("%s/%s expires_at = %v, want %d", pk, sk, it["expires_at"], at.Unix())
		}
		return
	}
	t.Fatalf("no item %s/%s", pk, sk)
}
