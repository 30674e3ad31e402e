package storetest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

func TestErasePersonRemovesPersonalDataAndKeepsTheRest(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	// One open referral, one closed (its data moved to PERSON), another person.
	create(t, st, personalReferral("ref_A", "p1"))
	create(t, st, personalReferral("ref_B", "p2"))
	other := newReferral("ref_C", "amy@globex.example", "globex.example")
	other.RefereeCompany = "Globex"
	create(t, st, other)
	moveTo(t, st, "ref_A", t0, referral.StatusVerifying, referral.StatusInProgress)
	if _, err := st.RecordDeal(ctx, "ref_A", referral.DealUpdate{Milestones: []string{"qualified"}, AmountMinor: 5000, Currency: "USD"}, t0); err != nil {
		t.Fatal(err)
	}
	moveTo(t, st, "ref_B", t0, referral.StatusVerifying, referral.StatusInProgress, referral.StatusCompleted)

	at := t0.Add(time.Hour)
	n, err := st.ErasePerson(ctx, " Jane@Acme.example", events.ActorAdmin, at)
	if err != nil || n != 2 {
		t.Fatalf("ErasePerson = %d, %v; want 2", n, err)
	}
	h, _ := privacy.NewHasher(storetest.Secret)
	for _, it := range items(t, st) {
		pk := str(it["PK"])
		if p := holdsPersonalData(it); len(p) > 0 {
			t.Errorf("%s / %s still holds personal data in %v", pk, str(it["SK"]), p)
		}
		if strings.Contains(pk, h.Hash(privacy.Email, "jane@acme.example")) || strings.Contains(pk, h.Hash(privacy.Domain, "acme.example")) {
			t.Errorf("key %s of the erased person is left", pk)
		}
		if str(it["SK"]) == "PERSON" {
			t.Errorf("PERSON item of %s is left", pk)
		}
	}
	// What the ledger and the workflow need stays.
	a, err := st.Referral(ctx, "ref_A")
	if err != nil || a.Status != referral.StatusInProgress || a.DealAmountMinor != 5000 || !a.Reached("qualified") || a.ReferrerCode != "DEMO" || a.RefereeEmail != "" {
		t.Fatalf("erased open referral = %+v, %v", a, err)
	}
	if b, err := st.Referral(ctx, "ref_B"); err != nil || b.Status != referral.StatusCompleted || b.RefereeName != "" {
		t.Fatalf("erased closed referral = %+v, %v", b, err)
	}
	if c, _ := st.Referral(ctx, "ref_C"); c.RefereeEmail != "amy@globex.example" {
		t.Fatalf("another person's referral was erased: %+v", c)
	}
	evs, _ := st.Events(ctx, "ref_A")
	if last := evs[len(evs)-1]; last.Type != events.ReferralErased || last.Actor != events.ActorAdmin || len(last.Data) != 0 {
		t.Fatalf("last event = %+v, want referral.erased by admin with no data", last)
	}
	// Erasing again finds nothing: idempotent.
	if n, err := st.ErasePerson(ctx, "jane@acme.example", events.ActorAdmin, at); err != nil || n != 0 {
		t.Fatalf("second ErasePerson = %d, %v; want 0", n, err)
	}
	// The erased open referral can still close; nothing personal comes back.
	moveTo(t, st, "ref_A", at, referral.StatusLost)
	if it := item(t, st, "REFERRAL#ref_A", "PERSON"); it != nil {
		t.Fatalf("closing an erased referral wrote %v", it)
	}
	// The person is forgotten: they can be referred again.
	create(t, st, personalReferral("ref_D", "p1"))
}

func TestEraseFinishesAnEraseCutShort(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	create(t, st, personalReferral("ref_A", "p1"))
	// A lookup key whose referral is gone (or was never written) is removed
	// without counting.
	h, _ := privacy.NewHasher(storetest.Secret)
	if n, err := st.ErasePerson(ctx, "nobody@nowhere.example", events.ActorAdmin, t0); err != nil || n != 0 {
		t.Fatalf("ErasePerson(unknown) = %d, %v", n, err)
	}
	if n, err := st.ErasePerson(ctx, "jane@acme.example", events.ActorOperator, t0); err != nil || n != 1 {
		t.Fatalf("ErasePerson = %d, %v", n, err)
	}
	if it := item(t, st, "EMAIL#"+h.Hash(privacy.Email, "jane@acme.example"), "REFERRAL#ref_A"); it != nil {
		t.Fatal("the lookup key is left")
	}
	bare := store.New(storetest.DB(t), st.Table())
	if _, err := bare.ErasePerson(ctx, "jane@acme.example", events.ActorAdmin, t0); err == nil {
		t.Fatal("ErasePerson without keys succeeded")
	}
}

// legacy rewrites referral id as a version before keyed hashes stored it:
// raw emails and domains in its keys, no record of them on the referral.
func legacy(t *testing.T, st *store.Store, id, program, email, domain string) {
	t.Helper()
	ctx, db := context.Background(), storetest.DB(t)
	h, _ := privacy.NewHasher(storetest.Secret)
	k := func(pk, sk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}
	}
	for _, key := range []map[string]types.AttributeValue{
		k("EMAIL#"+h.Hash(privacy.Email, email), "REFERRAL#"+id),
		k("DEDUPE#"+program+"#email#"+h.Hash(privacy.Email, email), "DEDUPE"),
		k("DEDUPE#"+program+"#domain#"+h.Hash(privacy.Domain, domain), "DEDUPE"),
	} {
		if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(st.Table()), Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(st.Table()), Key: k("REFERRAL#"+id, "REFERRAL"),
		UpdateExpression: aws.String("REMOVE email_key, dedupe_keys")}); err != nil {
		t.Fatal(err)
	}
	for _, it := range []map[string]types.AttributeValue{k("EMAIL#"+email, "REFERRAL#"+id), k("DEDUPE#"+program+"#email#"+email, "DEDUPE"), k("DEDUPE#"+program+"#domain#"+domain, "DEDUPE")} {
		it["referral_id"] = &types.AttributeValueMemberS{Value: id}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Table()), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
}

// A table written before keys were hashed keeps working: its referrals
// are still found by email, still dedupe, still close and still erase.
func TestReferralsStoredBeforeKeyedHashesStillWork(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	create(t, st, personalReferral("ref_A", "p1"))
	legacy(t, st, "ref_A", "p1", "jane@acme.example", "acme.example")
	create(t, st, personalReferral("ref_B", "p2"))
	legacy(t, st, "ref_B", "p2", "jane@acme.example", "acme.example")
	if ids, err := st.ReferralsByEmail(ctx, "jane@acme.example"); err != nil || len(ids) != 2 {
		t.Fatalf("ReferralsByEmail = %v, %v", ids, err)
	}
	dup := personalReferral("ref_C", "p1")
	if err := st.CreateReferral(ctx, store.NewReferral{Referral: dup, Event: events.New(events.ReferralReceived, "ref_C", "test", t0)}); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("a duplicate of a legacy referral: err = %v", err)
	}
	moveTo(t, st, "ref_A", t0, referral.StatusVerifying, referral.StatusRejected)
	if it := item(t, st, "DEDUPE#p1#email#jane@acme.example", "DEDUPE"); it != nil {
		t.Fatal("the rejected legacy referral kept its dedupe key")
	}
	moveTo(t, st, "ref_B", t0, referral.StatusVerifying, referral.StatusInProgress, referral.StatusLost)
	if it := item(t, st, "EMAIL#jane@acme.example", "REFERRAL#ref_B"); str(it["expires_at"]) == "" {
		t.Fatalf("the closed legacy referral's lookup key does not expire: %v", it)
	}
	if n, err := st.ErasePerson(ctx, "jane@acme.example", events.ActorAdmin, t0); err != nil || n != 2 {
		t.Fatalf("ErasePerson = %d, %v; want 2", n, err)
	}
	for _, it := range items(t, st) {
		if pk := str(it["PK"]); strings.Contains(pk, "jane") || strings.Contains(pk, "acme") {
			t.Errorf("legacy key %s left after erasure", pk)
		}
		if p := holdsPersonalData(it); len(p) > 0 {
			t.Errorf("%s / %s holds personal data in %v", str(it["PK"]), str(it["SK"]), p)
		}
	}
}
