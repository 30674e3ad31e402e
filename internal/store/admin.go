package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/referflow/referflow/internal/rewards"
)

// Reward reads one reward of a referral (strongly consistent), or
// ErrNotFound.
func (st *Store) Reward(ctx context.Context, referralID, milestone, party string) (*rewards.Reward, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: rewardKey(referralID, milestone, party), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get reward: %w", err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("store: reward %s/%s/%s: %w", referralID, milestone, party, ErrNotFound)
	}
	var r rewards.Reward
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return nil, fmt.Errorf("store: decode reward: %w", err)
	}
	return &r, nil
}
