package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/rewards"
)

func rewardKey(referralID, milestone, party string) map[string]types.AttributeValue {
	return key("REFERRAL#"+referralID, "REWARD#"+milestone+"#"+party)
}

// Rewards lists every reward of a referral.
func (st *Store) Rewards(ctx context.Context, referralID string) ([]rewards.Reward, error) {
	return st.rewards(ctx, referralID, "REWARD#")
}

// MilestoneRewards lists the rewards of one milestone of a referral.
func (st *Store) MilestoneRewards(ctx context.Context, referralID, milestone string) ([]rewards.Reward, error) {
	return st.rewards(ctx, referralID, "REWARD#"+milestone+"#")
}

func (st *Store) rewards(ctx context.Context, referralID, prefix string) ([]rewards.Reward, error) {
	var out []rewards.Reward
	err := st.queryPrefix(ctx, "REFERRAL#"+referralID, prefix, func(item map[string]types.AttributeValue) error {
		var r rewards.Reward
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// PayReward marks a reward paid — payable, sending (claimed for its rail),
// or failed (a payment its rail turns out to hold) — and writes its
// payable ledger entry and ev in one transaction, removing its filing
// for the payouts runner: the entry exists exactly once. It reports
// paid=false when the reward was paid already or voided — a repeat
// changes nothing.
//
// Under rewards.DealOpen the same transaction checks that the referral's
// deal is not lost, deleted or refunded (no lost_at on the referral item):
// if it is, nothing is written and the error is a *rewards.LostError
// (errors.Is rewards.ErrDealLost) read from the referral. A reward that did
// not fit a limit and carries r.Reserved (an override) adds them to their
// counters and stores them on the paid reward, in the same transaction.
func (st *Store) PayReward(ctx context.Context, r rewards.Reward, e rewards.Entry, ev events.Event, now time.Time, check rewards.DealCheck) (paid bool, err error) {
	entry, evItem, err := entryItems(e, ev)
	if err != nil {
		return false, err
	}
	at := s(now.UTC().Format(time.RFC3339Nano))
	set := "SET #st = :paid, paid_at = :now, updated_at = :now, rail = :rail, #ref = :ref"
	vals := map[string]types.AttributeValue{":paid": s(string(rewards.StatusPaid)), ":now": at, ":p": s(string(rewards.StatusPending)), ":h": s(string(rewards.StatusOnHold)), ":a": s(string(rewards.StatusApproved)),
		":s": s(string(rewards.StatusSending)), ":f": s(string(rewards.StatusFailed)), ":rail": s(e.Method), ":ref": s(e.Reference)}
	override := r.Limited != "" && len(r.Reserved) > 0
	if override {
		if vals[":res"], err = attributevalue.Marshal(r.Reserved); err != nil {
			return false, fmt.Errorf("store: marshal reservations: %w", err)
		}
		set += ", reserved = :res"
	}
	tx := []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &st.table, Key: rewardKey(r.ReferralID, r.Milestone, r.Party),
			UpdateExpression:          &set,
			ConditionExpression:       aws.String("#st IN (:p, :h, :a, :s, :f)"),
			ExpressionAttributeNames:  map[string]string{"#st": "status", "#ref": "reference"},
			ExpressionAttributeValues: vals,
		}},
		{Put: &types.Put{TableName: &st.table, Item: entry, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: &st.table, Item: evItem}},
		st.unfile(r),
		st.unfileApproval(r),
	}
	if check == rewards.DealOpen {
		// A missing referral item passes (nothing says its deal is lost).
		tx = append(tx, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &st.table, Key: referralKey(r.ReferralID), ConditionExpression: aws.String("attribute_not_exists(lost_at)"),
		}})
	}
	if override {
		tx = append(tx, counterAdds(st.table, r.ProgramID, r.Reserved, 1, at)...)
	}
	switch err := st.transact(ctx, tx); {
	case err == nil:
		return true, nil
	case conditionFailedAt(err, 0) || conditionFailedAt(err, 1):
		return false, nil
	case check == rewards.DealOpen && conditionFailedAt(err, 5):
		return false, st.lostError(ctx, r.ReferralID)
	default:
		return false, fmt.Errorf("store: pay reward: %w", err)
	}
}

// lostError reads the loss of a referral's deal that failed a payment.
func (st *Store) lostError(ctx context.Context, referralID string) error {
	ref, err := st.Referral(ctx, referralID)
	if err != nil {
		return err
	}
	if ref.LostAt == nil {
		return fmt.Errorf("store: pay reward: the deal check failed on an open deal: %w", ErrConflict)
	}
	return &rewards.LostError{At: *ref.LostAt, Reason: ref.LostReason}
}

// LedgerEntries lists the entries of a reward.
func (st *Store) LedgerEntries(ctx context.Context, rewardID string) ([]rewards.Entry, error) {
	var out []rewards.Entry
	err := st.queryPrefix(ctx, "LEDGER#"+rewardID, "ENTRY#", func(item map[string]types.AttributeValue) error {
		var e rewards.Entry
		if err := attributevalue.UnmarshalMap(item, &e); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// LedgerPeriod lists the ledger entries of a period ("2026-11"), oldest
// first, for the finance export.
func (st *Store) LedgerPeriod(ctx context.Context, period string) ([]rewards.Entry, error) {
	idx := IndexByStatus
	cond := "GSI1PK = :p"
	in := &dynamodb.QueryInput{TableName: &st.table, IndexName: &idx, KeyConditionExpression: &cond,
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("LEDGER#" + period)}}
	var out []rewards.Entry
	for {
		page, err := st.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("store: ledger period: %w", err)
		}
		for _, it := range page.Items {
			var e rewards.Entry
			if err := attributevalue.UnmarshalMap(it, &e); err != nil {
				return nil, fmt.Errorf("store: decode entry: %w", err)
			}
			out = append(out, e)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// ReverseReward writes the reversal entry of a paid reward (a clawback) in
// one transaction with a check that the reward is paid, recording ev and
// giving r.Reserved (what its payment counts on: the budget and cap
// reserved for it, or counted by an override) back to those counters: at
// most one reversal per reward, however often the refund is reported. It
// reports reversed=false when the reward is not paid or was reversed
// already. The paid reward keeps its status and amount; the same
// transaction records reversed_at on it (the entry's time), so a
// partner's rewards tell their reversals without reading the ledger
// (RewardsByPartner).
func (st *Store) ReverseReward(ctx context.Context, r rewards.Reward, e rewards.Entry, ev events.Event) (reversed bool, err error) {
	entry, evItem, err := entryItems(e, ev)
	if err != nil {
		return false, err
	}
	tx := []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &st.table, Key: rewardKey(r.ReferralID, r.Milestone, r.Party),
			UpdateExpression:          aws.String("SET reversed_at = :at"),
			ConditionExpression:       aws.String("#st = :paid"),
			ExpressionAttributeNames:  map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":paid": s(string(rewards.StatusPaid)), ":at": s(e.CreatedAt.UTC().Format(time.RFC3339Nano))},
		}},
		{Put: &types.Put{TableName: &st.table, Item: entry, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: &st.table, Item: evItem}},
	}
	if rewards.MovesMoney(r.Rail) {
		tx = append(tx, types.TransactWriteItem{Put: st.filingFor(r, rewards.ActionReverse, payoutDue, e.CreatedAt)})
	}
	tx = append(tx, counterAdds(st.table, r.ProgramID, r.Reserved, -1, s(ts(e.CreatedAt)))...)
	switch err := st.transact(ctx, tx); {
	case err == nil:
		return true, nil
	case conditionFailedAt(err, 0) || conditionFailedAt(err, 1):
		return false, nil
	default:
		return false, fmt.Errorf("store: reverse reward: %w", err)
	}
}

// entryItems are the items of a ledger entry (listed by period in GSI1) and
// of the event written with it.
func entryItems(e rewards.Entry, ev events.Event) (entry, event map[string]types.AttributeValue, err error) {
	entry, err = attributevalue.MarshalMap(e)
	if err != nil {
		return nil, nil, fmt.Errorf("store: marshal entry: %w", err)
	}
	for k, v := range key("LEDGER#"+e.RewardID, "ENTRY#"+string(e.Type)) {
		entry[k] = v
	}
	entry[attrGSI1PK], entry[attrGSI1SK] = s("LEDGER#"+e.Period), s(ts(e.CreatedAt)+"#"+e.ID)
	event, err = eventItem(ev)
	return entry, event, err
}
