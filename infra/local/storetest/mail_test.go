package storetest_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/store"
)

func TestMailIsClaimedOncePerKeyAndRecipient(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	claim := func(key, to string, at time.Time) store.MailClaim {
		t.Helper()
		c, err := st.ClaimMail(ctx, key, to, "referral_received", at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := claim("evt_1", "ann@partner.example", t0); c != store.MailClaimed {
		t.Fatalf("first claim = %v", c)
	}
	// A duplicate delivery while the first attempt sends: retry later.
	if c := claim("evt_1", "Ann@Partner.example ", t0.Add(time.Second)); c != store.MailInFlight {
		t.Fatalf("second claim while sending = %v, want in flight (the address is normalised)", c)
	}
	// Another recipient of the same event, the same recipient of another event.
	if claim("evt_1", "ops@acme.example", t0) != store.MailClaimed || claim("evt_2", "ann@partner.example", t0) != store.MailClaimed {
		t.Fatal("a different recipient or event was not claimed")
	}
	if err := st.FinishMail(ctx, "evt_1", "ann@partner.example", store.MailSent, "msg-1", t0); err != nil {
		t.Fatal(err)
	}
	if c := claim("evt_1", "ann@partner.example", t0.Add(time.Hour)); c != store.MailDone {
		t.Fatalf("claim after sending = %v, want done", c)
	}
	// A sending attempt that stopped is taken over once its lease is over.
	if c := claim("evt_2", "ann@partner.example", t0.Add(store.MailLease-time.Second)); c != store.MailInFlight {
		t.Fatalf("within the lease = %v", c)
	}
	if c := claim("evt_2", "ann@partner.example", t0.Add(store.MailLease+time.Second)); c != store.MailClaimed {
		t.Fatalf("after the lease = %v", c)
	}
	// A released claim (a send that may pass later) is claimed again at once.
	if err := st.ReleaseMail(ctx, "evt_2", "ann@partner.example"); err != nil {
		t.Fatal(err)
	}
	if c := claim("evt_2", "ann@partner.example", t0.Add(store.MailLease+2*time.Second)); c != store.MailClaimed {
		t.Fatalf("after release = %v", c)
	}
	// A refusal for good is kept: never sent again; releasing it changes nothing.
	if err := st.FinishMail(ctx, "evt_2", "ann@partner.example", store.MailFailed, "mail: invalid message", t0); err != nil {
		t.Fatal(err)
	}
	if err := st.ReleaseMail(ctx, "evt_2", "ann@partner.example"); err != nil {
		t.Fatal(err)
	}
	if c := claim("evt_2", "ann@partner.example", t0.Add(time.Hour)); c != store.MailDone {
		t.Fatalf("after a refusal = %v, want done", c)
	}
}

// Claims hold the recipient's keyed hash, never the address, and expire.
func TestMailClaimHoldsNoAddress(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	if _, err := st.ClaimMail(ctx, "evt_9", "ann@partner.example", "welcome", t0); err != nil {
		t.Fatal(err)
	}
	h, _ := storetest.Keys(ctx)
	k := map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "MAIL#evt_9#" + h.Hash(privacy.Email, "ann@partner.example")},
		"SK": &types.AttributeValueMemberS{Value: "MAIL"},
	}
	out, err := storetest.DB(t).GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.Table()), Key: k})
	if err != nil || out.Item == nil {
		t.Fatalf("claim not found under the hashed key: %v", err)
	}
	for name, v := range out.Item {
		if s, ok := v.(*types.AttributeValueMemberS); ok && strings.Contains(s.Value, "partner.example") {
			t.Errorf("attribute %s holds the address: %q", name, s.Value)
		}
	}
	exp, ok := out.Item["expires_at"].(*types.AttributeValueMemberN)
	if !ok || exp.Value != strconv.FormatInt(t0.Add(store.MailClaimTTL).Unix(), 10) {
		t.Errorf("expires_at = %v", out.Item["expires_at"])
	}
}

func TestMailPreferences(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	off, err := st.MailOff(ctx, "b2b", "c:ANN1")
	if err != nil || len(off) != 0 {
		t.Fatalf("nothing stored: %v %v", off, err)
	}
	if err := st.SetMailOff(ctx, "b2b", "c:ANN1", []string{"monthly_summary", "reward_paid"}, t0); err != nil {
		t.Fatal(err)
	}
	off, _ = st.MailOff(ctx, "b2b", "c:ANN1")
	slices.Sort(off)
	if !slices.Equal(off, []string{"monthly_summary", "reward_paid"}) {
		t.Errorf("off = %v", off)
	}
	if other, _ := st.MailOff(ctx, "other", "c:ANN1"); len(other) != 0 {
		t.Errorf("another program's preferences: %v", other)
	}
	if err := st.SetMailOff(ctx, "b2b", "c:ANN1", nil, t0); err != nil {
		t.Fatal(err)
	}
	if off, _ = st.MailOff(ctx, "b2b", "c:ANN1"); len(off) != 0 {
		t.Errorf("cleared, still %v", off)
	}
}

func TestMailActivityIsASetPerPartnerAndMonth(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	rec := func(program, key, month string, f store.ActivityField, v string) {
		t.Helper()
		if err := st.RecordMailActivity(ctx, program, key, month, f, v, t0); err != nil {
			t.Fatal(err)
		}
	}
	rec("b2b", "ANN1", "2026-11", store.ActivityReferrals, "ref_1")
	rec("b2b", "ANN1", "2026-11", store.ActivityReferrals, "ref_1") // a repeated event
	rec("b2b", "ANN1", "2026-11", store.ActivityReferrals, "ref_2")
	rec("b2b", "ANN1", "2026-11", store.ActivityRewards, "ref_1|won|referrer")
	rec("b2b", "ANN1", "2026-11", store.ActivityPaid, "ref_1|won|referrer")
	rec("side", "BOB1", "2026-11", store.ActivityReferrals, "ref_3")
	rec("b2b", "ANN1", "2026-12", store.ActivityReferrals, "ref_4")

	a, err := st.MailActivityOf(ctx, "b2b", "ANN1", "2026-11")
	if err != nil || a == nil {
		t.Fatalf("activity %v %v", a, err)
	}
	slices.Sort(a.Referrals)
	if !slices.Equal(a.Referrals, []string{"ref_1", "ref_2"}) || len(a.Rewards) != 1 || len(a.Paid) != 1 {
		t.Errorf("activity %+v", a)
	}
	if none, err := st.MailActivityOf(ctx, "b2b", "BOB1", "2026-11"); none != nil || err != nil {
		t.Errorf("a partner without activity: %+v %v", none, err)
	}
	progs, err := st.MailPrograms(ctx, "2026-11")
	slices.Sort(progs)
	if err != nil || !slices.Equal(progs, []string{"b2b", "side"}) {
		t.Errorf("programs of the month: %v %v", progs, err)
	}
}
