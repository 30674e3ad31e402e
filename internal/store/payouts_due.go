package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards"
)

// A reward the payouts runner (functions/payouts) has to pay later, or a
// person has to look at, is filed under one small item of its own:
//
//	PAYOUT#<reward id> / FILED   GSI1: PAYOUT-DUE / <due>#<reward id>        (the runner pays it at or after due)
//	                             GSI1: PAYOUT-ATTENTION / <failed>#<reward id> (failed at its rail: a person re-arms or voids it)
//
// The filing is written and removed in the transactions that change the
// reward's status (ParkReward, FailReward, RearmReward, PayReward,
// SetRewardStatus to voided), so a reward is filed exactly while someone
// still has to act on it. It holds ids only.
const (
	payoutDue       = "PAYOUT-DUE"
	payoutAttention = "PAYOUT-ATTENTION"
)

func filingKey(rewardID string) map[string]types.AttributeValue {
	return key("PAYOUT#"+rewardID, "FILED")
}

// filing is the Put of r's filing under index pk at time at.
func (st *Store) filing(r rewards.Reward, pk string, at time.Time) *types.Put {
	return st.filingFor(r, "", pk, at)
}

// filingFor is the Put of r's filing for action under index pk at time at.
func (st *Store) filingFor(r rewards.Reward, action, pk string, at time.Time) *types.Put {
	item := filingKey(r.ID)
	if action != "" {
		item["action"] = s(action)
	}
	item["reward_id"], item["referral_id"], item["program_id"] = s(r.ID), s(r.ReferralID), s(r.ProgramID)
	item["milestone"], item["party"], item["due_at"] = s(r.Milestone), s(r.Party), s(ts(at))
	item[attrGSI1PK], item[attrGSI1SK] = s(pk), s(ts(at)+"#"+r.ID)
	return &types.Put{TableName: &st.table, Item: item}
}

// unfile is the Delete of r's filing (nothing when there is none).
func (st *Store) unfile(r rewards.Reward) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: &st.table, Key: filingKey(r.ID)}}
}

// ClaimReward implements rewards.Repository: a payable reward becomes
// sending, filed for the payouts runner after rewards.SendingGrace,
// recording its rail, generation, idempotency key and status
// reason (r.StatusReason; none when empty), in one
// conditional write with the deal check under rewards.DealOpen (a lost
// deal: *rewards.LostError, nothing written).
func (st *Store) ClaimReward(ctx context.Context, r rewards.Reward, now time.Time, check rewards.DealCheck) (bool, error) {
	vals := map[string]types.AttributeValue{":to": s(string(rewards.StatusSending)), ":u": s(ts(now)),
		":rail": s(r.Rail), ":gen": n(int64(r.Generation)), ":key": s(r.IdempotencyKey)}
	cond := statusIn([]rewards.Status{rewards.StatusPending, rewards.StatusOnHold, rewards.StatusApproved}, vals)
	set := "SET #st = :to, updated_at = :u, claimed_at = :u, rail = :rail, generation = :gen, idempotency_key = :key"
	if r.StatusReason == "" {
		set += " REMOVE status_reason"
	} else {
		set, vals[":why"] = set+", status_reason = :why", s(r.StatusReason)
	}
	tx := []types.TransactWriteItem{{Update: &types.Update{
		TableName: &st.table, Key: rewardKey(r.ReferralID, r.Milestone, r.Party),
		UpdateExpression:          &set,
		ConditionExpression:       &cond,
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: vals,
	}}}
	// Filed for the payouts runner after a grace: if whoever claimed it
	// never records the outcome, the runner resolves it by lookup.
	tx = append(tx, types.TransactWriteItem{Put: st.filing(r, payoutDue, now.Add(rewards.SendingGrace))}, st.unfileApproval(r))
	if check == rewards.DealOpen {
		tx = append(tx, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &st.table, Key: referralKey(r.ReferralID), ConditionExpression: aws.String("attribute_not_exists(lost_at)"),
		}})
	}
	switch err := st.transact(ctx, tx); {
	case err == nil:
		return true, nil
	case conditionFailedAt(err, 0):
		return false, nil
	case check == rewards.DealOpen && conditionFailedAt(err, 3):
		return false, st.lostError(ctx, r.ReferralID)
	default:
		return false, fmt.Errorf("store: claim reward %s: %w", r.ID, err)
	}
}

// FailReward implements rewards.Repository: sending to failed with the
// rail's reason (its reservations kept: a re-armed reward is paid against
// them), filed for a person, with ev.
func (st *Store) FailReward(ctx context.Context, r rewards.Reward, reason string, ev events.Event, now time.Time) (bool, error) {
	return st.move(ctx, r, []rewards.Status{rewards.StatusSending}, "SET #st = :to, updated_at = :u, status_reason = :why",
		map[string]types.AttributeValue{":to": s(string(rewards.StatusFailed)), ":why": s(reason)},
		types.TransactWriteItem{Put: st.filing(r, payoutAttention, now)}, ev, now, st.unfileApproval(r))
}

// ParkReward implements rewards.Repository.
func (st *Store) ParkReward(ctx context.Context, r rewards.Reward, from []rewards.Status, to rewards.Status, reason string, due time.Time, ev events.Event, now time.Time) (bool, error) {
	return st.move(ctx, r, from, "SET #st = :to, updated_at = :u, status_reason = :why",
		map[string]types.AttributeValue{":to": s(string(to)), ":why": s(reason)},
		types.TransactWriteItem{Put: st.filing(r, payoutDue, due)}, ev, now, st.unfileApproval(r))
}

// RearmReward implements rewards.Repository: failed to approved with the
// new generation and key, its rail forgotten, filed to be paid now.
func (st *Store) RearmReward(ctx context.Context, r rewards.Reward, ev events.Event, now time.Time) (bool, error) {
	return st.move(ctx, r, []rewards.Status{rewards.StatusFailed},
		"SET #st = :to, updated_at = :u, status_reason = :why, generation = :gen, idempotency_key = :key REMOVE rail",
		map[string]types.AttributeValue{":to": s(string(rewards.StatusApproved)), ":why": s("re-armed"),
			":gen": n(int64(r.Generation)), ":key": s(r.IdempotencyKey)},
		types.TransactWriteItem{Put: st.filing(r, payoutDue, now)}, ev, now)
}

// move updates reward r from one of from with set and vals, writing also
// extra and ev, in one transaction; false when r was not in from.
func (st *Store) move(ctx context.Context, r rewards.Reward, from []rewards.Status, set string, vals map[string]types.AttributeValue, extra types.TransactWriteItem, ev events.Event, now time.Time, more ...types.TransactWriteItem) (bool, error) {
	vals[":u"] = s(ts(now))
	cond := statusIn(from, vals)
	put, err := st.putEvent(ev)
	if err != nil {
		return false, err
	}
	tx := []types.TransactWriteItem{{Update: &types.Update{
		TableName: &st.table, Key: rewardKey(r.ReferralID, r.Milestone, r.Party),
		UpdateExpression: &set, ConditionExpression: &cond,
		ExpressionAttributeNames: map[string]string{"#st": "status"}, ExpressionAttributeValues: vals,
	}}, extra, put}
	tx = append(tx, more...)
	switch err := st.transact(ctx, tx); {
	case err == nil:
		return true, nil
	case conditionFailedAt(err, 0):
		return false, nil
	default:
		return false, fmt.Errorf("store: move reward %s: %w", r.ID, err)
	}
}

// ScheduleReward implements rewards.Repository: files r for the payouts
// runner at due, replacing an earlier filing.
func (st *Store) ScheduleReward(ctx context.Context, r rewards.Reward, due time.Time) error {
	p := st.filing(r, payoutDue, due)
	if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: p.TableName, Item: p.Item}); err != nil {
		return fmt.Errorf("store: schedule reward %s: %w", r.ID, err)
	}
	return nil
}

// Unfile removes the filing of reward r (the payouts runner found it
// settled: paid, voided or failed by another path).
func (st *Store) Unfile(ctx context.Context, r rewards.Reward) error {
	if _, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table, Key: filingKey(r.ID)}); err != nil {
		return fmt.Errorf("store: unfile reward %s: %w", r.ID, err)
	}
	return nil
}

// DueRewards lists at most limit rewards filed for the payouts runner at
// or before before, earliest first, from GSI1 (eventually consistent: the
// runner reads each reward again before acting).
func (st *Store) DueRewards(ctx context.Context, before time.Time, limit int) ([]rewards.Due, error) {
	return st.filed(ctx, payoutDue, "GSI1PK = :p AND GSI1SK < :c", s(ts(before)+"$"), limit)
}

// FailedRewards lists at most limit rewards that failed at their rail and
// wait for a person, oldest first.
func (st *Store) FailedRewards(ctx context.Context, limit int) ([]rewards.Due, error) {
	return st.filed(ctx, payoutAttention, "GSI1PK = :p", nil, limit)
}

func (st *Store) filed(ctx context.Context, pk, cond string, c types.AttributeValue, limit int) ([]rewards.Due, error) {
	vals := map[string]types.AttributeValue{":p": s(pk)}
	if c != nil {
		vals[":c"] = c
	}
	in := &dynamodb.QueryInput{TableName: &st.table, IndexName: aws.String(IndexByStatus),
		KeyConditionExpression: &cond, ExpressionAttributeValues: vals}
	var out []rewards.Due
	for {
		page, err := st.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("store: query %s: %w", strings.ToLower(pk), err)
		}
		for _, it := range page.Items {
			var f struct {
				RewardID   string `dynamodbav:"reward_id"`
				ReferralID string `dynamodbav:"referral_id"`
				ProgramID  string `dynamodbav:"program_id"`
				Milestone  string `dynamodbav:"milestone"`
				Party      string `dynamodbav:"party"`
				DueAt      string `dynamodbav:"due_at"`
				Action     string `dynamodbav:"action"`
			}
			if err := attributevalue.UnmarshalMap(it, &f); err != nil {
				return nil, fmt.Errorf("store: decode filed reward: %w", err)
			}
			at, _ := time.Parse(time.RFC3339Nano, f.DueAt)
			out = append(out, rewards.Due{Action: f.Action, RewardID: f.RewardID, ReferralID: f.ReferralID, ProgramID: f.ProgramID,
				Milestone: f.Milestone, Party: f.Party, At: at})
			if limit > 0 && len(out) >= limit {
				return out, nil
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// SettleReversal implements rewards.Repository: the filing of r's reversal
// at its rail is removed (attention, with ev: filed for a person at ev's
// time instead), with ev, only while r is filed for its reversal (false
// and nothing written otherwise).
func (st *Store) SettleReversal(ctx context.Context, r rewards.Reward, ev *events.Event, attention bool) (bool, error) {
	// Only while the reward is filed for its reversal: a repeat (a second
	// run, a second operator) writes nothing.
	cond, vals := aws.String("#a = :rev"), map[string]types.AttributeValue{":rev": s(rewards.ActionReverse)}
	end := types.TransactWriteItem{Delete: &types.Delete{TableName: &st.table, Key: filingKey(r.ID),
		ConditionExpression: cond, ExpressionAttributeNames: map[string]string{"#a": "action"}, ExpressionAttributeValues: vals}}
	if attention && ev != nil {
		put := st.filingFor(r, rewards.ActionReverse, payoutAttention, ev.At)
		put.ConditionExpression, put.ExpressionAttributeNames, put.ExpressionAttributeValues = cond, map[string]string{"#a": "action"}, vals
		end = types.TransactWriteItem{Put: put}
	}
	tx := []types.TransactWriteItem{end}
	if ev != nil {
		put, err := st.putEvent(*ev)
		if err != nil {
			return false, err
		}
		tx = append(tx, put)
	}
	switch err := st.transact(ctx, tx); {
	case err == nil:
		return true, nil
	case conditionFailedAt(err, 0):
		return false, nil
	default:
		return false, fmt.Errorf("store: settle reversal of %s: %w", r.ID, err)
	}
}

// WakePartner files for the payouts runner, due at now, the partner's
// rewards that wait for its payout method (its payee was just recorded):
// one query of the partner's rewards (RewardsByPartner, eventually
// consistent: a reward parked a moment ago is found by the runner's next
// look within rewards.PayeeRetry).
func (st *Store) WakePartner(ctx context.Context, programID, partnerKey string, now time.Time) error {
	rws, err := st.RewardsByPartner(ctx, programID, partnerKey)
	if err != nil {
		return err
	}
	return st.wake(ctx, rws, program.PartyReferrer, now)
}

// WakeReferee files for the payouts runner, due at now, the referral's
// new-customer rewards that wait for its payout method.
func (st *Store) WakeReferee(ctx context.Context, referralID string, now time.Time) error {
	rws, err := st.Rewards(ctx, referralID)
	if err != nil {
		return err
	}
	return st.wake(ctx, rws, program.PartyReferee, now)
}

func (st *Store) wake(ctx context.Context, rws []rewards.Reward, party string, now time.Time) error {
	for _, rw := range rws {
		if rw.Party == party && rw.Status == rewards.StatusOnHold && rw.StatusReason == rewards.ReasonNoPayoutMethod {
			if err := st.ScheduleReward(ctx, rw, now); err != nil {
				return err
			}
		}
	}
	return nil
}
