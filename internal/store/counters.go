package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/referral"
)

func counterKey(programID, code, period string) map[string]types.AttributeValue {
	return key("PROGRAM#"+programID, "COUNT#REFERRER#"+code+"#"+period)
}

// CountReferral counts a referral against its referrer's day and month
// counters exactly once (the referral item remembers it was counted, in the
// same transaction), then returns the counters. Referrals of one referrer
// verified at once conflict on its counters: the transaction is retried
// (retry.go).
func (st *Store) CountReferral(ctx context.Context, referralID, programID, code string, now time.Time) (referral.ReferrerCounts, error) {
	day, month := now.UTC().Format("2006-01-02"), now.UTC().Format("2006-01")
	add := func(period string, ttl time.Duration) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName: &st.table, Key: counterKey(programID, code, period),
			UpdateExpression:          aws.String("ADD #c :one SET expires_at = :exp"),
			ExpressionAttributeNames:  map[string]string{"#c": "count"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1), ":exp": n(now.Add(ttl).Unix())},
		}}
	}
	err := st.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &st.table, Key: referralKey(referralID),
			UpdateExpression:          aws.String("SET counted_at = :now"),
			ConditionExpression:       aws.String("attribute_exists(PK) AND attribute_not_exists(counted_at)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": s(ts(now))},
		}},
		add(day, 3*24*time.Hour),
		add(month, 40*24*time.Hour),
	})
	if err != nil && !conditionFailedAt(err, 0) { // failed: counted already
		return referral.ReferrerCounts{}, fmt.Errorf("store: count referral: %w", err)
	}
	var c referral.ReferrerCounts
	for _, p := range []struct {
		period string
		into   *int
	}{{day, &c.Today}, {month, &c.ThisMonth}} {
		out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: counterKey(programID, code, p.period), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return referral.ReferrerCounts{}, fmt.Errorf("store: read counter: %w", err)
		}
		if v, ok := out.Item["count"].(*types.AttributeValueMemberN); ok {
			*p.into, _ = strconv.Atoi(v.Value)
		}
	}
	return c, nil
}
