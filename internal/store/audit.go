package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The operator console's audit log, and the console's referral search by
// status.
//
//	AUDIT#<yyyy-mm> / <time>#<nonce>   one operator action (no TTL: kept)
//
// An entry names the operator by email: operators are the deployment's
// staff (REFERFLOW_OPERATOR_EMAILS), not referees or partners, and an audit
// log must say who did what. It stays in the table: the events, logs and
// metrics of the same action carry only the operator's id (a keyed hash).

// AuditEntry is one operator action.
type AuditEntry struct {
	At       time.Time
	Operator string // the operator's email
	Action   string // e.g. "review.approve", "reward.decline"
	// Targets are the ids acted on, in name, value pairs
	// ("referral", "r_...", "milestone", "won", ...).
	Targets []string
	Note    string // the reason the operator gave, if any
	Outcome string // "ok", or what refused the action
	Nonce   string // makes two entries of the same millisecond distinct
}

func auditPK(at time.Time) string { return "AUDIT#" + at.UTC().Format("2006-01") }

// PutAudit writes an audit entry; it never overwrites another.
func (st *Store) PutAudit(ctx context.Context, e AuditEntry) error {
	item := key(auditPK(e.At), ts(e.At)+"#"+e.Nonce)
	item["at"], item["operator"], item["action"] = s(ts(e.At)), s(e.Operator), s(e.Action)
	item["targets"], item["outcome"] = s(strings.Join(e.Targets, "\x1f")), s(e.Outcome)
	if e.Note != "" {
		item["note"] = s(e.Note)
	}
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if conditionFailed(err) {
		return fmt.Errorf("store: audit: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: put audit: %w", err)
	}
	return nil
}

// Audit lists up to limit audit entries at or before now, newest first,
// reading month by month back at most months (one query per month).
func (st *Store) Audit(ctx context.Context, now time.Time, limit, months int) ([]AuditEntry, error) {
	var out []AuditEntry
	month := time.Date(now.UTC().Year(), now.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < months && len(out) < limit; i++ {
		cond := "PK = :p"
		q, err := st.db.Query(ctx, &dynamodb.QueryInput{
			TableName: &st.table, KeyConditionExpression: &cond,
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": s(auditPK(month))},
			ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(limit - len(out))),
		})
		if err != nil {
			return nil, fmt.Errorf("store: audit: %w", err)
		}
		for _, it := range q.Items {
			out = append(out, decodeAudit(it))
		}
		month = month.AddDate(0, -1, 0)
	}
	return out, nil
}

func decodeAudit(it map[string]types.AttributeValue) AuditEntry {
	at, _ := time.Parse("2006-01-02T15:04:05.000Z", stringOf(it["at"]))
	e := AuditEntry{At: at, Operator: stringOf(it["operator"]), Action: stringOf(it["action"]),
		Note: stringOf(it["note"]), Outcome: stringOf(it["outcome"])}
	if t := stringOf(it["targets"]); t != "" {
		e.Targets = strings.Split(t, "\x1f")
	}
	_, e.Nonce, _ = strings.Cut(stringOf(it[attrSK]), "#")
	return e
}

// StatusPage is a page of referral ids in one status, newest change first,
// with the cursor of the next page ("" when there is none).
type StatusPage struct {
	IDs  []string
	Next string
}

// ReferralsByStatus lists up to limit ids of referrals in status whose
// last status change is in [from, to) (zero times: unbounded), newest
// first, through the status index (one query). cursor is a StatusPage's
// Next.
func (st *Store) ReferralsByStatus(ctx context.Context, status string, from, to time.Time, limit int, cursor string) (StatusPage, error) {
	limit = min(max(limit, 1), 100)
	lo, hi := "0", "9"
	if !from.IsZero() {
		lo = ts(from)
	}
	if !to.IsZero() {
		hi = ts(to)
	}
	idx, cond := IndexByStatus, "GSI1PK = :p AND GSI1SK BETWEEN :lo AND :hi"
	in := &dynamodb.QueryInput{
		TableName: &st.table, IndexName: &idx, KeyConditionExpression: &cond,
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("STATUS#" + status), ":lo": s(lo), ":hi": s(hi)},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(limit)),
	}
	if cursor != "" {
		sk, id, ok := strings.Cut(cursor, "|")
		if !ok {
			return StatusPage{}, fmt.Errorf("store: referrals by status: bad cursor: %w", ErrNotFound)
		}
		in.ExclusiveStartKey = referralKey(id)
		in.ExclusiveStartKey[attrGSI1PK], in.ExclusiveStartKey[attrGSI1SK] = s("STATUS#"+status), s(sk)
	}
	q, err := st.db.Query(ctx, in)
	if err != nil {
		return StatusPage{}, fmt.Errorf("store: referrals by status: %w", err)
	}
	var page StatusPage
	for _, it := range q.Items {
		page.IDs = append(page.IDs, strings.TrimPrefix(stringOf(it[attrPK]), "REFERRAL#"))
	}
	if q.LastEvaluatedKey != nil && len(page.IDs) > 0 {
		last := q.LastEvaluatedKey
		page.Next = stringOf(last[attrGSI1SK]) + "|" + strings.TrimPrefix(stringOf(last[attrPK]), "REFERRAL#")
	}
	return page, nil
}
