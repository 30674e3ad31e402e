package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/rewards"
)

// Spending and tier counters live in the program's partition:
//
//	PROGRAM#<id> / SPEND#BUDGET#<period>            money reserved by every reward (attribute spent)
//	PROGRAM#<id> / SPEND#REFERRER#<code>#<period>   money reserved by one referrer's rewards (spent)
//	PROGRAM#<id> / RANK#REFERRER#<code>#<period>    a referrer's successful referrals (count, for tiers)
//
// A spending counter equals the sum of its live rewards' reservations and
// payments (each live reward lists what it holds in its reserved
// attribute): a reservation is a conditional ADD that must fit the limit,
// in the same transaction that creates the reward; a void or decline
// (SetRewardStatus) and a reversal (ReverseReward) subtract it in the
// transaction that makes that change; an override payment (PayReward of a
// reward that did not fit) adds it, past the limit, in the transaction
// that pays it.

func spendKey(programID, counter string) map[string]types.AttributeValue {
	return key("PROGRAM#"+programID, counter)
}

// CreateRewards writes the rewards of one milestone in one
// transaction, together with conditional ADDs that reserve their amounts
// against the spending counters in reservations.
//
// Guarantees:
//   - a counter never exceeds its limit: each ADD carries the condition
//     "attribute_not_exists(spent) OR spent <= limit - amount";
//   - a reward is reserved against all of its counters or none: a reward
//     that does not fit one of them is still created, but as pending with
//     NeedsApproval, status_reason = that reservation's Reason and no
//     reservation (so the workflow does not pay it and a person decides);
//     when several rewards share a counter and not all fit, the later ones
//     (in the order given) are the ones left out;
//   - each reward is Put with attribute_not_exists(PK): when the milestone's
//     rewards exist already (a retried step) nothing is written and nothing
//     is reserved twice; the stored rewards are returned;
//   - a referrer reward is filed under the partner its referral is filed
//     under (GSI1, read back by RewardsByPartner; partner_rewards.go).
//
// created, when not nil, gives the event of each reward as it is finally
// written (its status tells whether it was reserved); the events are
// written in the same transaction.
func (st *Store) CreateRewards(ctx context.Context, referralID, milestone string, rws []rewards.Reward, limits []rewards.Limit, created func(rewards.Reward) events.Event) ([]rewards.Reward, error) {
	if len(rws) == 0 {
		return st.MilestoneRewards(ctx, referralID, milestone)
	}
	partnerKey, err := st.rewardsPartner(ctx, referralID, rws)
	if err != nil {
		return nil, err
	}
	plan := rewards.NewPlan(rws, limits)
	for {
		final, counters := plan.Apply()
		tx, err := st.createTx(final, counters, created, partnerKey)
		if err != nil {
			return nil, err
		}
		err = st.transact(ctx, tx)
		if err == nil {
			return st.MilestoneRewards(ctx, referralID, milestone)
		}
		reasons := cancelReasons(err)
		if transient(err) || len(reasons) < len(final)+len(counters) {
			return nil, fmt.Errorf("store: create rewards: %w", err)
		}
		for i := range final {
			if reasons[i] == "ConditionalCheckFailed" {
				// Created by an earlier attempt of the step: reserve nothing.
				return st.MilestoneRewards(ctx, referralID, milestone)
			}
		}
		dropped := false
		for j, c := range counters {
			if reasons[len(final)+j] == "ConditionalCheckFailed" {
				dropped = plan.DropLast(c.Counter) || dropped
			}
		}
		if !dropped {
			return nil, fmt.Errorf("store: create rewards: %w", err)
		}
		// Fewer reservations now: at most len(rewards) rounds.
	}
}

// createTx is the transaction that creates the rewards final (a referrer
// reward filed under partnerKey), reserves counters and records each
// reward's event (created, when not nil).
func (st *Store) createTx(final []rewards.Reward, counters []rewards.CounterAdd, created func(rewards.Reward) events.Event, partnerKey string) ([]types.TransactWriteItem, error) {
	tx := make([]types.TransactWriteItem, 0, len(final)*2+len(counters))
	for _, r := range final {
		item, err := attributevalue.MarshalMap(r)
		if err != nil {
			return nil, fmt.Errorf("store: marshal reward: %w", err)
		}
		for k, v := range rewardKey(r.ReferralID, r.Milestone, r.Party) {
			item[k] = v
		}
		indexReward(item, r, partnerKey)
		tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &st.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}})
	}

	now := s(ts(time.Now()))
	for _, c := range counters {
		tx = append(tx, types.TransactWriteItem{Update: &types.Update{
			TableName: &st.table, Key: spendKey(final[0].ProgramID, c.Counter),
			UpdateExpression:    aws.String("ADD spent :a SET limit_minor = :l, updated_at = :u"),
			ConditionExpression: aws.String("attribute_not_exists(spent) OR spent <= :room"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":a": n(c.Amount), ":l": n(c.Limit), ":room": n(c.Limit - c.Amount), ":u": now,
			},
		}})
	}
	for _, r := range final {
		if created == nil {
			break
		}
		put, err := st.putEvent(created(r))
		if err != nil {
			return nil, err
		}
		tx = append(tx, put)
	}
	for _, r := range final {
		// A reward left out by a limit waits for a person from the start.
		if r.Status == rewards.StatusPending && r.NeedsApproval && r.StatusReason != "" {
			tx = append(tx, types.TransactWriteItem{Put: st.approvalFiling(r, r.CreatedAt)})
		}
	}
	return tx, nil
}

// SetRewardStatus moves a reward from one of the statuses in from to to and
// records ev, in one transaction. It reports changed=false (and no error)
// when the reward is not in any of them (it moved already): callers treat
// that as done.
//
// A reward that holds budget or cap reservations (r.Reserved) releases
// them in the same transaction when it moves to voided or failed.
func (st *Store) SetRewardStatus(ctx context.Context, r rewards.Reward, from []rewards.Status, to rewards.Status, reason string, ev events.Event, now time.Time) (bool, error) {
	vals := map[string]types.AttributeValue{":to": s(string(to)), ":u": s(now.UTC().Format(time.RFC3339Nano)), ":why": s(reason)}
	cond := statusIn(from, vals)
	release := len(r.Reserved) > 0 && (to == rewards.StatusVoided || to == rewards.StatusFailed)
	set := "SET #st = :to, updated_at = :u, status_reason = :why"
	if release {
		set += ", released_at = :u"
	}
	tx := []types.TransactWriteItem{{Update: &types.Update{
		TableName: &st.table, Key: rewardKey(r.ReferralID, r.Milestone, r.Party),
		UpdateExpression:          aws.String(set),
		ConditionExpression:       &cond,
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: vals,
	}}}
	put, err := st.putEvent(ev)
	if err != nil {
		return false, err
	}
	tx = append(tx, put)
	if to == rewards.StatusVoided || to == rewards.StatusFailed {
		tx = append(tx, st.unfile(r))
	}
	switch {
	case to == rewards.StatusPending && reason == rewards.ReasonAwaitingApproval:
		tx = append(tx, types.TransactWriteItem{Put: st.approvalFiling(r, now)})
	case to != rewards.StatusPending:
		tx = append(tx, st.unfileApproval(r))
	}
	if release {
		tx = append(tx, counterAdds(st.table, r.ProgramID, r.Reserved, -1, vals[":u"])...)
	}
	switch err := st.transact(ctx, tx); {
	case err == nil:
		return true, nil
	case conditionFailedAt(err, 0):
		return false, nil // moved already: released by whoever moved it
	default:
		return false, fmt.Errorf("store: set reward %s status: %w", r.ID, err)
	}
}

// counterAdds are the updates that add (sign 1) or give back (-1) the
// reservations rs to their spending counters, unconditionally (an
// addition that must fit a limit is CreateRewards' conditional ADD).
func counterAdds(table, programID string, rs []rewards.Reservation, sign int64, at types.AttributeValue) []types.TransactWriteItem {
	out := make([]types.TransactWriteItem, 0, len(rs))
	for _, rv := range rs {
		out = append(out, types.TransactWriteItem{Update: &types.Update{
			TableName: &table, Key: spendKey(programID, rv.Counter),
			UpdateExpression:          aws.String("ADD spent :a SET updated_at = :u"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":a": n(sign * rv.AmountMinor), ":u": at},
		}})
	}
	return out
}

func numberAttr(item map[string]types.AttributeValue, name string) int64 {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	x, _ := strconv.ParseInt(v.Value, 10, 64)
	return x
}

func rankKey(programID, code, period string) map[string]types.AttributeValue {
	return key("PROGRAM#"+programID, "RANK#REFERRER#"+code+"#"+period)
}

// RankReferral counts a referral as one of its referrer's successful
// referrals in period (the tier period key) exactly once, and returns its
// rank: 1 for the referrer's first successful referral of the period.
// The rank is stored on the referral item together with the counter
// increase (one transaction, guarded by attribute_not_exists(tier_rank)),
// so a repeated call returns the same rank and counts nothing. Concurrent
// referrals of one referrer get distinct ranks (optimistic concurrency on
// the counter); conflicts and throttling are retried (retry.go).
func (st *Store) RankReferral(ctx context.Context, referralID, programID, code, period string, now time.Time) (int, error) {
	for transients, taken := 0, 0; ; {
		ref, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: referralKey(referralID), ConsistentRead: aws.Bool(true),
			ProjectionExpression: aws.String("PK, tier_rank")})
		if err != nil {
			return 0, fmt.Errorf("store: read referral rank: %w", err)
		}
		if ref.Item == nil {
			return 0, fmt.Errorf("store: referral %s: %w", referralID, ErrNotFound)
		}
		if _, ok := ref.Item["tier_rank"]; ok {
			return int(numberAttr(ref.Item, "tier_rank")), nil
		}
		cnt, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: rankKey(programID, code, period), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return 0, fmt.Errorf("store: read rank counter: %w", err)
		}
		cur := numberAttr(cnt.Item, "count")
		counterCond := "#c = :cur"
		if cnt.Item == nil {
			counterCond = "attribute_not_exists(#c)"
		}
		_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{
				TableName: &st.table, Key: referralKey(referralID),
				UpdateExpression:          aws.String("SET tier_rank = :r, tier_period = :p"),
				ConditionExpression:       aws.String("attribute_exists(PK) AND attribute_not_exists(tier_rank)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":r": n(cur + 1), ":p": s(period)},
			}},
			{Update: &types.Update{
				TableName: &st.table, Key: rankKey(programID, code, period),
				UpdateExpression:          aws.String("SET #c = :r, updated_at = :u"),
				ConditionExpression:       &counterCond,
				ExpressionAttributeNames:  map[string]string{"#c": "count"},
				ExpressionAttributeValues: rankValues(cnt.Item != nil, cur, now),
			}},
		}})
		switch {
		case err == nil:
			return int(cur + 1), nil
		case transient(err):
			transients++
		case cancelReasons(err) != nil:
			// Ranked meanwhile, or another referral took this rank (it
			// progressed): read again.
			taken++
		default:
			return 0, fmt.Errorf("store: rank referral: %w", err)
		}
		if transients > maxTransientRetries || taken > maxRankRounds {
			return 0, fmt.Errorf("store: rank referral: still conflicting after %d attempts: %w", transients+taken, err)
		}
		if err := backoff(ctx, min(transients+taken, 4)); err != nil {
			return 0, err
		}
	}
}

// maxRankRounds bounds the rounds RankReferral loses to other referrals
// of the same referrer taking the rank it read (each such round is one of
// them ranked).
const maxRankRounds = 100

func rankValues(exists bool, cur int64, now time.Time) map[string]types.AttributeValue {
	v := map[string]types.AttributeValue{":r": n(cur + 1), ":u": s(ts(now))}
	if exists {
		v[":cur"] = n(cur)
	}
	return v
}
