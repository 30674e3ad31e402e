package store

// Personal data in the table.
//
// A referral's personal data is the referee's email, name, company,
// domain, phone and message, the verification reasons (their messages name
// emails and domains), the reviewer's note and the reasons of milestones
// recorded by hand. While the referral is open
// it sits on the referral item, where verification and the admin API read
// it. When the referral reaches a final status it moves, in the same
// transaction as the status change, to REFERRAL#<id> / PERSON, which
// expires (the table's TTL attribute) after the retention period the
// referral was received under; the referral item keeps ids, statuses,
// amounts and milestones, and the ledger, rewards and events stay. The
// email lookup and dedupe keys expire with it, except that a rejected
// referral releases its dedupe keys at once, so the company can be
// referred again.
//
// Keys never hold an email or a domain: DEDUPE#<program>#email#<h>,
// DEDUPE#<program>#domain#<h> and EMAIL#<h> hold keyed hashes made under
// the newest secret (internal/privacy); lookups and dedupe checks try every
// secret, so a secret can rotate. The referral item records the keys it
// was written with (dedupe_keys, email_key), so closing and erasing it
// touch exactly those, whatever the secrets are by then.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/referral"
)

// DefaultRetention is how long a closed referral's personal data is kept
// when the referral does not say (one received before retention was
// recorded on referrals).
const DefaultRetention = 365 * 24 * time.Hour

// Attributes of the referral item about its personal data.
const (
	attrDedupeKeys = "dedupe_keys"               // string set: its DEDUPE# keys
	attrEmailKey   = "email_key"                 // its EMAIL# lookup key
	attrRetention  = "personal_data_retention_s" // seconds kept after it closes
	attrPersonItem = "personal_data_item"        // true: moved to the PERSON item
	attrPersonTTL  = "personal_data_expires_at"  // when the PERSON item expires
	attrErasedAt   = "personal_data_erased_at"   // erased on request at
)

// personalAttrs are the referral item's attributes that hold personal data.
var personalAttrs = []string{
	"referee_email", "referee_name", "referee_company", "referee_domain",
	"referee_phone", "message", "reasons", "review_note", "milestone_notes",
}

func isPersonal(attr string) bool {
	for _, a := range personalAttrs {
		if a == attr {
			return true
		}
	}
	return false
}

func personKey(id string) map[string]types.AttributeValue {
	return key("REFERRAL#"+id, "PERSON")
}

// WithKeys returns the store hashing emails and domains into keys with the
// secrets src gives. Creating referrals, looking them up by email and
// erasing a person need it; every other method works without.
func (st *Store) WithKeys(src privacy.Source) *Store {
	cp := *st
	cp.keys = src
	return &cp
}

// withPerson adds to a closed referral's item the personal data it moved
// to its PERSON item (none once that has expired or was erased).
func (st *Store) withPerson(ctx context.Context, id string, item map[string]types.AttributeValue) error {
	if !isTrue(item[attrPersonItem]) {
		return nil
	}
	p, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: personKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("store: get personal data: %w", err)
	}
	for _, a := range personalAttrs {
		if v, ok := p.Item[a]; ok {
			item[a] = v
		}
	}
	return nil
}

// ErrNoKeys: the store was built without WithKeys.
var ErrNoKeys = errors.New("store: no key hasher (Store.WithKeys)")

func (st *Store) hasher(ctx context.Context) (*privacy.Hasher, error) {
	if st.keys == nil {
		return nil, ErrNoKeys
	}
	h, err := st.keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return h, nil
}

// DedupeKey is one program-wide uniqueness key of a referral: the key it
// is written under (newest secret) and the keys the same value has under
// older secrets and had before keys were hashed, which must be free too.
type DedupeKey struct {
	Key   string
	Older []string
}

// DedupeKeys are the uniqueness keys of a referral in a program: the
// referee's email and, when known, the company domain, as keyed hashes.
func DedupeKeys(h *privacy.Hasher, programID, email, domain string) []DedupeKey {
	out := []DedupeKey{dedupeKey(h, programID, privacy.Email, email)}
	if domain != "" {
		out = append(out, dedupeKey(h, programID, privacy.Domain, domain))
	}
	return out
}

func dedupeKey(h *privacy.Hasher, programID string, kind privacy.Kind, value string) DedupeKey {
	all := h.Hashes(kind, value)
	k := DedupeKey{Key: "DEDUPE#" + programID + "#" + string(kind) + "#" + all[0]}
	for _, o := range append(all[1:], privacy.Normalize(kind, value)) {
		k.Older = append(k.Older, "DEDUPE#"+programID+"#"+string(kind)+"#"+o)
	}
	return k
}

// personKeys records on a new referral's item the keys it is written with
// and returns the transaction items that write them: each dedupe key, free
// or expired (with a check that it is free under older secrets too), then
// the email lookup key. isDedupe tells which items are dedupe writes or
// checks.
func (st *Store) personKeys(h *privacy.Hasher, r *referral.Referral, item map[string]types.AttributeValue) (tx []types.TransactWriteItem, isDedupe []bool) {
	emailKey := emailKeys(h, r.RefereeEmail)[0]
	free := aws.String("attribute_not_exists(PK) OR expires_at < :now")
	now := map[string]types.AttributeValue{":now": n(r.CreatedAt.Unix())}
	var written []string
	for _, k := range DedupeKeys(h, r.ProgramID, r.RefereeEmail, r.RefereeDomain) {
		written = append(written, k.Key)
		tx = append(tx, types.TransactWriteItem{Put: &types.Put{
			TableName: &st.table,
			Item: map[string]types.AttributeValue{
				attrPK: s(k.Key), attrSK: s("DEDUPE"), "referral_id": s(r.ID), "created_at": s(ts(r.CreatedAt)),
			},
			ConditionExpression: free, ExpressionAttributeValues: now,
		}})
		for _, o := range k.Older {
			tx = append(tx, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
				TableName: &st.table, Key: key(o, "DEDUPE"), ConditionExpression: free, ExpressionAttributeValues: now,
			}})
		}
	}
	isDedupe = make([]bool, len(tx)+1)
	for i := range tx {
		isDedupe[i] = true
	}
	item[attrDedupeKeys] = &types.AttributeValueMemberSS{Value: written}
	item[attrEmailKey] = s(emailKey)
	tx = append(tx, types.TransactWriteItem{Put: &types.Put{
		TableName: &st.table,
		Item: map[string]types.AttributeValue{
			attrPK: s(emailKey), attrSK: s("REFERRAL#" + r.ID),
			"referral_id": s(r.ID), "program_id": s(r.ProgramID), "created_at": s(ts(r.CreatedAt)),
		},
	}})
	return tx, isDedupe
}

// emailKeys are the EMAIL# partitions of an email, newest secret first.
func emailKeys(h *privacy.Hasher, email string) []string {
	all := h.Hashes(privacy.Email, email)
	for i, v := range all {
		all[i] = "EMAIL#" + v
	}
	return all
}

// lookupKeys are the EMAIL# partitions a look-up of email reads: its
// keyed hashes, then the raw email of a referral stored before keys were
// hashed (read, never written, so an upgraded table still links and erases
// its older referrals).
func lookupKeys(h *privacy.Hasher, email string) []string {
	return append(emailKeys(h, email), "EMAIL#"+privacy.Normalize(privacy.Email, email))
}

// keysOf are the dedupe keys and the email lookup key of a referral item:
// the ones it recorded, or for a referral stored before keys were hashed
// (legacy reports it) the raw keys it was written under. None once erased.
func keysOf(item map[string]types.AttributeValue) (dedupe []string, emailKey string, legacy bool) {
	if k, ok := item[attrEmailKey]; ok {
		return stringsOf(item[attrDedupeKeys]), stringOf(k), false
	}
	email := stringOf(item["referee_email"])
	if email == "" {
		return nil, "", false
	}
	program := stringOf(item["program_id"])
	dedupe = []string{"DEDUPE#" + program + "#email#" + email}
	if d := stringOf(item["referee_domain"]); d != "" {
		dedupe = append(dedupe, "DEDUPE#"+program+"#domain#"+d)
	}
	return dedupe, "EMAIL#" + email, true
}

// retentionOf is how long a closed referral's personal data is kept.
func retentionOf(item map[string]types.AttributeValue) time.Duration {
	if v, ok := item[attrRetention].(*types.AttributeValueMemberN); ok {
		var sec int64
		if _, err := fmt.Sscan(v.Value, &sec); err == nil && sec > 0 {
			return time.Duration(sec) * time.Second
		}
	}
	return DefaultRetention
}

// stringsOf reads a string set (or list) attribute.
func stringsOf(v types.AttributeValue) []string {
	switch v := v.(type) {
	case *types.AttributeValueMemberSS:
		return v.Value
	case *types.AttributeValueMemberS:
		return []string{v.Value}
	case *types.AttributeValueMemberL:
		var out []string
		for _, e := range v.Value {
			if s, ok := e.(*types.AttributeValueMemberS); ok {
				out = append(out, s.Value)
			}
		}
		return out
	}
	return nil
}

func isTrue(v types.AttributeValue) bool {
	b, ok := v.(*types.AttributeValueMemberBOOL)
	return ok && b.Value
}

// ReferralsByEmail lists the ids of up to 20 referrals whose referee has
// email, newest first (ids sort by creation time), looking the email up
// under every key-hash secret (and as a referral stored before keys were
// hashed).
func (st *Store) ReferralsByEmail(ctx context.Context, email string) ([]string, error) {
	h, err := st.hasher(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, pk := range lookupKeys(h, email) {
		cond := "PK = :p AND begins_with(SK, :r)"
		out, err := st.db.Query(ctx, &dynamodb.QueryInput{
			TableName: &st.table, KeyConditionExpression: &cond,
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": s(pk), ":r": s("REFERRAL#")},
			ScanIndexForward:          aws.Bool(false),
			Limit:                     aws.Int32(20),
		})
		if err != nil {
			return nil, fmt.Errorf("store: referrals by email: %w", err)
		}
		for _, it := range out.Items {
			if v := stringOf(it["referral_id"]); v != "" && !slices.Contains(ids, v) {
				ids = append(ids, v)
			}
		}
	}
	slices.SortFunc(ids, func(a, b string) int { return strings.Compare(b, a) })
	return ids[:min(len(ids), 20)], nil
}
