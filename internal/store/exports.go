package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/exports"
	"github.com/referflow/referflow/internal/rewards"
)

// Exports (internal/exports; the operator console's exports page).
//
// An export is EXPORT#<id> / EXPORT: what it covers, its cursor and how
// far it got; each chunk of its CSV (no header) is EXPORT#<id> /
// CHUNK#<000001>, at most a few hundred KB (exports.DefaultBudget). Both
// expire with the table's TTL (exports.TTL after the export started).

// The export store is what internal/exports reads.
var _ exports.Source = (*Store)(nil)

func exportKey(id string) map[string]types.AttributeValue { return key("EXPORT#"+id, "EXPORT") }

func chunkSK(n int) string { return fmt.Sprintf("CHUNK#%06d", n) }

// CreateExport stores a new export (ErrDuplicate when its id is taken).
func (st *Store) CreateExport(ctx context.Context, j exports.Job) error {
	item, err := attributevalue.MarshalMap(j)
	if err != nil {
		return fmt.Errorf("store: marshal export: %w", err)
	}
	for k, v := range exportKey(j.ID) {
		item[k] = v
	}
	item[attrExpires] = n(j.ExpiresAt.Unix())
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if conditionFailed(err) {
		return fmt.Errorf("store: export %s: %w", j.ID, ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("store: create export: %w", err)
	}
	return nil
}

// Export reads an export; ErrNotFound when there is none or it expired
// (at now; the TTL deletes lazily).
func (st *Store) Export(ctx context.Context, id string, now time.Time) (*exports.Job, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: exportKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get export: %w", err)
	}
	if out.Item == nil || numberAttr(out.Item, attrExpires) < now.Unix() {
		return nil, fmt.Errorf("store: export %s: %w", id, ErrNotFound)
	}
	var j exports.Job
	if err := attributevalue.UnmarshalMap(out.Item, &j); err != nil {
		return nil, fmt.Errorf("store: decode export: %w", err)
	}
	return &j, nil
}

// SaveExportChunk stores the next chunk of export j (csv, its lines
// without header; none when empty) with j's new progress, in one
// transaction and only if the export still has chunks chunks (so two
// requests running it at once cannot both append): ErrConflict when it
// has moved on, ErrNotFound when it is gone.
func (st *Store) SaveExportChunk(ctx context.Context, j exports.Job, chunks int, csv []byte, rows int) error {
	vals := map[string]types.AttributeValue{
		":prev": n(int64(chunks)), ":chunks": n(int64(j.Chunks)), ":cursor": s(j.Cursor), ":done": &types.AttributeValueMemberBOOL{Value: j.Done},
		":steps": n(int64(j.StepsDone)), ":rows": n(int64(j.Rows)),
	}
	tx := []types.TransactWriteItem{{Update: &types.Update{TableName: &st.table, Key: exportKey(j.ID),
		UpdateExpression:          aws.String("SET chunks = :chunks, #c = :cursor, done = :done, steps_done = :steps, #r = :rows"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND chunks = :prev"),
		ExpressionAttributeNames:  map[string]string{"#c": "cursor", "#r": "rows"},
		ExpressionAttributeValues: vals}}}
	if j.Chunks > chunks {
		item := key("EXPORT#"+j.ID, chunkSK(j.Chunks))
		item["csv"], item["rows"], item[attrExpires] = s(string(csv)), n(int64(rows)), n(j.ExpiresAt.Unix())
		tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &st.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}})
	}
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
	switch {
	case onlyConditionFailed(err):
		if _, gerr := st.Export(ctx, j.ID, time.Unix(0, 0)); gerr != nil {
			return gerr
		}
		return fmt.Errorf("store: export %s moved on: %w", j.ID, ErrConflict)
	case err != nil:
		return fmt.Errorf("store: save export chunk: %w", err)
	}
	return nil
}

// ExportChunks reads the chunks first..last (1-based, included) of an
// export, in order, and appends their CSV to out.
func (st *Store) ExportChunks(ctx context.Context, id string, first, last int, out []byte) ([]byte, error) {
	cond := "PK = :p AND SK BETWEEN :a AND :b"
	in := &dynamodb.QueryInput{TableName: &st.table, KeyConditionExpression: &cond, ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("EXPORT#" + id), ":a": s(chunkSK(first)), ":b": s(chunkSK(last))}}
	for {
		page, err := st.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("store: export chunks: %w", err)
		}
		for _, it := range page.Items {
			out = append(out, stringOf(it["csv"])...)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// EventsOn reads the events of type t that happened on day (YYYY-MM-DD)
// through the events index (GSI1 EVENTS#<day>), oldest first: one page of
// at most limit events (before keeping those of type t), continued by the
// cursor it returns ("" after the last page).
func (st *Store) EventsOn(ctx context.Context, day string, t events.Type, limit int, cursor string) ([]events.Event, string, error) {
	idx, cond := IndexByStatus, "GSI1PK = :p"
	in := &dynamodb.QueryInput{TableName: &st.table, IndexName: &idx, KeyConditionExpression: &cond,
		FilterExpression:          aws.String("#t = :t"),
		ExpressionAttributeNames:  map[string]string{"#t": "type"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("EVENTS#" + day), ":t": s(string(t))},
		Limit:                     aws.Int32(int32(max(limit, 1)))}
	return indexItems[events.Event](ctx, st, in, cursor)
}

// LedgerPage reads one page of at most limit ledger entries of period
// (YYYY-MM) through the ledger index, continued by the cursor it returns
// ("" after the last page).
func (st *Store) LedgerPage(ctx context.Context, period string, limit int, cursor string) ([]rewards.Entry, string, error) {
	idx, cond := IndexByStatus, "GSI1PK = :p"
	in := &dynamodb.QueryInput{TableName: &st.table, IndexName: &idx, KeyConditionExpression: &cond,
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("LEDGER#" + period)}, Limit: aws.Int32(int32(max(limit, 1)))}
	return indexItems[rewards.Entry](ctx, st, in, cursor)
}

// indexItems runs one page of query in from cursor and decodes its items.
func indexItems[T any](ctx context.Context, st *Store, in *dynamodb.QueryInput, cursor string) ([]T, string, error) {
	var out []T
	next, err := st.indexPage(ctx, in, cursor, func(it map[string]types.AttributeValue) error {
		var v T
		if err := attributevalue.UnmarshalMap(it, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, next, err
}

// indexPage runs one page of query in from cursor (an opaque encoding of
// the key it continues after), visiting its items, and returns the next
// page's cursor.
func (st *Store) indexPage(ctx context.Context, in *dynamodb.QueryInput, cursor string, visit func(map[string]types.AttributeValue) error) (string, error) {
	if cursor != "" {
		start, err := decodeCursor(cursor)
		if err != nil {
			return "", err
		}
		in.ExclusiveStartKey = start
	}
	page, err := st.db.Query(ctx, in)
	if err != nil {
		return "", fmt.Errorf("store: index page: %w", err)
	}
	for _, it := range page.Items {
		if err := visit(it); err != nil {
			return "", fmt.Errorf("store: decode: %w", err)
		}
	}
	if len(page.LastEvaluatedKey) == 0 {
		return "", nil
	}
	return encodeCursor(page.LastEvaluatedKey), nil
}

// encodeCursor writes a key of string attributes as base64url JSON.
func encodeCursor(k map[string]types.AttributeValue) string {
	m := make(map[string]string, len(k))
	for name, v := range k {
		m[name] = stringOf(v)
	}
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string) (map[string]types.AttributeValue, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	var m map[string]string
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil || len(m) == 0 {
		return nil, fmt.Errorf("store: bad cursor: %w", ErrNotFound)
	}
	k := make(map[string]types.AttributeValue, len(m))
	for name, v := range m {
		k[name] = s(v)
	}
	return k, nil
}
