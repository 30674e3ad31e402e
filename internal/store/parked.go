package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/privacy"
)

// Parked CRM events (internal/crm parked.go): events about records no
// referral is linked to yet, kept until one is or until they expire (TTL).
//
//	PARKED#<provider>#record#<rec>  / EVENT#<event id>   a parked event (ids and deal facts)
//	PARKED#<provider>#email#<h>     / EVENT#<event id>   one that names no record, by email
//	PARKED-EMAIL#<h>                / <provider>#<group> which groups were parked under an email
//
// <h> is the keyed hash of the contact's email (internal/privacy); no
// email is ever stored in clear. Every item expires with its events.

const (
	attrClaimed = "claimed_until" // Unix ms until which an adopter holds the event
	parkedEvent = "EVENT#"
)

var _ crm.ParkedStore = (*Store)(nil)

func parkedRecordPK(provider, recordID string) string {
	return "PARKED#" + provider + "#record#" + recordID
}

func parkedEmailPK(provider, hash string) string { return "PARKED#" + provider + "#email#" + hash }

// ParkEvent keeps p until p.ExpiresAt, and files its group under email's
// keyed hash when email is given. An event held by an adopter is left as
// it is (the adopter applies it). Its dedupe record is kept at least as
// long, so that an adoption late in the TTL still finds it.
func (st *Store) ParkEvent(ctx context.Context, p crm.Parked, email string) error {
	var hash string
	if email != "" || p.Group.RecordID == "" {
		h, err := st.hasher(ctx)
		if err != nil {
			return err
		}
		hash = h.Hash(privacy.Email, cmp.Or(email, p.Group.Email))
	}
	pk := parkedRecordPK(p.Group.Provider, p.Group.RecordID)
	if p.Group.RecordID == "" {
		pk = parkedEmailPK(p.Group.Provider, hash)
	}
	item := parkedItem(pk, p)
	now := strconv.FormatInt(p.ParkedAt.UnixMilli(), 10)
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(#c) OR #c <= :now"),
		ExpressionAttributeNames:  map[string]string{"#c": attrClaimed},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: now}},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("store: park event: %w", err)
	}
	exp := n(p.ExpiresAt.Unix())
	if hash != "" {
		group := p.Group.Provider + "#" + strings.TrimPrefix(pk, "PARKED#"+p.Group.Provider+"#")
		idx := key("PARKED-EMAIL#"+hash, group)
		idx["provider"], idx["record_id"], idx[attrExpires] = s(p.Group.Provider), s(p.Group.RecordID), exp
		if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: idx}); err != nil {
			return fmt.Errorf("store: park event: email index: %w", err)
		}
	}
	_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &st.table, Key: eventKey(p.Event.Provider, p.Event.ID),
		UpdateExpression: aws.String("SET #e = :e"), ConditionExpression: aws.String("attribute_exists(PK) AND #e < :e"),
		ExpressionAttributeNames: map[string]string{"#e": attrExpires}, ExpressionAttributeValues: map[string]types.AttributeValue{":e": exp},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("store: park event: keep its dedupe record: %w", err)
	}
	return nil
}

// parkedItem is the item of a parked event: ids and deal facts only.
func parkedItem(pk string, p crm.Parked) map[string]types.AttributeValue {
	ev := p.Event
	item := key(pk, parkedEvent+ev.ID)
	put := func(k, v string) {
		if v != "" {
			item[k] = s(v)
		}
	}
	put("provider", ev.Provider)
	put("event_id", ev.ID)
	put("kind", string(ev.Kind))
	put("record_id", ev.RecordID)
	put("pipeline", ev.Pipeline)
	put("stage", ev.Stage)
	put("deal_status", ev.Status)
	put("referral_hint", ev.ReferralID)
	if ev.Amount != nil {
		item["amount_minor"] = n(ev.Amount.Minor)
		put("amount_currency", ev.Amount.Currency)
		put("amount_text", ev.AmountText)
	}
	if !ev.OccurredAt.IsZero() {
		put("occurred_at", ev.OccurredAt.UTC().Format(time.RFC3339Nano))
	}
	put("parked_at", p.ParkedAt.UTC().Format(time.RFC3339Nano))
	item[attrExpires] = n(p.ExpiresAt.Unix())
	return item
}

// parkedFrom reads a parked event item back.
func parkedFrom(g crm.ParkedGroup, it map[string]types.AttributeValue) crm.Parked {
	str := func(k string) string { return parkedStr(it, k) }
	p := crm.Parked{Group: g, Key: str(attrPK), ExpiresAt: time.Unix(parkedNum(it[attrExpires]), 0).UTC()}
	p.Event = crm.Event{Provider: str("provider"), ID: str("event_id"), Kind: crm.Kind(str("kind")), RecordID: str("record_id"),
		Pipeline: str("pipeline"), Stage: str("stage"), Status: str("deal_status"), ReferralID: str("referral_hint")}
	if _, ok := it["amount_minor"]; ok {
		p.Event.Amount = &money.Money{Minor: parkedNum(it["amount_minor"]), Currency: str("amount_currency")}
		p.Event.AmountText = str("amount_text")
	}
	p.Event.OccurredAt, _ = time.Parse(time.RFC3339Nano, str("occurred_at"))
	p.ParkedAt, _ = time.Parse(time.RFC3339Nano, str("parked_at"))
	return p
}

func parkedNum(v types.AttributeValue) int64 {
	if nv, ok := v.(*types.AttributeValueMemberN); ok {
		i, _ := strconv.ParseInt(nv.Value, 10, 64)
		return i
	}
	return 0
}

// ParkedGroups lists the groups events were parked in under email (under
// every key-hash secret); ClaimParked leaves their expired events out.
func (st *Store) ParkedGroups(ctx context.Context, email string) ([]crm.ParkedGroup, error) {
	h, err := st.hasher(ctx)
	if err != nil {
		return nil, err
	}
	var out []crm.ParkedGroup
	for _, hash := range h.Hashes(privacy.Email, email) {
		items, err := st.parkedQuery(ctx, "PARKED-EMAIL#"+hash, "")
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			g := crm.ParkedGroup{Provider: parkedStr(it, "provider"), RecordID: parkedStr(it, "record_id")}
			if g.RecordID == "" {
				g.Email = email
			}
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out, nil
}

func parkedStr(it map[string]types.AttributeValue, k string) string {
	if v, ok := it[k].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// parkedQuery reads every item of partition pk whose sort key begins with
// prefix (strongly consistent, all pages).
func (st *Store) parkedQuery(ctx context.Context, pk, prefix string) ([]map[string]types.AttributeValue, error) {
	cond := "PK = :p"
	vals := map[string]types.AttributeValue{":p": s(pk)}
	if prefix != "" {
		cond += " AND begins_with(SK, :s)"
		vals[":s"] = s(prefix)
	}
	in := &dynamodb.QueryInput{TableName: &st.table, KeyConditionExpression: &cond, ExpressionAttributeValues: vals, ConsistentRead: aws.Bool(true)}
	var items []map[string]types.AttributeValue
	for {
		out, err := st.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("store: parked events: %w", err)
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// ClaimParked claims until now+lease every unexpired event of group g that
// no other caller holds; busy reports events another caller holds.
func (st *Store) ClaimParked(ctx context.Context, g crm.ParkedGroup, now time.Time, lease time.Duration) ([]crm.Parked, bool, error) {
	pks := []string{parkedRecordPK(g.Provider, g.RecordID)}
	if g.RecordID == "" {
		h, err := st.hasher(ctx)
		if err != nil {
			return nil, false, err
		}
		pks = pks[:0]
		for _, hash := range h.Hashes(privacy.Email, g.Email) {
			pks = append(pks, parkedEmailPK(g.Provider, hash))
		}
	}
	var claimed []crm.Parked
	busy := false
	nowMS := now.UnixMilli()
	for _, pk := range pks {
		items, err := st.parkedQuery(ctx, pk, parkedEvent)
		if err != nil {
			return claimed, false, err
		}
		for _, it := range items {
			if parkedNum(it[attrExpires]) < now.Unix() {
				continue
			}
			if parkedNum(it[attrClaimed]) > nowMS {
				busy = true
				continue
			}
			ok, err := st.claimParked(ctx, it, nowMS, now.Add(lease).UnixMilli())
			if err != nil {
				return claimed, false, err
			}
			if !ok {
				busy = true
				continue
			}
			claimed = append(claimed, parkedFrom(g, it))
		}
	}
	return claimed, busy, nil
}

func (st *Store) claimParked(ctx context.Context, it map[string]types.AttributeValue, nowMS, untilMS int64) (bool, error) {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: map[string]types.AttributeValue{attrPK: it[attrPK], attrSK: it[attrSK]},
		UpdateExpression:         aws.String("SET #c = :until"),
		ConditionExpression:      aws.String("attribute_exists(PK) AND (attribute_not_exists(#c) OR #c <= :now)"),
		ExpressionAttributeNames: map[string]string{"#c": attrClaimed},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":until": n(untilMS), ":now": n(nowMS),
		},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: claim parked event: %w", err)
	}
	return true, nil
}

// ReleaseParked gives claimed events back, unapplied.
func (st *Store) ReleaseParked(ctx context.Context, ps []crm.Parked) error {
	var errs []error
	for _, p := range ps {
		_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &st.table, Key: key(p.Key, parkedEvent+p.Event.ID),
			UpdateExpression:         aws.String("REMOVE #c"),
			ConditionExpression:      aws.String("attribute_exists(PK)"),
			ExpressionAttributeNames: map[string]string{"#c": attrClaimed},
		})
		if err != nil && !conditionFailed(err) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: release parked events: %w", err)
	}
	return nil
}

// UnparkEvent removes a parked event (applied or expired).
func (st *Store) UnparkEvent(ctx context.Context, p crm.Parked) error {
	_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table, Key: key(p.Key, parkedEvent+p.Event.ID)})
	if err != nil {
		return fmt.Errorf("store: unpark event: %w", err)
	}
	return nil
}
