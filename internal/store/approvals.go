package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/rewards"
)

// Rewards waiting for a person's approval are filed under an item of their
// own, like the payouts runner's filings (payouts_due.go):
//
//	APPROVAL#<reward id> / FILED   GSI1: APPROVAL-WAITING / <since>#<reward id>
//
// written when a reward starts waiting for a person (its hold over and at
// or above the approval threshold: SetRewardStatus to pending with
// rewards.ReasonAwaitingApproval; or left out by a spending limit when it
// was created) and removed in the transaction that moves it on (approved,
// claimed, paid, voided, parked, failed). The console's queue reads it
// (AwaitingApproval): no scan. It holds ids only.
const approvalWaiting = "APPROVAL-WAITING"

func approvalKey(rewardID string) map[string]types.AttributeValue {
	return key("APPROVAL#"+rewardID, "FILED")
}

// approvalFiling is the Put of r's filing as waiting for a person since at.
func (st *Store) approvalFiling(r rewards.Reward, at time.Time) *types.Put {
	p := st.filing(r, approvalWaiting, at)
	for k, v := range approvalKey(r.ID) {
		p.Item[k] = v
	}
	return p
}

// unfileApproval is the Delete of r's approval filing (nothing when none).
func (st *Store) unfileApproval(r rewards.Reward) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: &st.table, Key: approvalKey(r.ID)}}
}

// AwaitingApproval lists at most limit rewards waiting for a person's
// approval, longest waiting first, from GSI1 (eventually consistent:
// read each reward before acting on it).
func (st *Store) AwaitingApproval(ctx context.Context, limit int) ([]rewards.Due, error) {
	return st.filed(ctx, approvalWaiting, "GSI1PK = :p", nil, limit)
}
