package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/program"
)

func programVersionKey(id string, v int) map[string]types.AttributeValue {
	return key("PROGRAM#"+id, fmt.Sprintf("V#%06d", v))
}

// PublishProgram stores p as the program's next version and makes it
// current, unless the current version has the same content (then that
// version is returned). Published versions are never changed, so a referral
// that froze version v keeps its rules.
func (st *Store) PublishProgram(ctx context.Context, p *program.Program, now time.Time) (int, error) {
	cur, err := st.CurrentProgram(ctx, p.ID)
	switch {
	case err == nil:
		if cur.Fingerprint() == p.Fingerprint() {
			return cur.Version, nil
		}
	case !isNotFound(err):
		return 0, err
	}
	next := 1
	if cur != nil {
		next = cur.Version + 1
	}
	cp := *p
	cp.Version = next
	doc, err := json.Marshal(&cp)
	if err != nil {
		return 0, fmt.Errorf("store: encode program: %w", err)
	}
	versionItem := programVersionKey(p.ID, next)
	versionItem["document"] = s(string(doc))
	versionItem["published_at"] = s(ts(now))
	curCond := "attribute_not_exists(PK)"
	vals := map[string]types.AttributeValue{}
	if cur != nil {
		curCond = "version = :prev"
		vals[":prev"] = n(int64(cur.Version))
	}
	upd := &types.Update{
		TableName: &st.table, Key: key("PROGRAM#"+p.ID, "CURRENT"),
		UpdateExpression:          aws.String("SET version = :v, document = :d, updated_at = :u"),
		ConditionExpression:       &curCond,
		ExpressionAttributeValues: vals,
	}
	vals[":v"], vals[":d"], vals[":u"] = n(int64(next)), s(string(doc)), s(ts(now))
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &st.table, Item: versionItem, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Update: upd},
	}})
	if cancelReasons(err) != nil {
		return 0, fmt.Errorf("store: program %s was published concurrently: %w", p.ID, ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("store: publish program: %w", err)
	}
	return next, nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// CurrentProgram reads the current version of program id.
func (st *Store) CurrentProgram(ctx context.Context, id string) (*program.Program, error) {
	return st.readProgram(ctx, key("PROGRAM#"+id, "CURRENT"), id)
}

// ProgramVersion reads version v of program id (the version a referral froze).
func (st *Store) ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error) {
	return st.readProgram(ctx, programVersionKey(id, v), id+" v"+strconv.Itoa(v))
}

func (st *Store) readProgram(ctx context.Context, k map[string]types.AttributeValue, what string) (*program.Program, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: k})
	if err != nil {
		return nil, fmt.Errorf("store: get program: %w", err)
	}
	doc, ok := out.Item["document"].(*types.AttributeValueMemberS)
	if !ok {
		return nil, fmt.Errorf("store: program %s: %w", what, ErrNotFound)
	}
	var p program.Program
	if err := json.Unmarshal([]byte(doc.Value), &p); err != nil {
		return nil, fmt.Errorf("store: decode program %s: %w", what, err)
	}
	return &p, nil
}
