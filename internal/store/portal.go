package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/privacy"
)

// The partner portal's sign-in: one-time links and rate limits.
//
//	SIGNIN#<sha256 of the token>     / SIGNIN   a sign-in link's token (TTL: the link's lifetime)
//	RATE#<scope>#<h>#<window start>  / RATE     requests in a window (TTL: the window's end)
//
// A token is stored only as its SHA-256: the table never holds a usable
// link. <h> is a keyed hash (internal/privacy) of what is limited (an
// email, an IP address), never the value.

// SignInToken is what a sign-in link's token opens: a partner of a program.
type SignInToken struct {
	Hash      string // hex SHA-256 of the token sent in the link
	Kind      SessionKind
	ProgramID string
	Code      string
	Operator  string // the operator's email (Kind SessionOperator)
	ExpiresAt time.Time
}

func signInKey(hash string) map[string]types.AttributeValue { return key("SIGNIN#"+hash, "SIGNIN") }

// PutSignInToken stores a new sign-in token (ErrConflict: the hash is
// taken, draw another token). It expires at t.ExpiresAt.
func (st *Store) PutSignInToken(ctx context.Context, t SignInToken) error {
	item := signInKey(t.Hash)
	item["program_id"], item["code"], item[attrExpires] = s(t.ProgramID), s(t.Code), n(t.ExpiresAt.Unix())
	if t.Kind != SessionPartner {
		item["kind"], item["operator"] = s(string(t.Kind)), s(t.Operator)
	}
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if conditionFailed(err) {
		return fmt.Errorf("store: sign-in token: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: put sign-in token: %w", err)
	}
	return nil
}

// SignInTokenAt reads a sign-in token without using it; ErrNotFound when
// there is none or it has expired at now.
func (st *Store) SignInTokenAt(ctx context.Context, hash string, now time.Time) (*SignInToken, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: signInKey(hash), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get sign-in token: %w", err)
	}
	return signInToken(hash, out.Item, now)
}

// UseSignInToken consumes a sign-in token: it is deleted in the same
// conditional write that reads it, so of two uses only one succeeds.
// ErrNotFound when it does not exist, was used, or has expired at now.
func (st *Store) UseSignInToken(ctx context.Context, hash string, now time.Time) (*SignInToken, error) {
	out, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &st.table, Key: signInKey(hash),
		ConditionExpression:       aws.String("attribute_exists(PK) AND expires_at > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": n(now.Unix())},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		return nil, fmt.Errorf("store: sign-in token: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: use sign-in token: %w", err)
	}
	return signInToken(hash, out.Attributes, now)
}

func signInToken(hash string, item map[string]types.AttributeValue, now time.Time) (*SignInToken, error) {
	if item == nil || expiresAt(item) <= now.Unix() {
		return nil, fmt.Errorf("store: sign-in token: %w", ErrNotFound)
	}
	return &SignInToken{Hash: hash, Kind: SessionKind(stringOf(item["kind"])), Operator: stringOf(item["operator"]),
		ProgramID: stringOf(item["program_id"]), Code: stringOf(item["code"]),
		ExpiresAt: time.Unix(expiresAt(item), 0).UTC()}, nil
}

func expiresAt(item map[string]types.AttributeValue) int64 {
	return numberAttr(item, attrExpires)
}

// Kinds of values the portal limits (keyed-hash kinds, internal/privacy).
const (
	LimitEmail privacy.Kind = privacy.Email
	LimitIP    privacy.Kind = "ip"
)

// Hit counts one request of value (an email or an IP address, kind) in
// scope within the current window of the given length, and returns how
// many there were in the window, this one included. Windows are fixed
// (aligned on multiples of window since the epoch); the counter expires
// with its window. The key holds the keyed hash of value (WithKeys).
func (st *Store) Hit(ctx context.Context, scope string, kind privacy.Kind, value string, window time.Duration, now time.Time) (int, error) {
	h, err := st.hasher(ctx)
	if err != nil {
		return 0, err
	}
	start := now.Truncate(window)
	pk := "RATE#" + scope + "#" + h.Hash(kind, value) + "#" + strconv.FormatInt(start.Unix(), 10)
	out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: key(pk, "RATE"),
		UpdateExpression:          aws.String("ADD #c :one SET expires_at = :exp"),
		ExpressionAttributeNames:  map[string]string{"#c": "count"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1), ":exp": n(start.Add(window).Unix())},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("store: rate limit: %w", err)
	}
	return int(numberAttr(out.Attributes, "count")), nil
}
