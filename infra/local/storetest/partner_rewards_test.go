package storetest_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// smallPages is the table with every Query limited to two items a page,
// so that a listing has to follow LastEvaluatedKey.
type smallPages struct{ *dynamodb.Client }

func (p smallPages) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	cp := *in
	cp.Limit = aws.Int32(2)
	return p.Client.Query(ctx, &cp, opts...)
}

// referFor stores a referral made with code in program, filed under
// partnerKey ("" = none recorded, as before partners had keys).
func referFor(t *testing.T, st *store.Store, id, program, code, partnerKey string) {
	t.Helper()
	r := newReferral(id, id+"@buyer.example", "")
	r.ProgramID, r.ReferrerCode = program, code
	must(t, st.CreateReferral(context.Background(), store.NewReferral{Referral: r, PartnerKey: partnerKey,
		Event: events.New(events.ReferralReceived, id, "test", t0)}))
}

// holdBoth creates the referrer and referee rewards of a milestone.
func holdBoth(t *testing.T, st *store.Store, referralID, program, code, milestone string) (referrer, referee rewards.Reward) {
	t.Helper()
	referrer, referee = reward(referralID, milestone, "referrer", 50000), reward(referralID, milestone, "referee", 20000)
	referrer.ProgramID, referee.ProgramID = program, program
	referrer.ReferrerCode, referee.ReferrerCode = code, code
	if _, err := st.CreateRewards(context.Background(), referralID, milestone, []rewards.Reward{referrer, referee}, nil, nil); err != nil {
		t.Fatal(err)
	}
	return referrer, referee
}

func rewardIDs(rws []rewards.Reward) []string {
	var ids []string
	for _, r := range rws {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

// Every referrer reward is listed under the partner its referral is filed
// under (also one made with a code the partner held before), in one paged
// query, with its status after every later move and its reversal; referee
// rewards, other partners' and other programs' rewards, and rewards
// created before rewards were filed by partner are not listed.
func TestRewardsByPartnerListsEveryReferrerRewardAfterEveryMove(t *testing.T) {
	ctx := context.Background()
	plain := storetest.New(t)
	st := store.New(smallPages{storetest.DB(t)}, plain.Table()).WithKeys(storetest.Keys)
	referFor(t, st, "ref_1", "p1", "ANN42", "ANN42")
	referFor(t, st, "ref_2", "p1", "ANNA", "ANN42") // after a code change: same partner
	referFor(t, st, "ref_bob", "p1", "BOB77", "BOB77")
	referFor(t, st, "ref_old", "p1", "OLD1", "") // no partner key: its code is the key
	referFor(t, st, "ref_p2", "p2", "ANN42", "ANN42")

	paid, _ := holdBoth(t, st, "ref_1", "p1", "ANN42", "won")
	approved, _ := holdBoth(t, st, "ref_1", "p1", "ANN42", "qualified")
	voided, _ := holdBoth(t, st, "ref_2", "p1", "ANNA", "won")
	held, _ := holdBoth(t, st, "ref_2", "p1", "ANNA", "qualified")
	bobs, _ := holdBoth(t, st, "ref_bob", "p1", "BOB77", "won")
	olds, _ := holdBoth(t, st, "ref_old", "p1", "OLD1", "won")
	p2s, _ := holdBoth(t, st, "ref_p2", "p2", "ANN42", "won")
	// A retried step creates nothing twice.
	holdBoth(t, st, "ref_1", "p1", "ANN42", "won")
	// A reward created before rewards were filed by partner: no index.
	legacy := reward("ref_1", "demo", "referrer", 700)
	legacy.ReferrerCode = "ANN42"
	item, err := attributevalue.MarshalMap(legacy)
	must(t, err)
	item["PK"], item["SK"] = &types.AttributeValueMemberS{Value: "REFERRAL#ref_1"}, &types.AttributeValueMemberS{Value: "REWARD#demo#referrer"}
	_, err = storetest.DB(t).PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Table()), Item: item})
	must(t, err)

	later := t0.Add(40 * 24 * time.Hour)
	ok, err := st.SetRewardStatus(ctx, approved, []rewards.Status{rewards.StatusOnHold}, rewards.StatusApproved, "approved", rewards.Event(events.RewardApproved, approved, "test", t0), t0)
	must(t, err)
	ok2, err := st.SetRewardStatus(ctx, voided, []rewards.Status{rewards.StatusOnHold}, rewards.StatusVoided, "deal lost", rewards.Event(events.RewardVoided, voided, "test", t0), t0)
	must(t, err)
	ok3, err := st.PayReward(ctx, paid, rewards.PayableEntry(paid, t0), rewards.Event(events.RewardPaid, paid, "test", t0), t0, rewards.DealOpen)
	must(t, err)
	ok4, err := st.ReverseReward(ctx, paid, rewards.ReversalEntry(paid, later), rewards.Event(events.RewardReversed, paid, "test", later))
	must(t, err)
	if !ok || !ok2 || !ok3 || !ok4 {
		t.Fatalf("moves: %v %v %v %v", ok, ok2, ok3, ok4)
	}

	got, err := st.RewardsByPartner(ctx, "p1", "ANN42")
	must(t, err)
	if want := rewardIDs([]rewards.Reward{paid, approved, voided, held}); !reflect.DeepEqual(rewardIDs(got), want) {
		t.Fatalf("ANN42's rewards = %v, want %v", rewardIDs(got), want)
	}
	status := map[string]rewards.Status{}
	for _, r := range got {
		status[r.ID] = r.Status
		if reversed := r.ReversedAt != nil; reversed != (r.ID == paid.ID) {
			t.Errorf("%s reversed_at = %v", r.ID, r.ReversedAt)
		}
		if r.ID == paid.ID && (r.ReversedAt == nil || !r.ReversedAt.Equal(later) || r.AmountMinor != paid.AmountMinor) {
			t.Errorf("the reversed reward = %+v", r)
		}
	}
	want := map[string]rewards.Status{paid.ID: rewards.StatusPaid, approved.ID: rewards.StatusApproved, voided.ID: rewards.StatusVoided, held.ID: rewards.StatusOnHold}
	if !reflect.DeepEqual(status, want) {
		t.Fatalf("statuses = %v, want %v", status, want)
	}
	for key, want := range map[string][]string{"BOB77": {bobs.ID}, "OLD1": {olds.ID}, "ANNA": nil} {
		got, err := st.RewardsByPartner(ctx, "p1", key)
		if err != nil || !reflect.DeepEqual(rewardIDs(got), want) {
			t.Errorf("RewardsByPartner(%s) = %v, %v; want %v", key, rewardIDs(got), err, want)
		}
	}
	if got, _ := st.RewardsByPartner(ctx, "p2", "ANN42"); !reflect.DeepEqual(rewardIDs(got), []string{p2s.ID}) {
		t.Errorf("the same partner key in p2 lists %v, want only p2's %s", rewardIDs(got), p2s.ID)
	}
}

// batchDB forwards BatchGetItem calls, checking each asks for at most 100
// keys: the first call answers nothing (throttled: every key
// unprocessed), every later call reads only the first half of its keys
// and leaves the rest unprocessed.
type batchDB struct {
	*dynamodb.Client
	t     *testing.T
	calls atomic.Int32
}

func (b *batchDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	n := b.calls.Add(1)
	for table, ka := range in.RequestItems {
		if len(ka.Keys) > 100 || ka.ConsistentRead == nil || !*ka.ConsistentRead {
			b.t.Errorf("BatchGetItem of %d keys, consistent %v", len(ka.Keys), ka.ConsistentRead)
		}
		if n == 1 {
			return &dynamodb.BatchGetItemOutput{UnprocessedKeys: in.RequestItems}, nil
		}
		half := (len(ka.Keys) + 1) / 2
		out, err := b.Client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			table: {Keys: ka.Keys[:half], ConsistentRead: ka.ConsistentRead}}}, opts...)
		if err != nil || half == len(ka.Keys) {
			return out, err
		}
		out.UnprocessedKeys = map[string]types.KeysAndAttributes{table: {Keys: ka.Keys[half:], ConsistentRead: ka.ConsistentRead}}
		return out, nil
	}
	return &dynamodb.BatchGetItemOutput{}, nil
}

// ReferralsByID reads each referral exactly as Referral does (an open one,
// a closed one with its personal data on its PERSON item), whatever the
// batches and the keys the table leaves unprocessed; unknown ids are
// missing from the answer.
func TestReferralsByIDReadsEachAsReferralDoes(t *testing.T) {
	ctx := context.Background()
	plain := storetest.New(t)
	db := &batchDB{Client: storetest.DB(t), t: t}
	st := store.New(db, plain.Table()).WithKeys(storetest.Keys)
	for i, id := range []string{"ref_open", "ref_closed", "ref_waiting"} {
		r := personalReferral(id, "p1")
		r.RefereeEmail, r.RefereeDomain = fmt.Sprintf("jane%d@acme%d.example", i, i), fmt.Sprintf("acme%d.example", i)
		create(t, st, r)
	}
	moveTo(t, st, "ref_closed", t0, referral.StatusVerifying, referral.StatusInProgress, referral.StatusCompleted)
	moveTo(t, st, "ref_waiting", t0, referral.StatusVerifying)
	if it := item(t, st, "REFERRAL#ref_closed", "PERSON"); it == nil {
		t.Fatal("the closed referral has no PERSON item: the test proves nothing")
	}
	ids := []string{"ref_open", "ref_closed", "ref_open"}
	for i := 0; i < 140; i++ {
		ids = append(ids, fmt.Sprintf("ref_missing%03d", i))
	}
	ids = append(ids, "ref_waiting")

	got, err := st.ReferralsByID(ctx, ids)
	must(t, err)
	if len(got) != 3 {
		t.Fatalf("%d referrals, want 3: %v", len(got), got)
	}
	for _, id := range []string{"ref_open", "ref_closed", "ref_waiting"} {
		want, err := st.Referral(ctx, id)
		must(t, err)
		if !reflect.DeepEqual(got[id], want) {
			t.Errorf("ReferralsByID[%s] = %+v\nReferral = %+v", id, got[id], want)
		}
	}
	if c := got["ref_closed"]; c == nil || c.RefereeEmail != "jane1@acme1.example" || c.RefereeCompany != "Acme" || c.Status != referral.StatusCompleted {
		t.Errorf("the closed referral lacks its personal data: %+v", c)
	}
	if n := db.calls.Load(); n < 4 {
		t.Errorf("%d BatchGetItem calls: the batches and unprocessed keys were not exercised", n)
	}
	if none, err := st.ReferralsByID(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("no ids = %v, %v", none, err)
	}
}
