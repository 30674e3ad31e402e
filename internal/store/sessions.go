package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Sessions of people signed in to the partner portal and the operator
// console.
//
//	SESSION#<sha256 of the session id> / SESSION   a signed-in partner or operator (TTL: the session's end)
//
// The session id lives only in the person's cookie; the table holds its
// SHA-256, so reading the table does not let anyone sign in. An item
// without a kind (written before kinds existed) is a partner's.

// SessionKind says who a session (or a sign-in token) is for: a surface
// accepts only its own kind, so a partner's session never opens the
// console.
type SessionKind string

// Kinds of sessions and sign-in tokens.
const (
	SessionPartner  SessionKind = ""         // a partner of a program (the portal)
	SessionOperator SessionKind = "operator" // an operator of the deployment (the console)
)

// Session is a signed-in partner of a program, or a signed-in operator.
type Session struct {
	Hash      string // hex SHA-256 of the session id in the cookie
	Kind      SessionKind
	ProgramID string // a partner's program
	Code      string // a partner's code
	Operator  string // an operator's email (staff, listed by the deployment)
	CreatedAt time.Time
	ExpiresAt time.Time
}

func sessionKey(hash string) map[string]types.AttributeValue { return key("SESSION#"+hash, "SESSION") }

// CreateSession stores a new session (ErrConflict: the hash is taken,
// draw another id). It expires at s.ExpiresAt.
func (st *Store) CreateSession(ctx context.Context, sess Session) error {
	item := sessionKey(sess.Hash)
	item["program_id"], item["code"] = s(sess.ProgramID), s(sess.Code)
	if sess.Kind != SessionPartner {
		item["kind"], item["operator"] = s(string(sess.Kind)), s(sess.Operator)
	}
	item["created_at"], item[attrExpires] = s(ts(sess.CreatedAt)), n(sess.ExpiresAt.Unix())
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if conditionFailed(err) {
		return fmt.Errorf("store: session: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SessionAt reads a session; ErrNotFound when there is none or it has
// expired at now (TTL deletes lazily).
func (st *Store) SessionAt(ctx context.Context, hash string, now time.Time) (*Session, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: sessionKey(hash), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get session: %w", err)
	}
	if out.Item == nil || expiresAt(out.Item) <= now.Unix() {
		return nil, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	created, _ := time.Parse("2006-01-02T15:04:05.000Z", stringOf(out.Item["created_at"]))
	return &Session{Hash: hash, Kind: SessionKind(stringOf(out.Item["kind"])), Operator: stringOf(out.Item["operator"]),
		ProgramID: stringOf(out.Item["program_id"]), Code: stringOf(out.Item["code"]),
		CreatedAt: created, ExpiresAt: time.Unix(expiresAt(out.Item), 0).UTC()}, nil
}

// DeleteSession ends a session (signing out); ending one that does not
// exist succeeds.
func (st *Store) DeleteSession(ctx context.Context, hash string) error {
	if _, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table, Key: sessionKey(hash)}); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}
