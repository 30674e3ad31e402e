package storetest_test

import (
	"context"
	"errors"
	"strconv"
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

// personal is what a test referral says about its referee: none of it may
// be left in a key, nor on an erased or closed referral item.
var personal = []string{"jane", "acme", "+1 555", "call me"}

func personalReferral(id, program string) *referral.Referral {
	r := newReferral(id, "jane@acme.example", "acme.example")
	r.ProgramID, r.RefereeName, r.RefereePhone, r.Message = program, "Jane Doe", "+1 555 0100", "call me"
	return r
}

// moveTo takes a referral through the statuses to reach `to`.
func moveTo(t *testing.T, st *store.Store, id string, at time.Time, path ...referral.Status) {
	t.Helper()
	for _, to := range path {
		ev := events.New(events.ReferralVerifying, id, "test", at).WithStatus(string(to))
		if err := st.Transition(context.Background(), id, to, at, nil, ev); err != nil {
			t.Fatalf("Transition(%s, %s): %v", id, to, err)
		}
	}
}

// items returns every item of the table (tests only: no request path scans).
func items(t *testing.T, st *store.Store) []map[string]types.AttributeValue {
	t.Helper()
	out, err := storetest.DB(t).Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(st.Table())})
	if err != nil {
		t.Fatal(err)
	}
	return out.Items
}

func item(t *testing.T, st *store.Store, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := storetest.DB(t).GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(st.Table()),
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func str(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	}
	return ""
}

// holdsPersonalData names the attributes of it that mention the referee.
func holdsPersonalData(it map[string]types.AttributeValue) []string {
	var out []string
	for k, v := range it {
		text := strings.ToLower(str(v))
		if l, ok := v.(*types.AttributeValueMemberL); ok {
			text = strings.ToLower(strings.Join(func() []string {
				var ss []string
				for _, e := range l.Value {
					if m, ok := e.(*types.AttributeValueMemberM); ok {
						ss = append(ss, str(m.Value["message"]))
					}
				}
				return ss
			}(), " "))
		}
		for _, p := range personal {
			if strings.Contains(text, p) {
				out = append(out, k)
			}
		}
	}
	return out
}

func TestKeysHoldKeyedHashesNotEmailsOrDomains(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	create(t, st, personalReferral("ref_A", "p1"))
	for _, it := range items(t, st) {
		for _, k := range []string{"PK", "SK", "GSI1PK", "GSI1SK"} {
			if v := strings.ToLower(str(it[k])); strings.Contains(v, "jane") || strings.Contains(v, "acme") {
				t.Errorf("%s %q holds the referee's email or domain", k, v)
			}
		}
	}
	h, _ := privacy.NewHasher(storetest.Secret)
	if item(t, st, "EMAIL#"+h.Hash(privacy.Email, "jane@acme.example"), "REFERRAL#ref_A") == nil {
		t.Fatal("no EMAIL#<keyed hash> lookup item")
	}
	if ids, err := st.ReferralsByEmail(ctx, "Jane@ACME.example"); err != nil || len(ids) != 1 || ids[0] != "ref_A" {
		t.Fatalf("ReferralsByEmail = %v, %v", ids, err)
	}
	// A store without the secret cannot make or look up keys.
	bare := store.New(storetest.DB(t), st.Table())
	if _, err := bare.ReferralsByEmail(ctx, "jane@acme.example"); !errors.Is(err, store.ErrNoKeys) {
		t.Fatalf("ReferralsByEmail without keys: err = %v", err)
	}
}

func TestRejectedReferralReleasesItsDedupeKeys(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	create(t, st, personalReferral("ref_A", "p1"))
	moveTo(t, st, "ref_A", t0, referral.StatusVerifying, referral.StatusRejected)
	again := personalReferral("ref_B", "p1")
	if err := st.CreateReferral(ctx, store.NewReferral{Referral: again, Event: events.New(events.ReferralReceived, "ref_B", "test", t0)}); err != nil {
		t.Fatalf("the same company referred after a rejection: %v", err)
	}
	// A referral that ended otherwise keeps its keys (until its retention ends).
	moveTo(t, st, "ref_B", t0, referral.StatusVerifying, referral.StatusInProgress, referral.StatusLost)
	third := personalReferral("ref_C", "p1")
	if err := st.CreateReferral(ctx, store.NewReferral{Referral: third, Event: events.New(events.ReferralReceived, "ref_C", "test", t0)}); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("referred again after a lost deal: err = %v, want ErrDuplicate", err)
	}
	// Erasing the rejected referral later leaves the new referral's keys alone.
	if _, err := st.ErasePerson(ctx, "jane@acme.example", events.ActorAdmin, t0); err != nil {
		t.Fatal(err)
	}
}

func TestClosingMovesPersonalDataToAnItemThatExpires(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	r := personalReferral("ref_A", "p1")
	if err := st.CreateReferral(ctx, store.NewReferral{Referral: r, Retention: 30 * 24 * time.Hour, Event: events.New(events.ReferralReceived, r.ID, "test", t0)}); err != nil {
		t.Fatal(err)
	}
	// Open: the personal data is on the referral, nothing expires.
	if it := item(t, st, "REFERRAL#ref_A", "REFERRAL"); len(holdsPersonalData(it)) == 0 {
		t.Fatal("an open referral lost its personal data")
	}
	verifying := t0.Add(time.Minute)
	moveTo(t, st, "ref_A", verifying, referral.StatusVerifying)
	set := map[string]any{"decision": "rejected", "reasons": []referral.Reason{{Code: "self_referral", Message: "the referee's email jane@acme.example is the referrer's own"}}}
	closed := t0.Add(time.Hour)
	ev := events.New(events.ReferralVerified, "ref_A", "test", closed).WithStatus(string(referral.StatusRejected))
	if err := st.Transition(ctx, "ref_A", referral.StatusRejected, closed, set, ev); err != nil {
		t.Fatal(err)
	}
	ref := item(t, st, "REFERRAL#ref_A", "REFERRAL")
	if p := holdsPersonalData(ref); len(p) > 0 {
		t.Errorf("the closed referral item keeps personal data in %v", p)
	}
	if str(ref["status"]) != "rejected" || str(ref["decision"]) != "rejected" || str(ref["referrer_code"]) != "DEMO" {
		t.Errorf("the closed referral item lost its facts: %v", ref)
	}
	person := item(t, st, "REFERRAL#ref_A", "PERSON")
	want := strconv.FormatInt(closed.Add(30*24*time.Hour).Unix(), 10)
	if got := str(person["expires_at"]); got != want {
		t.Fatalf("PERSON expires_at = %q, want %s (closed + retention)", got, want)
	}
	if len(holdsPersonalData(person)) == 0 {
		t.Fatal("the PERSON item holds no personal data")
	}
	h, _ := privacy.NewHasher(storetest.Secret)
	if got := str(item(t, st, "EMAIL#"+h.Hash(privacy.Email, "jane@acme.example"), "REFERRAL#ref_A")["expires_at"]); got != want {
		t.Errorf("the email lookup key expires at %q, want %s", got, want)
	}
	// The admin still reads everything until it expires.
	got, err := st.Referral(ctx, "ref_A")
	if err != nil || got.RefereeEmail != "jane@acme.example" || got.Message != "call me" || len(got.Reasons) != 1 || got.Status != referral.StatusRejected {
		t.Fatalf("Referral = %+v, %v", got, err)
	}
	// Repeating the final status changes nothing.
	if err := st.Transition(ctx, "ref_A", referral.StatusRejected, closed.Add(time.Hour), set, ev); err != nil {
		t.Fatal(err)
	}
	if got := str(item(t, st, "REFERRAL#ref_A", "PERSON")["expires_at"]); got != want {
		t.Fatalf("a repeated close moved the expiry to %s", got)
	}
}

func TestAnExpiredDedupeKeyIsFreeBeforeTTLDeletesIt(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	r := personalReferral("ref_A", "p1")
	if err := st.CreateReferral(ctx, store.NewReferral{Referral: r, Retention: time.Hour, Event: events.New(events.ReferralReceived, r.ID, "test", t0)}); err != nil {
		t.Fatal(err)
	}
	moveTo(t, st, "ref_A", t0, referral.StatusVerifying, referral.StatusInProgress, referral.StatusExpired)
	later := personalReferral("ref_B", "p1")
	later.CreatedAt = t0.Add(2 * time.Hour)
	if err := st.CreateReferral(ctx, store.NewReferral{Referral: later, Event: events.New(events.ReferralReceived, "ref_B", "test", later.CreatedAt)}); err != nil {
		t.Fatalf("referred again after the retention: %v", err)
	}
}

func TestRotatedSecretStillFindsAndDedupesOldKeys(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	create(t, st, personalReferral("ref_A", "p1"))
	h, err := privacy.NewHasher("a-newer-key-hash-secret", storetest.Secret)
	if err != nil {
		t.Fatal(err)
	}
	rotated := st.WithKeys(privacy.Fixed(h))
	if ids, err := rotated.ReferralsByEmail(ctx, "jane@acme.example"); err != nil || len(ids) != 1 {
		t.Fatalf("after rotation ReferralsByEmail = %v, %v", ids, err)
	}
	dup := personalReferral("ref_B", "p1")
	if err := rotated.CreateReferral(ctx, store.NewReferral{Referral: dup, Event: events.New(events.ReferralReceived, "ref_B", "test", t0)}); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("a duplicate under the new secret: err = %v, want ErrDuplicate", err)
	}
	other := personalReferral("ref_C", "p2")
	if err := rotated.CreateReferral(ctx, store.NewReferral{Referral: other, Event: events.New(events.ReferralReceived, "ref_C", "test", t0)}); err != nil {
		t.Fatal(err)
	}
	if n, err := rotated.ErasePerson(ctx, "jane@acme.example", events.ActorAdmin, t0); err != nil || n != 2 {
		t.Fatalf("ErasePerson across secrets = %d, %v; want 2", n, err)
	}
}

// A key that is no longer the referral's (deleted by an erasure running at
// the same time, or taken by a newer referral) does not block the close,
// and is left alone.
func TestClosingLeavesKeysThatAreNoLongerTheReferrals(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	create(t, st, personalReferral("ref_A", "p1"))
	h, _ := privacy.NewHasher(storetest.Secret)
	db, table := storetest.DB(t), aws.String(st.Table())
	pk := func(v string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: v} }
	emailKey := "EMAIL#" + h.Hash(privacy.Email, "jane@acme.example")
	if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: map[string]types.AttributeValue{"PK": pk(emailKey), "SK": pk("REFERRAL#ref_A")}}); err != nil {
		t.Fatal(err)
	}
	domainKey := "DEDUPE#p1#domain#" + h.Hash(privacy.Domain, "acme.example")
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: map[string]types.AttributeValue{"PK": pk(domainKey), "SK": pk("DEDUPE"), "referral_id": pk("ref_Z")}}); err != nil {
		t.Fatal(err)
	}
	moveTo(t, st, "ref_A", t0, referral.StatusVerifying, referral.StatusRejected)
	if it := item(t, st, emailKey, "REFERRAL#ref_A"); it != nil {
		t.Fatalf("closing recreated a deleted lookup key: %v", it)
	}
	if it := item(t, st, domainKey, "DEDUPE"); str(it["referral_id"]) != "ref_Z" {
		t.Fatalf("closing deleted another referral's dedupe key: %v", it)
	}
	if it := item(t, st, "DEDUPE#p1#email#"+h.Hash(privacy.Email, "jane@acme.example"), "DEDUPE"); it != nil {
		t.Fatal("the rejected referral kept its own dedupe key")
	}
}
