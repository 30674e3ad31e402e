package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/referral"
)

// The store keeps recovery's state on the referral item: its run
// (attributes execution and resumes) and its attention (a map).
var _ recovery.Store = (*Store)(nil)

// runNames returns the attribute names of a referral's run and attention
// that an update uses (an unused name is an error for DynamoDB).
func runNames(placeholders ...string) map[string]string {
	all := map[string]string{"#st": "status", "#x": "execution", "#r": "resumes", "#at": "attention",
		"#u": "updated_at", "#g": attrGSI1PK, "#gs": attrGSI1SK}
	out := make(map[string]string, len(placeholders))
	for _, p := range placeholders {
		out[p] = all[p]
	}
	return out
}

// Tracked reads a referral with its run (strongly consistent), or
// ErrNotFound.
func (st *Store) Tracked(ctx context.Context, id string) (*recovery.Tracked, error) {
	item, err := st.referralItem(ctx, id, false)
	if err != nil {
		return nil, err
	}
	r, err := decodeReferral(item)
	if err != nil {
		return nil, err
	}
	t := &recovery.Tracked{Referral: r}
	if err := attributevalue.UnmarshalMap(item, &t.Run); err != nil {
		return nil, fmt.Errorf("store: decode run: %w", err)
	}
	return t, nil
}

// MarkNeedsAttention moves referral id from status from to needs_attention
// with a, recording ev in the same transaction; a.Execution becomes its
// current execution. It reports false when the referral was not in from.
func (st *Store) MarkNeedsAttention(ctx context.Context, id string, from referral.Status, a referral.Attention, ev events.Event, now time.Time) (bool, error) {
	av, err := attributevalue.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("store: marshal attention: %w", err)
	}
	gpk, gsk := statusIndex(referral.StatusNeedsAttention, now, id)
	vals := map[string]types.AttributeValue{":to": s(string(referral.StatusNeedsAttention)), ":from": s(string(from)), ":a": av,
		":u": s(now.UTC().Format(time.RFC3339Nano)), ":g": s(gpk), ":gs": s(gsk)}
	expr := "SET #st = :to, #at = :a, #u = :u, #g = :g, #gs = :gs"
	names := runNames("#st", "#at", "#u", "#g", "#gs")
	if a.Execution != "" {
		expr += ", #x = :x"
		vals[":x"], names["#x"] = s(a.Execution), "execution"
	}
	return st.updateWithEvent(ctx, id, expr, "attribute_exists(PK) AND #st = :from", names, vals, ev)
}

// ChangeRun moves referral id from status c.From and execution c.Prev to
// status c.To, execution c.Next and c.Resumes, clearing its attention and
// recording c.Event in the same transaction. The referral goes to the back
// of its status index. It reports false when the referral was elsewhere.
func (st *Store) ChangeRun(ctx context.Context, id string, c recovery.Change, now time.Time) (bool, error) {
	gpk, gsk := statusIndex(c.To, now, id)
	vals := map[string]types.AttributeValue{":to": s(string(c.To)), ":from": s(string(c.From)), ":next": s(c.Next),
		":n": n(int64(c.Resumes)), ":u": s(now.UTC().Format(time.RFC3339Nano)), ":g": s(gpk), ":gs": s(gsk)}
	expr := "SET #st = :to, #x = :next, #r = :n, #u = :u, #g = :g, #gs = :gs REMOVE #at"
	cond := "attribute_exists(PK) AND #st = :from AND " + currentIs(id, c.Prev, vals)
	return st.updateWithEvent(ctx, id, expr, cond, runNames("#st", "#x", "#r", "#u", "#g", "#gs", "#at"), vals, c.Event)
}

// AdvanceExecution records that execution to carries referral id, if from
// still did (otherwise it does nothing).
func (st *Store) AdvanceExecution(ctx context.Context, id, from, to string) error {
	vals := map[string]types.AttributeValue{":to": s(to)}
	cond := "attribute_exists(PK) AND " + currentIs(id, from, vals)
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: referralKey(id),
		UpdateExpression: aws.String("SET #x = :to"), ConditionExpression: &cond,
		ExpressionAttributeNames: map[string]string{"#x": "execution"}, ExpressionAttributeValues: vals,
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("store: advance execution: %w", err)
	}
	return nil
}

// currentIs is the condition "the referral's current execution is name"
// (#x names the execution attribute; the first execution is named after
// the referral and not stored).
func currentIs(id, name string, vals map[string]types.AttributeValue) string {
	vals[":prev"] = s(name)
	if name == id {
		return "(attribute_not_exists(#x) OR #x = :prev)"
	}
	return "#x = :prev"
}

// updateWithEvent updates the referral under cond and records ev in one
// transaction, retrying conflicts with concurrent transactions. It reports
// false when cond failed.
func (st *Store) updateWithEvent(ctx context.Context, id, expr, cond string, names map[string]string, vals map[string]types.AttributeValue, ev events.Event) (bool, error) {
	put, err := st.putEvent(ev)
	if err != nil {
		return false, err
	}
	tx := []types.TransactWriteItem{{Update: &types.Update{
		TableName: &st.table, Key: referralKey(id), UpdateExpression: &expr, ConditionExpression: &cond,
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
	}}, put}
	for attempt := 1; ; attempt++ {
		_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		reasons := cancelReasons(err)
		switch {
		case err == nil:
			return true, nil
		case len(reasons) > 0 && reasons[0] == "ConditionalCheckFailed":
			return false, nil
		case reasons == nil || attempt > maxTransientRetries:
			return false, fmt.Errorf("store: update referral %s: %w", id, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return false, err
		}
	}
}

// Candidates lists up to limit referrals in statuses whose last change (or
// last look by the reconciler, MoveToBack) is before cutoff, oldest first
// across the statuses.
func (st *Store) Candidates(ctx context.Context, statuses []referral.Status, cutoff time.Time, limit int) ([]recovery.Candidate, error) {
	type found struct {
		sk string
		c  recovery.Candidate
	}
	var all []found
	idx, cond := IndexByStatus, "GSI1PK = :p AND GSI1SK < :c"
	for _, status := range statuses {
		out, err := st.db.Query(ctx, &dynamodb.QueryInput{
			TableName: &st.table, IndexName: &idx, KeyConditionExpression: &cond,
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("STATUS#" + string(status)), ":c": s(ts(cutoff))},
			Limit:                     aws.Int32(int32(limit)),
		})
		if err != nil {
			return nil, fmt.Errorf("store: referrals %s: %w", status, err)
		}
		for _, it := range out.Items {
			sk, _ := it[attrGSI1SK].(*types.AttributeValueMemberS)
			rid, _ := it["referral_id"].(*types.AttributeValueMemberS)
			if sk != nil && rid != nil {
				all = append(all, found{sk.Value, recovery.Candidate{ID: rid.Value, Status: status}})
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].sk < all[j].sk })
	out := make([]recovery.Candidate, 0, min(limit, len(all)))
	for i := 0; i < len(all) && i < limit; i++ {
		out = append(out, all[i].c)
	}
	return out, nil
}

// MoveToBack puts a referral still in status behind every other in its
// status index (as if it had changed now), so that one looked at is not
// looked at again before the others.
func (st *Store) MoveToBack(ctx context.Context, id string, status referral.Status, now time.Time) error {
	_, gsk := statusIndex(status, now, id)
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: referralKey(id),
		UpdateExpression:          aws.String("SET #gs = :gs"),
		ConditionExpression:       aws.String("#st = :st"),
		ExpressionAttributeNames:  map[string]string{"#st": "status", "#gs": attrGSI1SK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":gs": s(gsk), ":st": s(string(status))},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("store: move to back: %w", err)
	}
	return nil
}
