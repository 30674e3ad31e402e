package store

// Outbound webhooks (internal/outbound).
//
//	WEBHOOKS            / ENDPOINT#<id>        an endpoint (all of them in one partition: a few per deployment)
//	WEBHOOK#<endpoint>  / DELIVERY#<id>        a delivery with its attempts (TTL: 30 days after its last change)
//	                                           GSI1 while pending: WEBHOOK-DUE / <due time>#<endpoint>#<id>
//
// Delivery ids sort by their event's time (outbound.DeliveryID), so an
// endpoint's deliveries list newest first, and those since a time are a
// key range. The retry run queries WEBHOOK-DUE for the keys up to now:
// O(due), no scan. Endpoints and deliveries carry a version every write is
// conditional on. Signing secrets are stored in the table (encrypted at
// rest) and never logged.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/outbound"
)

var _ outbound.Store = (*Store)(nil)

// DeliveryRetention is how long a delivery is kept after its last change.
const DeliveryRetention = 30 * 24 * time.Hour

const (
	webhooksPK = "WEBHOOKS"
	webhookDue = "WEBHOOK-DUE"
)

func endpointKey(id string) map[string]types.AttributeValue { return key(webhooksPK, "ENDPOINT#"+id) }

func deliveryKey(endpointID, id string) map[string]types.AttributeValue {
	return key("WEBHOOK#"+endpointID, "DELIVERY#"+id)
}

func (st *Store) endpointItem(ep outbound.Endpoint) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(ep)
	if err != nil {
		return nil, fmt.Errorf("store: marshal webhook endpoint: %w", err)
	}
	for k, v := range endpointKey(ep.ID) {
		item[k] = v
	}
	return item, nil
}

// CreateWebhookEndpoint stores a new endpoint (outbound.ErrConflict when
// its id exists).
func (st *Store) CreateWebhookEndpoint(ctx context.Context, ep outbound.Endpoint) error {
	item, err := st.endpointItem(ep)
	if err != nil {
		return err
	}
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if conditionFailed(err) {
		return fmt.Errorf("store: create webhook endpoint %s: %w", ep.ID, outbound.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: create webhook endpoint: %w", err)
	}
	return nil
}

// WebhookEndpoint returns an endpoint, or outbound.ErrNotFound.
func (st *Store) WebhookEndpoint(ctx context.Context, id string) (*outbound.Endpoint, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: endpointKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get webhook endpoint: %w", err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("store: webhook endpoint %s: %w", id, outbound.ErrNotFound)
	}
	var ep outbound.Endpoint
	if err := attributevalue.UnmarshalMap(out.Item, &ep); err != nil {
		return nil, fmt.Errorf("store: decode webhook endpoint: %w", err)
	}
	return &ep, nil
}

// WebhookEndpoints returns every endpoint, oldest first.
func (st *Store) WebhookEndpoints(ctx context.Context) ([]outbound.Endpoint, error) {
	var out []outbound.Endpoint
	err := st.queryPrefix(ctx, webhooksPK, "ENDPOINT#", func(item map[string]types.AttributeValue) error {
		var ep outbound.Endpoint
		if err := attributevalue.UnmarshalMap(item, &ep); err != nil {
			return err
		}
		out = append(out, ep)
		return nil
	})
	return out, err
}

// UpdateWebhookEndpoint writes ep as version ep.Version+1 if the stored
// one is at ep.Version (outbound.ErrConflict otherwise, ErrNotFound when
// it is gone).
func (st *Store) UpdateWebhookEndpoint(ctx context.Context, ep outbound.Endpoint) error {
	prev := ep.Version
	ep.Version++
	item, err := st.endpointItem(ep)
	if err != nil {
		return err
	}
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &st.table, Item: item, ConditionExpression: aws.String("attribute_exists(PK) AND version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": n(int64(prev))},
	})
	if conditionFailed(err) {
		if _, gerr := st.WebhookEndpoint(ctx, ep.ID); errors.Is(gerr, outbound.ErrNotFound) {
			return gerr
		}
		return fmt.Errorf("store: update webhook endpoint %s: %w", ep.ID, outbound.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: update webhook endpoint: %w", err)
	}
	return nil
}

// DeleteWebhookEndpoint deletes an endpoint (outbound.ErrNotFound when
// there is none). Its deliveries expire with their TTL.
func (st *Store) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table, Key: endpointKey(id), ConditionExpression: aws.String("attribute_exists(PK)")})
	if conditionFailed(err) {
		return fmt.Errorf("store: webhook endpoint %s: %w", id, outbound.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: delete webhook endpoint: %w", err)
	}
	return nil
}

// CountWebhookOutcome records how a delivery of the endpoint ended: a
// success sets its consecutive failures to 0 (no write when they are 0
// already), a failure adds one and, when they reach disableAfter (> 0) on
// an enabled endpoint, disables it with a reason (disabled is true for
// the call that did). Each write bumps the endpoint's version.
func (st *Store) CountWebhookOutcome(ctx context.Context, endpointID string, succeeded bool, disableAfter int, now time.Time) (bool, error) {
	in := &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: endpointKey(endpointID), ReturnValues: types.ReturnValueAllNew,
		UpdateExpression:          aws.String("SET consecutive_failures = consecutive_failures + :one, version = version + :one"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1)},
	}
	if succeeded {
		in.UpdateExpression = aws.String("SET consecutive_failures = :zero, version = version + :one")
		in.ConditionExpression = aws.String("attribute_exists(PK) AND consecutive_failures > :zero")
		in.ExpressionAttributeValues[":zero"] = n(0)
	}
	out, err := st.db.UpdateItem(ctx, in)
	switch {
	case conditionFailed(err) && succeeded:
		return false, nil
	case conditionFailed(err):
		return false, fmt.Errorf("store: webhook endpoint %s: %w", endpointID, outbound.ErrNotFound)
	case err != nil:
		return false, fmt.Errorf("store: count webhook outcome: %w", err)
	case succeeded || disableAfter <= 0:
		return false, nil
	}
	var count int
	if v, ok := out.Attributes["consecutive_failures"].(*types.AttributeValueMemberN); ok {
		count, _ = strconv.Atoi(v.Value)
	}
	if count < disableAfter {
		return false, nil
	}
	_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: endpointKey(endpointID),
		UpdateExpression:    aws.String("SET enabled = :f, disabled_reason = :r, updated_at = :now, version = version + :one"),
		ConditionExpression: aws.String("attribute_exists(PK) AND enabled = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":f": &types.AttributeValueMemberBOOL{Value: false}, ":t": &types.AttributeValueMemberBOOL{Value: true},
			":r": s(fmt.Sprintf("%d deliveries in a row failed", count)), ":now": s(now.UTC().Format(time.RFC3339Nano)), ":one": n(1),
		},
	})
	if conditionFailed(err) {
		return false, nil // disabled already
	}
	if err != nil {
		return false, fmt.Errorf("store: disable webhook endpoint: %w", err)
	}
	return true, nil
}

// deliveryItem is the item of d at version d.Version+1, in the due index
// while it is pending, expiring DeliveryRetention after its last change.
func (st *Store) deliveryItem(d outbound.Delivery) (map[string]types.AttributeValue, error) {
	d.Version++
	item, err := attributevalue.MarshalMap(d)
	if err != nil {
		return nil, fmt.Errorf("store: marshal webhook delivery: %w", err)
	}
	for k, v := range deliveryKey(d.EndpointID, d.ID) {
		item[k] = v
	}
	if due := d.Due(); !due.IsZero() {
		item[attrGSI1PK], item[attrGSI1SK] = s(webhookDue), s(ts(due)+"#"+d.EndpointID+"#"+d.ID)
	}
	item[attrExpires] = n(d.UpdatedAt.Add(DeliveryRetention).Unix())
	return item, nil
}

// CreateWebhookDelivery stores d as it is (at version d.Version) unless a
// delivery with its id exists: once per (endpoint, event), however often
// the event arrives.
func (st *Store) CreateWebhookDelivery(ctx context.Context, d outbound.Delivery) (bool, error) {
	d.Version--
	item, err := st.deliveryItem(d)
	if err != nil {
		return false, err
	}
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: create webhook delivery: %w", err)
	}
	return true, nil
}

// WebhookDelivery returns a delivery, or outbound.ErrNotFound.
func (st *Store) WebhookDelivery(ctx context.Context, endpointID, id string) (*outbound.Delivery, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: deliveryKey(endpointID, id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get webhook delivery: %w", err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("store: webhook delivery %s: %w", id, outbound.ErrNotFound)
	}
	var d outbound.Delivery
	if err := attributevalue.UnmarshalMap(out.Item, &d); err != nil {
		return nil, fmt.Errorf("store: decode webhook delivery: %w", err)
	}
	return &d, nil
}

// SaveWebhookDelivery writes d as version d.Version+1 if the stored one is
// at d.Version (outbound.ErrConflict otherwise).
func (st *Store) SaveWebhookDelivery(ctx context.Context, d outbound.Delivery) error {
	item, err := st.deliveryItem(d)
	if err != nil {
		return err
	}
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &st.table, Item: item, ConditionExpression: aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": n(int64(d.Version))},
	})
	if conditionFailed(err) {
		return fmt.Errorf("store: save webhook delivery %s: %w", d.ID, outbound.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: save webhook delivery: %w", err)
	}
	return nil
}

// maxDeliveryPages bounds the pages one listing reads when a status filter
// skips most items (the cursor then resumes where it stopped).
const maxDeliveryPages = 10

// WebhookDeliveries lists an endpoint's deliveries selected by q, at most
// q.Limit, and the cursor of the next page ("" when there is none).
func (st *Store) WebhookDeliveries(ctx context.Context, endpointID string, q outbound.Query) ([]outbound.Delivery, string, error) {
	lo, hi := "DELIVERY#", "DELIVERY#~"
	if !q.Since.IsZero() {
		lo = "DELIVERY#" + outbound.SinceKey(q.Since)
	}
	in := &dynamodb.QueryInput{
		TableName: &st.table, ConsistentRead: aws.Bool(true), ScanIndexForward: aws.Bool(q.Oldest),
		KeyConditionExpression:    aws.String("PK = :p AND SK BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("WEBHOOK#" + endpointID), ":lo": s(lo), ":hi": s(hi)},
		Limit:                     aws.Int32(int32(max(q.Limit, 1))),
	}
	if q.Status != "" {
		in.FilterExpression, in.ExpressionAttributeNames = aws.String("#st = :st"), map[string]string{"#st": "status"}
		in.ExpressionAttributeValues[":st"] = s(string(q.Status))
	}
	if q.After != "" {
		in.ExclusiveStartKey = deliveryKey(endpointID, q.After)
	}
	var out []outbound.Delivery
	for page := 0; ; page++ {
		res, err := st.db.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("store: query webhook deliveries: %w", err)
		}
		for _, item := range res.Items {
			var d outbound.Delivery
			if err := attributevalue.UnmarshalMap(item, &d); err != nil {
				return nil, "", fmt.Errorf("store: decode webhook delivery: %w", err)
			}
			out = append(out, d)
			if len(out) == q.Limit {
				return out, d.ID, nil
			}
		}
		if len(res.LastEvaluatedKey) == 0 {
			return out, "", nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
		if page+1 == maxDeliveryPages {
			sk, _ := res.LastEvaluatedKey[attrSK].(*types.AttributeValueMemberS)
			if sk == nil {
				return out, "", nil
			}
			return out, sk.Value[len("DELIVERY#"):], nil
		}
	}
}

// DueWebhookDeliveries lists at most limit pending deliveries due at now,
// earliest first, from the due index (eventually consistent: callers read
// each delivery again before acting).
func (st *Store) DueWebhookDeliveries(ctx context.Context, now time.Time, limit int) ([]outbound.Ref, error) {
	out, err := st.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &st.table, IndexName: aws.String(IndexByStatus),
		KeyConditionExpression:    aws.String("GSI1PK = :p AND GSI1SK < :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s(webhookDue), ":now": s(ts(now) + "$")},
		ProjectionExpression:      aws.String("endpoint_id, delivery_id"),
		Limit:                     aws.Int32(int32(max(limit, 1))),
	})
	if err != nil {
		return nil, fmt.Errorf("store: query due webhook deliveries: %w", err)
	}
	refs := make([]outbound.Ref, 0, len(out.Items))
	for _, item := range out.Items {
		var r struct {
			EndpointID string `dynamodbav:"endpoint_id"`
			ID         string `dynamodbav:"delivery_id"`
		}
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return nil, fmt.Errorf("store: decode due webhook delivery: %w", err)
		}
		refs = append(refs, outbound.Ref{EndpointID: r.EndpointID, ID: r.ID})
	}
	return refs, nil
}
