package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// EventRetention is how long webhook event ids are kept for dedupe: longer
// than any provider retries (HubSpot and Stripe: 3 days; Salesforce: 24 h).
const EventRetention = 30 * 24 * time.Hour

func eventKey(provider, id string) map[string]types.AttributeValue {
	return key("EVENT#"+provider+"#"+id, "EVENT")
}

// ClaimEvent records that a webhook event arrived, before it is applied.
// It reports applied=true when the event was already applied (a duplicate
// delivery: apply nothing). An event received before but not applied (the
// delivery failed half-way) is claimed again, so it is never lost; applying
// it twice is harmless because every effect is idempotent.
func (st *Store) ClaimEvent(ctx context.Context, provider, id string, now time.Time) (applied bool, err error) {
	cond := "attribute_not_exists(PK) OR #state <> :applied"
	_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: eventKey(provider, id),
		UpdateExpression:         aws.String("SET #state = if_not_exists(#state, :received), received_at = if_not_exists(received_at, :now), attempts = if_not_exists(attempts, :zero) + :one, expires_at = :exp"),
		ConditionExpression:      &cond,
		ExpressionAttributeNames: map[string]string{"#state": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":applied": s("applied"), ":received": s("received"), ":now": s(ts(now)),
			":zero": n(0), ":one": n(1), ":exp": n(now.Add(EventRetention).Unix()),
		},
	})
	if conditionFailed(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: claim event: %w", err)
	}
	return false, nil
}

// FinishEvent marks an event applied with its outcome ("milestone",
// "lost", "untracked", "ignored", ...) and the referral it concerned.
func (st *Store) FinishEvent(ctx context.Context, provider, id, outcome, referralID string, now time.Time) error {
	vals := map[string]types.AttributeValue{":applied": s("applied"), ":o": s(outcome), ":now": s(ts(now)), ":r": s(referralID)}
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: eventKey(provider, id),
		UpdateExpression:          aws.String("SET #state = :applied, outcome = :o, applied_at = :now, referral_id = :r"),
		ExpressionAttributeNames:  map[string]string{"#state": "state"},
		ExpressionAttributeValues: vals,
	})
	if err != nil {
		return fmt.Errorf("store: finish event: %w", err)
	}
	return nil
}

func linkKey(provider, recordID string) map[string]types.AttributeValue {
	return key("CRM#"+provider+"#"+recordID, "LINK")
}

// Link returns the referral a CRM record belongs to, or ErrNotFound.
func (st *Store) Link(ctx context.Context, provider, recordID string) (string, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: linkKey(provider, recordID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("store: get link: %w", err)
	}
	v, ok := out.Item["referral_id"].(*types.AttributeValueMemberS)
	if !ok {
		return "", fmt.Errorf("store: link %s/%s: %w", provider, recordID, ErrNotFound)
	}
	return v.Value, nil
}

// PutLink ties a CRM record to a referral. The first link wins: it returns
// the referral id the record is linked to after the call.
func (st *Store) PutLink(ctx context.Context, provider, recordID, referralID string, now time.Time) (string, error) {
	item := linkKey(provider, recordID)
	item["referral_id"], item["created_at"] = s(referralID), s(ts(now))
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if conditionFailed(err) {
		return st.Link(ctx, provider, recordID)
	}
	if err != nil {
		return "", fmt.Errorf("store: put link: %w", err)
	}
	return referralID, nil
}
