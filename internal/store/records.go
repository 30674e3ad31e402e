package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/events"
)

// idempotencyItem is the item of an Idempotency-Key's first answer
// (IDEMPOTENCY#<key>, expiring with the record).
func idempotencyItem(r *apigw.IdempotencyRecord) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return nil, fmt.Errorf("store: marshal idempotency: %w", err)
	}
	for k, v := range key("IDEMPOTENCY#"+r.Key, "IDEMPOTENCY") {
		item[k] = v
	}
	item[attrExpires] = n(r.ExpiresAt.Unix())
	return item, nil
}

// Idempotency returns the stored answer for key, or ErrNotFound. An
// expired record (TTL deletion is lazy) counts as absent.
func (st *Store) Idempotency(ctx context.Context, k string, now time.Time) (*apigw.IdempotencyRecord, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: key("IDEMPOTENCY#"+k, "IDEMPOTENCY"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get idempotency: %w", err)
	}
	if out.Item == nil || expired(out.Item, now) {
		return nil, ErrNotFound
	}
	var r apigw.IdempotencyRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return nil, fmt.Errorf("store: decode idempotency: %w", err)
	}
	return &r, nil
}

func expired(item map[string]types.AttributeValue, now time.Time) bool {
	v, ok := item[attrExpires].(*types.AttributeValueMemberN)
	if !ok {
		return false
	}
	var sec int64
	fmt.Sscan(v.Value, &sec)
	return sec > 0 && sec < now.Unix()
}

// eventSeq orders the events this process writes.
var eventSeq atomic.Uint32

// eventItem is the item of a domain event: in its referral's partition
// (REFERRAL#<id> / EVENT#<time>#<rand>), and in GSI1 under the day it
// happened (EVENTS#<yyyy-mm-dd>), so a consumer can follow every event in
// time order without a scan.
func eventItem(ev events.Event) (map[string]types.AttributeValue, error) {
	if ev.ReferralID == "" || ev.Type == "" {
		return nil, fmt.Errorf("store: event %q without a referral id or type", ev.Type)
	}
	item, err := attributevalue.MarshalMap(ev)
	if err != nil {
		return nil, fmt.Errorf("store: marshal event: %w", err)
	}
	// Within one millisecond, events one process writes keep their order
	// (a sequence); the random part keeps processes apart.
	suffix := fmt.Sprintf("%08x%04x", eventSeq.Add(1), rand.Uint32N(1<<16))
	sk := "EVENT#" + ts(ev.At) + "#" + suffix
	// The id names the referral, the instant and the suffix: unique, and
	// stable across every consumer's retries.
	ev.ID = "evt_" + ev.ReferralID + "_" + ev.At.UTC().Format("20060102T150405.000") + "_" + suffix
	item["id"] = s(ev.ID)
	for k, v := range key("REFERRAL#"+ev.ReferralID, sk) {
		item[k] = v
	}
	item[attrGSI1PK], item[attrGSI1SK] = s("EVENTS#"+ev.At.UTC().Format("2006-01-02")), s(ts(ev.At)+"#"+ev.ReferralID)
	return item, nil
}

// putEvent is the transaction item that records ev.
func (st *Store) putEvent(ev events.Event) (types.TransactWriteItem, error) {
	item, err := eventItem(ev)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: &st.table, Item: item}}, nil
}

// Record appends events that accompany no status change of their own
// (verification reasons, CRM events that changed nothing, a continued
// execution). Status changes record their event in the same write as the
// change (Transition, SetRewardStatus, PayReward, ...).
func (st *Store) Record(ctx context.Context, evs ...events.Event) error {
	for _, ev := range evs {
		item, err := eventItem(ev)
		if err != nil {
			return err
		}
		if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item}); err != nil {
			return fmt.Errorf("store: record event: %w", err)
		}
	}
	return nil
}

// Events returns a referral's events, oldest first.
func (st *Store) Events(ctx context.Context, referralID string) ([]events.Event, error) {
	var out []events.Event
	err := st.queryPrefix(ctx, "REFERRAL#"+referralID, "EVENT#", func(item map[string]types.AttributeValue) error {
		var ev events.Event
		if err := attributevalue.UnmarshalMap(item, &ev); err != nil {
			return err
		}
		out = append(out, ev)
		return nil
	})
	return out, err
}

// queryPrefix visits every item of partition pk whose sort key starts with
// prefix, following pages.
func (st *Store) queryPrefix(ctx context.Context, pk, prefix string, visit func(map[string]types.AttributeValue) error) error {
	cond := "PK = :p AND begins_with(SK, :s)"
	in := &dynamodb.QueryInput{
		TableName: &st.table, KeyConditionExpression: &cond, ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s(pk), ":s": s(prefix)},
	}
	for {
		out, err := st.db.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("store: query %s: %w", strings.TrimSuffix(prefix, "#"), err)
		}
		for _, it := range out.Items {
			if err := visit(it); err != nil {
				return fmt.Errorf("store: decode: %w", err)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
