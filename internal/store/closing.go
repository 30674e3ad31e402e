package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
)

// statusUpdate is an update of a referral item: a status change with the
// attributes set alongside it, and attributes removed.
type statusUpdate struct {
	set    []string
	remove []string
	names  map[string]string
	values map[string]types.AttributeValue
}

// newStatusUpdate moves referral id to status to at now (its GSI1 entry
// follows), setting each attribute of set.
func newStatusUpdate(id string, to referral.Status, now time.Time, set map[string]any) (*statusUpdate, error) {
	gpk, gsk := statusIndex(to, now, id)
	u := &statusUpdate{
		set:   []string{"#st = :to", "#u = :u", "#g = :g", "#gs = :gs"},
		names: map[string]string{"#st": "status", "#u": "updated_at", "#g": attrGSI1PK, "#gs": attrGSI1SK},
		values: map[string]types.AttributeValue{":to": s(string(to)), ":u": s(now.UTC().Format(time.RFC3339Nano)),
			":g": s(gpk), ":gs": s(gsk)},
	}
	// Sorted, so that one change always makes the same expression.
	ks := make([]string, 0, len(set))
	for k := range set {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		if err := u.put(k, set[k]); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// put sets attribute k to v.
func (u *statusUpdate) put(k string, v any) error {
	av, err := attributevalue.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: marshal %s: %w", k, err)
	}
	i := len(u.names)
	nk, vk := fmt.Sprintf("#x%d", i), fmt.Sprintf(":x%d", i)
	u.names[nk], u.values[vk] = k, av
	u.set = append(u.set, nk+" = "+vk)
	return nil
}

// drop removes attribute k.
func (u *statusUpdate) drop(k string) {
	nk := fmt.Sprintf("#x%d", len(u.names))
	u.names[nk] = k
	u.remove = append(u.remove, nk)
}

func (u *statusUpdate) expr() string {
	e := "SET " + strings.Join(u.set, ", ")
	if len(u.remove) > 0 {
		e += " REMOVE " + strings.Join(u.remove, ", ")
	}
	return e
}

// close moves a referral to the final status to. In the same transaction
// as the change (and its event) the referral's personal data moves to its
// PERSON item, which expires after the referral's retention period, and
// its lookup keys expire with it; a rejected referral's dedupe keys are
// deleted (released). The transaction is conditional on the referral item
// being as read, so a change made meanwhile (an erasure, a review note)
// is never lost: the referral is read again and the move retried. A key
// that is no longer the referral's (erased meanwhile, or taken by a newer
// referral once released) is left alone.
func (st *Store) close(ctx context.Context, id string, to referral.Status, now time.Time, set map[string]any, ev events.Event) error {
	put, err := st.putEvent(ev)
	if err != nil {
		return err
	}
	gone := map[string]bool{}
	for attempt := 1; ; attempt++ {
		out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: referralKey(id), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return fmt.Errorf("store: get referral: %w", err)
		}
		if out.Item == nil {
			return fmt.Errorf("store: referral %s: %w", id, ErrNotFound)
		}
		cur := referral.Status(stringOf(out.Item["status"]))
		if cur == to {
			return nil // a terminal status repeated: keep the first write
		}
		if !slices.Contains(referral.From(to), cur) {
			return fmt.Errorf("store: referral %s is %s, cannot become %s: %w", id, cur, to, ErrConflict)
		}
		tx, keyAt, err := st.closeTx(out.Item, id, to, now, set, gone)
		if err != nil {
			return err
		}
		_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append(tx, put)})
		reasons := cancelReasons(err)
		switch {
		case err == nil:
			return nil
		case reasons == nil || attempt > maxTransientRetries:
			return fmt.Errorf("store: close referral: %w", err)
		case reasons[0] == "ConditionalCheckFailed":
			continue // changed since read: read it again
		case onlyConditionFailed(err):
			for i, r := range reasons {
				if r == "ConditionalCheckFailed" && keyAt[i] != "" {
					gone[keyAt[i]] = true
				}
			}
			continue
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

// closeTx is the transaction (without its event) that closes the referral
// item as read, leaving out the keys in gone; keyAt names the key each of
// its items about a key writes.
func (st *Store) closeTx(item map[string]types.AttributeValue, id string, to referral.Status, now time.Time, set map[string]any, gone map[string]bool) ([]types.TransactWriteItem, map[int]string, error) {
	rest, personal := map[string]any{}, map[string]any{}
	for k, v := range set {
		if isPersonal(k) {
			personal[k] = v
		} else {
			rest[k] = v
		}
	}
	u, err := newStatusUpdate(id, to, now, rest)
	if err != nil {
		return nil, nil, err
	}
	expires := now.Add(retentionOf(item))
	var tx []types.TransactWriteItem
	if _, erased := item[attrErasedAt]; !erased {
		put, err := st.movePersonal(item, id, personal, u, expires)
		if err != nil {
			return nil, nil, err
		}
		tx = append(tx, put)
	}
	keys, keyAt, err := st.closeKeys(item, id, to, u, n(expires.Unix()), gone)
	if err != nil {
		return nil, nil, err
	}
	at := make(map[int]string, len(keyAt))
	for i, k := range keyAt {
		at[1+len(tx)+i] = k // after the referral's update and the PERSON item
	}
	tx = append(tx, keys...)
	cond := "attribute_exists(PK) AND #st = :cur AND "
	u.values[":cur"] = item["status"]
	if v, ok := item["updated_at"]; ok {
		cond += "#u = :u0"
		u.values[":u0"] = v
	} else {
		cond += "attribute_not_exists(#u)"
	}
	update := &types.Update{TableName: &st.table, Key: referralKey(id), UpdateExpression: aws.String(u.expr()),
		ConditionExpression: &cond, ExpressionAttributeNames: u.names, ExpressionAttributeValues: u.values}
	return append([]types.TransactWriteItem{{Update: update}}, tx...), at, nil
}

// movePersonal moves the referral item's personal data, and the personal
// attributes being set with the final status, to the PERSON item that
// expires at expires; u removes them from the referral item.
func (st *Store) movePersonal(item map[string]types.AttributeValue, id string, personal map[string]any, u *statusUpdate, expires time.Time) (types.TransactWriteItem, error) {
	person := personKey(id)
	for _, a := range personalAttrs {
		if v, ok := item[a]; ok {
			person[a] = v
			u.drop(a)
		}
	}
	for k, v := range personal {
		av, err := attributevalue.Marshal(v)
		if err != nil {
			return types.TransactWriteItem{}, fmt.Errorf("store: marshal %s: %w", k, err)
		}
		person[k] = av
	}
	person["referral_id"], person[attrExpires] = s(id), n(expires.Unix())
	if err := u.put(attrPersonItem, true); err != nil {
		return types.TransactWriteItem{}, err
	}
	if err := u.put(attrPersonTTL, ts(expires)); err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: &st.table, Item: person}}, nil
}

// closeKeys are the writes to a closing referral's keys (but those in
// gone): a rejected referral's dedupe keys are deleted, the others expire
// at exp; keyAt names the key each writes, by index. u records on the
// referral item the keys it keeps.
func (st *Store) closeKeys(item map[string]types.AttributeValue, id string, to referral.Status, u *statusUpdate, exp types.AttributeValue, gone map[string]bool) ([]types.TransactWriteItem, map[int]string, error) {
	var tx []types.TransactWriteItem
	keyAt := map[int]string{}
	rejected := to == referral.StatusRejected
	dedupe, emailKey, legacy := keysOf(item)
	if legacy {
		// Recorded, so that erasure finds them once the email has moved.
		if err := u.put(attrEmailKey, emailKey); err != nil {
			return nil, nil, err
		}
		if !rejected {
			if err := u.put(attrDedupeKeys, dedupe); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, k := range dedupe {
		if gone[k] {
			continue
		}
		keyAt[len(tx)] = k
		if rejected {
			// Released: the company may be referred again.
			tx = append(tx, types.TransactWriteItem{Delete: &types.Delete{TableName: &st.table, Key: key(k, "DEDUPE"),
				ConditionExpression:       aws.String("attribute_not_exists(PK) OR referral_id = :id"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":id": s(id)},
			}})
			continue
		}
		tx = append(tx, expireItem(st.table, key(k, "DEDUPE"), id, exp))
	}
	if rejected {
		u.drop(attrDedupeKeys)
	}
	if emailKey != "" && !gone[emailKey] {
		keyAt[len(tx)] = emailKey
		tx = append(tx, expireItem(st.table, key(emailKey, "REFERRAL#"+id), id, exp))
	}
	return tx, keyAt, nil
}

// expireItem sets the TTL of the key item at k while it is referral id's.
func expireItem(table string, k map[string]types.AttributeValue, id string, exp types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{TableName: &table, Key: k,
		UpdateExpression:          aws.String("SET #e = :e"),
		ConditionExpression:       aws.String("referral_id = :id"),
		ExpressionAttributeNames:  map[string]string{"#e": attrExpires},
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": exp, ":id": s(id)},
	}}
}

// stringOf reads a string attribute ("" when absent or not a string).
func stringOf(v types.AttributeValue) string {
	if sv, ok := v.(*types.AttributeValueMemberS); ok {
		return sv.Value
	}
	return ""
}
