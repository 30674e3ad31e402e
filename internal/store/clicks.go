package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/privacy"
)

// Clicks on referral links (GET /r/{code}) are counted per link and UTC
// day, once per visitor:
//
//	CLICKS#<program>#<code> / DAY#<yyyy-mm-dd>          the day's count
//	CLICKS#<program>#<code> / VISITOR#<yyyy-mm-dd>#<h>  a visitor already counted that day (TTL 2 days)
//
// <h> is a keyed hash (internal/privacy) of the day and what identifies the
// visitor (the caller passes e.g. its IP address and User-Agent): never the
// values, and a visitor's hashes of two days cannot be linked. After a
// secret rotation a visitor seen earlier that day may be counted once more.

// visitorKind keeps visitor hashes apart from email and domain ones.
const visitorKind privacy.Kind = "visitor"

// clickDay is how click counters name a day.
const clickDay = "2006-01-02"

// visitorTTL is how long a counted visitor is remembered: the rest of its
// day, with room for clock skew.
const visitorTTL = 48 * time.Hour

func clicksPK(programID, code string) string { return "CLICKS#" + programID + "#" + code }

// RecordClick counts a click on code's link in program at the given time,
// unless the same visitor was counted for that link on the same UTC day:
// one transaction writes the visitor's key (conditionally) and adds one to
// the day's counter, so the count never moves without a new visitor and a
// retried click is not counted twice. counted reports whether this click
// was added. visitor is what identifies the person (such as IP address and
// User-Agent); only its keyed hash is stored, so the store needs WithKeys.
func (st *Store) RecordClick(ctx context.Context, programID, code, visitor string, at time.Time) (counted bool, err error) {
	h, err := st.hasher(ctx)
	if err != nil {
		return false, err
	}
	day := at.UTC().Format(clickDay)
	pk := clicksPK(programID, code)
	seen := key(pk, "VISITOR#"+day+"#"+h.Hash(visitorKind, day+"\x00"+visitor))
	seen[attrExpires] = n(at.Add(visitorTTL).Unix())
	err = st.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: &st.table, Item: seen, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Update: &types.Update{
			TableName: &st.table, Key: key(pk, "DAY#"+day),
			UpdateExpression:          aws.String("ADD #c :one SET program_id = :p, code = :code, #d = :day"),
			ExpressionAttributeNames:  map[string]string{"#c": "count", "#d": "day"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1), ":p": s(programID), ":code": s(code), ":day": s(day)},
		}},
	})
	switch {
	case err == nil:
		return true, nil
	case conditionFailedAt(err, 0):
		return false, nil // this visitor was counted today
	default:
		return false, fmt.Errorf("store: record click: %w", err)
	}
}

// Clicks returns the clicks on code's link in program per UTC day
// ("2006-01-02"), for every day from from to to (inclusive, UTC) that had
// any; days without clicks are absent. It reads the link's counters with
// one Query (paged), never a Scan.
func (st *Store) Clicks(ctx context.Context, programID, code string, from, to time.Time) (map[string]int, error) {
	out := map[string]int{}
	first, last := from.UTC().Format(clickDay), to.UTC().Format(clickDay)
	if first > last {
		return out, nil
	}
	in := &dynamodb.QueryInput{
		TableName:              &st.table,
		KeyConditionExpression: aws.String("PK = :pk AND SK BETWEEN :from AND :to"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": s(clicksPK(programID, code)), ":from": s("DAY#" + first), ":to": s("DAY#" + last),
		},
	}
	for {
		page, err := st.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("store: query clicks: %w", err)
		}
		for _, item := range page.Items {
			sk, _ := item[attrSK].(*types.AttributeValueMemberS)
			c, _ := item["count"].(*types.AttributeValueMemberN)
			if sk == nil || c == nil {
				continue
			}
			v, err := strconv.Atoi(c.Value)
			if err != nil {
				return nil, fmt.Errorf("store: click count %q: %w", c.Value, err)
			}
			out[strings.TrimPrefix(sk.Value, "DAY#")] = v
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}
