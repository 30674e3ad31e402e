package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/events"
)

// ErasePerson erases the personal data of every referral whose referee
// has email (found through its EMAIL# lookup keys, under every key-hash
// secret) and returns how many referrals it erased. For each referral it
// deletes the personal attributes of the referral item, its PERSON item
// and the referee's payee (payees.go), its Stripe customer links
// (billing.go), its dedupe keys and its email
// lookup key, and records a referral.erased event by actor; ids,
// statuses, amounts, milestones, rewards, ledger entries and events
// stay. Workflows still running go on (they carry ids only). A repeated
// call finds nothing left: it erases 0. A call cut short is finished by
// the next one (the lookup key goes last).
func (st *Store) ErasePerson(ctx context.Context, email, actor string, now time.Time) (int, error) {
	h, err := st.hasher(ctx)
	if err != nil {
		return 0, err
	}
	erased := 0
	for _, pk := range lookupKeys(h, email) {
		err := st.queryPrefix(ctx, pk, "REFERRAL#", func(item map[string]types.AttributeValue) error {
			id := stringOf(item["referral_id"])
			if id == "" {
				return nil
			}
			if err := st.eraseReferral(ctx, id, pk, actor, now); err != nil {
				return err
			}
			erased++
			return nil
		})
		if err != nil {
			return erased, err
		}
	}
	return erased, nil
}

// eraseReferral erases referral id's personal data and its keys, the
// lookup key emailPK (which found it) last, in one transaction with the
// referral's change.
func (st *Store) eraseReferral(ctx context.Context, id, emailPK, actor string, now time.Time) error {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: referralKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("store: get referral: %w", err)
	}
	lookup := types.TransactWriteItem{Delete: &types.Delete{TableName: &st.table, Key: key(emailPK, "REFERRAL#"+id)}}
	if out.Item == nil {
		_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{lookup}})
		return wrapErr("erase lookup key", err)
	}
	// Dedupe keys first, each only while it is still this referral's (a
	// released key may belong to a newer referral).
	dedupe, emailKey, _ := keysOf(out.Item)
	for _, k := range dedupe {
		_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table, Key: key(k, "DEDUPE"),
			ConditionExpression:       aws.String("referral_id = :id"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": s(id)},
		})
		if err != nil && !conditionFailed(err) {
			return fmt.Errorf("store: erase dedupe key: %w", err)
		}
	}
	if err := st.eraseStripeLinks(ctx, id); err != nil { // billing.go
		return err
	}
	u := &statusUpdate{
		set:   []string{"#u = :u", "#e = if_not_exists(#e, :u)"},
		names: map[string]string{"#u": "updated_at", "#e": attrErasedAt},
		values: map[string]types.AttributeValue{
			":u": s(now.UTC().Format(time.RFC3339Nano)),
		},
	}
	for _, a := range append(personalAttrs, attrDedupeKeys, attrEmailKey, attrPersonItem) {
		u.drop(a)
	}
	ev := events.New(events.ReferralErased, id, actor, now)
	ev.ProgramID = stringOf(out.Item["program_id"])
	put, err := st.putEvent(ev)
	if err != nil {
		return err
	}
	tx := []types.TransactWriteItem{
		{Update: &types.Update{TableName: &st.table, Key: referralKey(id), UpdateExpression: aws.String(u.expr()),
			ConditionExpression: aws.String("attribute_exists(PK)"), ExpressionAttributeNames: u.names, ExpressionAttributeValues: u.values}},
		{Delete: &types.Delete{TableName: &st.table, Key: personKey(id)}},
		{Delete: &types.Delete{TableName: &st.table, Key: refereePayeeKey(id)}}, // payees.go
		put,
	}
	if k := emailKey; k != "" && k != emailPK {
		tx = append(tx, types.TransactWriteItem{Delete: &types.Delete{TableName: &st.table, Key: key(k, "REFERRAL#"+id)}})
	}
	tx = append(tx, lookup)
	for attempt := 1; ; attempt++ {
		_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		if err == nil || cancelReasons(err) == nil || onlyConditionFailed(err) || attempt > maxTransientRetries {
			return wrapErr("erase referral", err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s: %w", what, err)
}
