package store

import (
	"context"
	"fmt"
	"math/rand/v2"
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
// A spending counter only ever holds money that fitted under its limit:
// every increase is a conditional ADD in the same transaction as the reward
// it pays for, and voiding that reward subtracts it in the same transaction
// as the status change.

func spendKey(programID, counter string) map[string]types.AttributeValue {
	return key("PROGRAM#"+programID, counter)
}

// maxTransientRetries bounds the retries of a transaction cancelled by a
// conflict with a concurrent transaction on the same counter (DynamoDB
// answers TransactionConflict instead of queueing).
const maxTransientRetries = 12

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
//     is reserved twice; the stored rewards are returned.
//
// created, when not nil, gives the event of each reward as it is finally
// written (its status tells whether it was reserved); the events are
// written in the same transaction.
func (st *Store) CreateRewards(ctx context.Context, referralID, milestone string, rws []rewards.Reward, limits []rewards.Limit, created func(rewards.Reward) events.Event) ([]rewards.Reward, error) {
	if len(rws) == 0 {
		return st.MilestoneRewards(ctx, referralID, milestone)
	}
	plan := rewards.NewPlan(rws, limits)
	transient := 0
	for {
		final, counters := plan.Apply()
		tx := make([]types.TransactWriteItem, 0, len(final)*2+len(counters))
		for _, r := range final {
			item, err := attributevalue.MarshalMap(r)
			if err != nil {
				return nil, fmt.Errorf("store: marshal reward: %w", err)
			}
			for k, v := range rewardKey(r.ReferralID, r.Milestone, r.Party) {
				item[k] = v
			}
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
		if created != nil {
			for _, r := range final {
				put, err := st.putEvent(created(r))
				if err != nil {
					return nil, err
				}
				tx = append(tx, put)
			}
		}
		_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		if err == nil {
			return st.MilestoneRewards(ctx, referralID, milestone)
		}
		reasons := cancelReasons(err)
		if reasons == nil || len(reasons) < len(final)+len(counters) {
			return nil, fmt.Errorf("store: create rewards: %w", err)
		}
		exists := false
		for i := range final {
			exists = exists || reasons[i] == "ConditionalCheckFailed"
		}
		if exists {
			// Created by an earlier attempt of the step: reserve nothing.
			return st.MilestoneRewards(ctx, referralID, milestone)
		}
		dropped := false
		for j, c := range counters {
			if reasons[len(final)+j] == "ConditionalCheckFailed" {
				dropped = plan.DropLast(c.Counter) || dropped
			}
		}
		if dropped {
			continue // fewer reservations now: at most len(rewards) rounds
		}
		if transient++; transient > maxTransientRetries {
			return nil, fmt.Errorf("store: create rewards: still conflicting after %d attempts: %w", transient, err)
		}
		if err := backoff(ctx, transient); err != nil {
			return nil, err
		}
	}
}

// backoff sleeps a jittered, growing delay before retrying a transaction
// that conflicted with a concurrent one.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(10*time.Millisecond) << min(attempt, 5)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("store: %w", ctx.Err())
	case <-t.C:
		return nil
	}
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
	for _, rv := range r.Reserved {
		if !release {
			break
		}
		tx = append(tx, types.TransactWriteItem{Update: &types.Update{
			TableName: &st.table, Key: spendKey(r.ProgramID, rv.Counter),
			UpdateExpression:          aws.String("ADD spent :neg SET updated_at = :u"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":neg": n(-rv.AmountMinor), ":u": vals[":u"]},
		}})
	}
	for attempt := 1; ; attempt++ {
		_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		if err == nil {
			return true, nil
		}
		if reasons := cancelReasons(err); len(reasons) > 0 && reasons[0] == "ConditionalCheckFailed" {
			return false, nil // moved already: released by whoever moved it
		}
		if cancelReasons(err) == nil || attempt > maxTransientRetries {
			return false, fmt.Errorf("store: set reward %s status: %w", r.ID, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return false, err
		}
	}
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
// the counter).
func (st *Store) RankReferral(ctx context.Context, referralID, programID, code, period string, now time.Time) (int, error) {
	for attempt := 1; ; attempt++ {
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
		if err == nil {
			return int(cur + 1), nil
		}
		if cancelReasons(err) == nil || attempt > maxTransientRetries {
			return 0, fmt.Errorf("store: rank referral: %w", err)
		}
		// Ranked meanwhile, or another referral took this rank: read again.
		if err := backoff(ctx, attempt); err != nil {
			return 0, err
		}
	}
}

func rankValues(exists bool, cur int64, now time.Time) map[string]types.AttributeValue {
	v := map[string]types.AttributeValue{":r": n(cur + 1), ":u": s(ts(now))}
	if exists {
		v[":cur"] = n(cur)
	}
	return v
}
