package storetest_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/store"
)

// parkedTable returns every item of the table as text, one line per item
// (tests only: no request path scans).
func parkedTable(t *testing.T, st *store.Store) []string {
	t.Helper()
	out, err := storetest.DB(t).Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(st.Table())})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, it := range out.Items {
		lines = append(lines, fmt.Sprint(it))
	}
	return lines
}

func expiresAt(t *testing.T, st *store.Store, pk, sk string) int64 {
	t.Helper()
	out, err := storetest.DB(t).GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(st.Table()), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := out.Item["expires_at"].(*types.AttributeValueMemberN)
	if v == nil {
		return 0
	}
	n, _ := strconv.ParseInt(v.Value, 10, 64)
	return n
}

// Parked events keep ids and deal facts, are found by record and by the
// email's keyed hash (never the email), and each is claimed by one caller
// at a time until applied and removed.
func TestParkedEventsRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	g := crm.ParkedGroup{Provider: "hubspot", RecordID: "D1"}
	ev := crm.Event{Provider: "hubspot", ID: "E1", Kind: crm.KindAmountChanged, RecordID: "D1", Pipeline: "default", Stage: "closedwon",
		Amount: &money.Money{Minor: 100000000}, AmountText: "1000000", OccurredAt: now.Add(-time.Hour), ReferralID: "ref_x"}
	p := crm.Parked{Group: g, Event: ev, ParkedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
	for range 2 { // parking again changes nothing
		if err := st.ParkEvent(ctx, p, "Bob@Acme.example"); err != nil {
			t.Fatal(err)
		}
	}
	orphan := crm.Event{Provider: "generic", ID: "G1", Kind: crm.KindStageChanged, Stage: "won"}
	og := crm.ParkedGroup{Provider: "generic", Email: "bob@acme.example"}
	if err := st.ParkEvent(ctx, crm.Parked{Group: og, Event: orphan, ParkedAt: now, ExpiresAt: now.Add(time.Hour)}, "bob@acme.example"); err != nil {
		t.Fatal(err)
	}
	for _, line := range parkedTable(t, st) {
		if strings.Contains(strings.ToLower(line), "bob") || strings.Contains(line, "acme") {
			t.Fatalf("an email is stored: %s", line)
		}
	}
	groups, err := st.ParkedGroups(ctx, "bob@acme.example")
	if err != nil || len(groups) != 2 || !slicesHave(groups, g) || !slicesHave(groups, og) {
		t.Fatalf("groups %+v, %v", groups, err)
	}

	got, busy, err := st.ClaimParked(ctx, g, now, time.Minute)
	if err != nil || busy || len(got) != 1 {
		t.Fatalf("claim: %+v busy %v %v", got, busy, err)
	}
	back := got[0]
	if !reflect.DeepEqual(back.Event, ev) || !back.ParkedAt.Equal(now) || !back.ExpiresAt.Equal(p.ExpiresAt.Truncate(time.Second)) || back.Group != g {
		t.Fatalf("read back %+v\nwant %+v", back, p)
	}
	// Held: another caller gets nothing and is told; parking it again
	// leaves it to its holder.
	if err := st.ParkEvent(ctx, p, ""); err != nil {
		t.Fatal(err)
	}
	if again, busy, err := st.ClaimParked(ctx, g, now.Add(30*time.Second), time.Minute); len(again) != 0 || !busy || err != nil {
		t.Fatalf("held event claimed again: %+v %v %v", again, busy, err)
	}
	if err := st.ReleaseParked(ctx, got); err != nil {
		t.Fatal(err)
	}
	if again, busy, _ := st.ClaimParked(ctx, g, now.Add(30*time.Second), time.Minute); len(again) != 1 || busy {
		t.Fatalf("released event not claimable: %+v %v", again, busy)
	}
	// A lease that ended frees it too.
	if again, busy, _ := st.ClaimParked(ctx, g, now.Add(2*time.Minute), time.Minute); len(again) != 1 || busy {
		t.Fatalf("after the lease: %+v %v", again, busy)
	}
	if err := st.UnparkEvent(ctx, got[0]); err != nil {
		t.Fatal(err)
	}
	if left, busy, _ := st.ClaimParked(ctx, g, now.Add(3*time.Minute), time.Minute); len(left) != 0 || busy {
		t.Fatalf("unparked event still there: %+v", left)
	}
	// An expired event is never claimed (TTL deletes it later).
	if late, _, _ := st.ClaimParked(ctx, og, now.Add(2*time.Hour), time.Minute); len(late) != 0 {
		t.Fatalf("expired event claimed: %+v", late)
	}
	if fresh, _, _ := st.ClaimParked(ctx, og, now, time.Minute); len(fresh) != 1 || fresh[0].Event.Stage != "won" {
		t.Fatalf("email group: %+v", fresh)
	}
}

func slicesHave(gs []crm.ParkedGroup, g crm.ParkedGroup) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

// A parked event's dedupe record lives at least as long as the event, so
// a late adoption still finds it; a shorter TTL never shortens it.
func TestParkedEventKeepsItsDedupeRecord(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		id   string
		ttl  time.Duration
		want time.Duration
	}{{"E1", 90 * 24 * time.Hour, 90 * 24 * time.Hour}, {"E2", time.Hour, store.EventRetention}} {
		if _, err := st.ClaimEvent(ctx, "hubspot", c.id, now); err != nil {
			t.Fatal(err)
		}
		p := crm.Parked{Group: crm.ParkedGroup{Provider: "hubspot", RecordID: "D9"}, Event: crm.Event{Provider: "hubspot", ID: c.id, Kind: crm.KindStageChanged, RecordID: "D9"},
			ParkedAt: now, ExpiresAt: now.Add(c.ttl)}
		if err := st.ParkEvent(ctx, p, ""); err != nil {
			t.Fatal(err)
		}
		if got := expiresAt(t, st, "EVENT#hubspot#"+c.id, "EVENT"); got != now.Add(c.want).Unix() {
			t.Errorf("%s: dedupe record expires %v, want %v", c.id, time.Unix(got, 0).UTC(), now.Add(c.want))
		}
	}
}

// Groups parked under an older key-hash secret are still found after a
// rotation.
func TestParkedGroupsAcrossASecretRotation(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	g := crm.ParkedGroup{Provider: "hubspot", RecordID: "D3"}
	if err := st.ParkEvent(ctx, crm.Parked{Group: g, Event: crm.Event{Provider: "hubspot", ID: "E3", RecordID: "D3"}, ParkedAt: now, ExpiresAt: now.Add(time.Hour)}, "amy@example.org"); err != nil {
		t.Fatal(err)
	}
	h, err := privacy.NewHasher("a-newer-key-hash-secret", storetest.Secret)
	if err != nil {
		t.Fatal(err)
	}
	rotated := st.WithKeys(privacy.Fixed(h))
	if groups, err := rotated.ParkedGroups(ctx, "amy@example.org"); err != nil || !reflect.DeepEqual(groups, []crm.ParkedGroup{g}) {
		t.Fatalf("after rotation: %+v, %v", groups, err)
	}
}
