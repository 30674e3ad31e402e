package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/kpis"
)

// KPI counters (internal/kpis documents the items). Besides them:
//
//	KPI-EVENT#<event id> / KPI-EVENT   an event applied (TTL 14 days)
//	KPI-REF#<referral id> / STATE      what was counted of a referral
//	                                   (kpis.State, versioned)

// kpiEventTTL is how long an applied event's marker is kept: longer than
// EventBridge retries an event (24 h) and the outbox republishes one (23 h).
const kpiEventTTL = 14 * 24 * time.Hour

// maxTransactItems is DynamoDB's limit on one transaction.
const maxTransactItems = 100

// ErrKPIStateChanged: another event of the referral was applied since its
// KPI state was read; read it again and plan again.
var ErrKPIStateChanged = errors.New("store: kpi state changed")

// KPIState returns what was counted of a referral (the zero State when
// nothing was), read consistently.
func (st *Store) KPIState(ctx context.Context, referralID string) (kpis.State, error) {
	var state kpis.State
	err := st.readKPIState(ctx, key("KPI-REF#"+referralID, "STATE"), &state, "kpi state")
	return state, err
}

// ApplyKPIEvent adds changes to the counters of program and, when
// referralID is not empty, replaces the referral's KPI state with next
// (written only if its version is still next.Version-1), all in one
// transaction with a marker of eventID. It reports applied=false, and
// writes nothing, when the event was applied before (a redelivery counts
// nothing twice), and ErrKPIStateChanged when the state moved meanwhile.
// At most 97 changed items (with the marker and the state).
func (st *Store) ApplyKPIEvent(ctx context.Context, eventID, program, referralID string, changes []kpis.Change, next kpis.State, now time.Time) (bool, error) {
	var state *types.TransactWriteItem
	if referralID != "" {
		put, err := st.kpiStatePut(key("KPI-REF#"+referralID, "STATE"), next, next.Version, "kpi state")
		if err != nil {
			return false, err
		}
		state = &put
	}
	return st.applyKPI(ctx, "kpi event", eventID, program, state, changes, now)
}

// readKPIState reads the versioned state item at k into v (left as it is
// when there is none), consistently; what names it in errors.
func (st *Store) readKPIState(ctx context.Context, k map[string]types.AttributeValue, v any, what string) error {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("store: read %s: %w", what, err)
	}
	if err := attributevalue.UnmarshalMap(out.Item, v); err != nil {
		return fmt.Errorf("store: decode %s: %w", what, err)
	}
	return nil
}

// applyKPI writes, in one transaction, the marker of eventID (first: it
// fails when the event was applied before), the state put when there is
// one (second: it fails when the state moved) and the additions to the
// counters of program; what names the event in errors.
func (st *Store) applyKPI(ctx context.Context, what, eventID, program string, state *types.TransactWriteItem, changes []kpis.Change, now time.Time) (bool, error) {
	if len(changes)+2 > maxTransactItems {
		return false, fmt.Errorf("store: apply %s: %d counter items is too many", what, len(changes))
	}
	items := []types.TransactWriteItem{{Put: &types.Put{
		TableName: &st.table,
		Item: map[string]types.AttributeValue{attrPK: s("KPI-EVENT#" + eventID), attrSK: s("KPI-EVENT"),
			"program_id": s(program), "applied_at": s(ts(now)), attrExpires: n(now.Add(kpiEventTTL).Unix())},
		ConditionExpression: aws.String("attribute_not_exists(PK)"),
	}}}
	if state != nil {
		items = append(items, *state)
	}
	for _, c := range changes {
		items = append(items, st.kpiAdd(program, c, now))
	}
	err := st.transact(ctx, items)
	switch {
	case err == nil:
		return true, nil
	case conditionFailedAt(err, 0):
		return false, nil
	case state != nil && conditionFailedAt(err, 1):
		return false, ErrKPIStateChanged
	}
	return false, fmt.Errorf("store: apply %s: %w", what, err)
}

// kpiStatePut writes state v at k as its version: only if the stored
// version is version-1 (or, for the first, if there is none).
func (st *Store) kpiStatePut(k map[string]types.AttributeValue, v any, version int64, what string) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(v)
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("store: encode %s: %w", what, err)
	}
	maps.Copy(item, k)
	put := &types.Put{TableName: &st.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR version = :prev"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":prev": n(version - 1)}}
	if version <= 1 {
		put.ConditionExpression, put.ExpressionAttributeValues = aws.String("attribute_not_exists(PK)"), nil
	}
	return types.TransactWriteItem{Put: put}, nil
}

func (st *Store) kpiAdd(program string, c kpis.Change, now time.Time) types.TransactWriteItem {
	names := map[string]string{}
	values := map[string]types.AttributeValue{":now": s(ts(now))}
	expr := ""
	i := 0
	for k, v := range c.Add {
		nk, vk := "#a"+strconv.Itoa(i), ":a"+strconv.Itoa(i)
		names[nk], values[vk] = k, n(v)
		if expr != "" {
			expr += ", "
		}
		expr += nk + " " + vk
		i++
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &st.table, Key: key(kpis.PK(program), c.SK),
		UpdateExpression:          aws.String("SET updated_at = :now ADD " + expr),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}}
}

// KPICounters returns the counter items of program for the UTC days from
// from to to (inclusive), and the partner and cohort items of the months
// they touch. Read cost: three Queries (paged) on the program's partition,
// reading one item per day, one per partner active in each month and one
// per month: O(days + active partners + months), the same at a thousand or
// a million referrals. Never a Scan.
func (st *Store) KPICounters(ctx context.Context, program string, from, to time.Time) ([]kpis.Item, error) {
	firstMonth, lastMonth := from.UTC().Format("2006-01"), to.UTC().Format("2006-01")
	ranges := [][2]string{
		{kpis.DaySK(from), kpis.DaySK(to)},
		{kpis.PartnerPrefix + firstMonth + "#", kpis.PartnerPrefix + lastMonth + "#\uffff"},
		{kpis.CohortPrefix + firstMonth, kpis.CohortPrefix + lastMonth},
		{kpis.ExperimentPrefix, kpis.ExperimentPrefix + "\uffff"}, // one item per experiment variant
	}
	var out []kpis.Item
	for _, r := range ranges {
		items, err := st.kpiQuery(ctx, program, r[0], r[1])
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	return out, nil
}

func (st *Store) kpiQuery(ctx context.Context, program, from, to string) ([]kpis.Item, error) {
	in := &dynamodb.QueryInput{
		TableName:              &st.table,
		KeyConditionExpression: aws.String("PK = :pk AND SK BETWEEN :from AND :to"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": s(kpis.PK(program)), ":from": s(from), ":to": s(to)},
	}
	var out []kpis.Item
	for {
		page, err := st.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("store: query kpi counters: %w", err)
		}
		for _, raw := range page.Items {
			it := kpis.Item{N: map[string]int64{}}
			if sk, ok := raw[attrSK].(*types.AttributeValueMemberS); ok {
				it.SK = sk.Value
			}
			for k, v := range raw {
				if num, ok := v.(*types.AttributeValueMemberN); ok {
					if x, err := strconv.ParseInt(num.Value, 10, 64); err == nil {
						it.N[k] = x
					}
				}
			}
			out = append(out, it)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}
