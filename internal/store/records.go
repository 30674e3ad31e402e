package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// IdempotencyRecord is the first answer given to a request with an
// Idempotency-Key; a repeat with the same body gets it again.
type IdempotencyRecord struct {
	Key         string    `dynamodbav:"idempotency_key"`
	RequestHash string    `dynamodbav:"request_hash"`
	Status      int       `dynamodbav:"status"`
	Body        string    `dynamodbav:"body"`
	Location    string    `dynamodbav:"location,omitempty"`
	ExpiresAt   time.Time `dynamodbav:"-"`
}

func (r *IdempotencyRecord) item() (map[string]types.AttributeValue, error) {
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
func (st *Store) Idempotency(ctx context.Context, k string, now time.Time) (*IdempotencyRecord, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: key("IDEMPOTENCY#"+k, "IDEMPOTENCY"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get idempotency: %w", err)
	}
	if out.Item == nil || expired(out.Item, now) {
		return nil, ErrNotFound
	}
	var r IdempotencyRecord
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

// Activity is one line of a referral's activity log: every decision and
// transition, readable by the admin API.
type Activity struct {
	At     time.Time         `dynamodbav:"at" json:"at"`
	Type   string            `dynamodbav:"type" json:"type"`     // e.g. "received", "milestone", "reward"
	Actor  string            `dynamodbav:"actor" json:"actor"`   // "intake", "webhook:hubspot", "workflow", "admin"
	Detail string            `dynamodbav:"detail" json:"detail"` // a sentence for a person
	Data   map[string]string `dynamodbav:"data,omitempty" json:"data,omitempty"`
}

func activityItem(referralID string, a Activity) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(a)
	if err != nil {
		return nil, fmt.Errorf("store: marshal activity: %w", err)
	}
	// A random suffix keeps lines written in the same millisecond apart.
	sk := fmt.Sprintf("ACTIVITY#%s#%08x", ts(a.At), rand.Uint32())
	for k, v := range key("REFERRAL#"+referralID, sk) {
		item[k] = v
	}
	return item, nil
}

// AddActivity appends lines to a referral's activity log.
func (st *Store) AddActivity(ctx context.Context, referralID string, acts ...Activity) error {
	for _, a := range acts {
		item, err := activityItem(referralID, a)
		if err != nil {
			return err
		}
		if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item}); err != nil {
			return fmt.Errorf("store: add activity: %w", err)
		}
	}
	return nil
}

// ActivityLog returns a referral's activity, oldest first.
func (st *Store) ActivityLog(ctx context.Context, referralID string) ([]Activity, error) {
	var out []Activity
	err := st.queryPrefix(ctx, "REFERRAL#"+referralID, "ACTIVITY#", func(item map[string]types.AttributeValue) error {
		var a Activity
		if err := attributevalue.UnmarshalMap(item, &a); err != nil {
			return err
		}
		out = append(out, a)
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
