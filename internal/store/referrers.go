package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/referral"
)

// Referrers (partners).
//
// A referrer is PROGRAM#<program> / REFERRER#<code>. Its code is reserved
// across the deployment by CODE#<code> / CODE (a link /r/<code> names no
// program). Its email is found for sign-in through
// PARTNER-EMAIL#<h> / PROGRAM#<program>, <h> the keyed hash of the email
// (internal/privacy): the item names the program and the code, never the
// email. All three are written in one transaction, so an email holds at
// most one partner per program and a code at most one partner in the
// deployment.
//
// A partner keeps one key for life (partner_key: its first code): its
// referrals are filed under it (partners.go), so changing the code keeps
// them attributed. A changed code stays reserved to the program, and is
// recorded in previous_codes; the referrals made with it keep it.

// ErrCodeTaken is returned when a referral code is already another
// referrer's (in any program: a link /r/<code> names no program).
var ErrCodeTaken = errors.New("store: referral code taken")

// ErrPartnerExists is returned when the email already holds a partner
// (another code) in the program.
var ErrPartnerExists = errors.New("store: this email is already a partner of the program")

// Partner is a referrer with the facts the portal and operators need
// besides: its lifelong key and the codes it held before.
type Partner struct {
	referral.Referrer
	// Key files the partner's referrals and leaderboard counts; it never
	// changes (the first code; legacy referrers: their code).
	Key string `dynamodbav:"partner_key,omitempty" json:"key"`
	// PreviousCodes are the codes the partner held before, oldest first:
	// referrals made with them are the partner's.
	PreviousCodes []string `dynamodbav:"previous_codes,omitempty" json:"previous_codes,omitempty"`
}

// Holds reports whether code is the partner's code, now or before.
func (p *Partner) Holds(code string) bool {
	if code == p.Code {
		return true
	}
	for _, c := range p.PreviousCodes {
		if c == code {
			return true
		}
	}
	return false
}

// codeKey is the item that reserves a referral code across the deployment
// (CODE#<code> / CODE), naming the program whose referrer holds it.
func codeKey(code string) map[string]types.AttributeValue { return key("CODE#"+code, "CODE") }

func referrerKey(programID, code string) map[string]types.AttributeValue {
	return key("PROGRAM#"+programID, "REFERRER#"+code)
}

// partnerEmailKey is the sign-in lookup item of an email's partner in a
// program, under email hash h.
func partnerEmailKey(h, programID string) map[string]types.AttributeValue {
	return key("PARTNER-EMAIL#"+h, "PROGRAM#"+programID)
}

func partnerItem(p Partner) (map[string]types.AttributeValue, error) {
	if p.Key == "" {
		p.Key = p.Code
	}
	item, err := attributevalue.MarshalMap(p)
	if err != nil {
		return nil, fmt.Errorf("store: marshal referrer: %w", err)
	}
	for k, v := range referrerKey(p.ProgramID, p.Code) {
		item[k] = v
	}
	return item, nil
}

// CreateReferrer stores a new referrer, reserves its code and files its
// email for sign-in, in one transaction: ErrCodeTaken when the code is
// held by any referrer of any program (draw another, or let the operator
// pick another), ErrPartnerExists when the email already holds another
// code in the program. It needs the store's keys (WithKeys).
func (st *Store) CreateReferrer(ctx context.Context, r referral.Referrer) error {
	return st.putReferrer(ctx, Partner{Referrer: r}, nil)
}

// PutReferrer creates or replaces a referrer (the operator's CLI and the
// seeds; the partner operations): its code stays reserved to it,
// ErrCodeTaken when another program's referrer holds the code,
// ErrPartnerExists when its email holds another code in the program. A
// replaced referrer keeps its key and previous codes, and a changed email
// moves its sign-in item. It needs the store's keys (WithKeys).
func (st *Store) PutReferrer(ctx context.Context, r referral.Referrer) error {
	cur, err := st.Partner(ctx, r.ProgramID, r.Code)
	switch {
	case errors.Is(err, ErrNotFound):
		cur = nil
	case err != nil:
		return err
	}
	p := Partner{Referrer: r}
	if cur != nil {
		p.Key, p.PreviousCodes = cur.Key, cur.PreviousCodes
	}
	return st.putReferrer(ctx, p, cur)
}

// putReferrer writes p, its code reservation and its email item; cur is
// the item it replaces (nil: it must not exist).
func (st *Store) putReferrer(ctx context.Context, p Partner, cur *Partner) error {
	h, err := st.hasher(ctx)
	if err != nil {
		return err
	}
	item, err := partnerItem(p)
	if err != nil {
		return err
	}
	put := &types.Put{TableName: &st.table, Item: item}
	if cur == nil {
		put.ConditionExpression = aws.String("attribute_not_exists(PK)")
	}
	tx := []types.TransactWriteItem{{Put: put}, st.reserveCode(p.ProgramID, p.Code, "")}
	emailAt := len(tx)
	tx = append(tx, st.putPartnerEmail(h.Hash(privacy.Email, p.Email), p.ProgramID, p.Code, ""))
	if cur != nil && privacy.Normalize(privacy.Email, cur.Email) != privacy.Normalize(privacy.Email, p.Email) {
		tx = append(tx, st.deletePartnerEmail(h.Hash(privacy.Email, cur.Email), p.ProgramID, p.Code))
	}
	err = st.transact(ctx, tx)
	switch {
	case onlyConditionFailed(err) && conditionFailedAt(err, emailAt):
		return fmt.Errorf("store: referrer %s: %w", p.Code, ErrPartnerExists)
	case onlyConditionFailed(err):
		return fmt.Errorf("store: referrer %s: %w", p.Code, ErrCodeTaken)
	case err != nil:
		return fmt.Errorf("store: put referrer: %w", err)
	}
	return nil
}

// reserveCode is the write that reserves code to programID: free, or
// already the program's. A code given up by a change (movedTo) stays
// reserved, naming the code that replaced it.
func (st *Store) reserveCode(programID, code, movedTo string) types.TransactWriteItem {
	idx := codeKey(code)
	idx["program_id"], idx["code"] = s(programID), s(code)
	if movedTo != "" {
		idx["moved_to"] = s(movedTo)
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: &st.table, Item: idx,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR program_id = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s(programID)},
	}}
}

// putPartnerEmail files code as the partner of email hash h in programID:
// free, or already that code's (or, when from is set, that code's, which
// it replaces).
func (st *Store) putPartnerEmail(h, programID, code, from string) types.TransactWriteItem {
	item := partnerEmailKey(h, programID)
	item["program_id"], item["code"] = s(programID), s(code)
	if from == "" {
		from = code
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: &st.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR code = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": s(from)},
	}}
}

// deletePartnerEmail removes the sign-in item of email hash h, when it
// still names code.
func (st *Store) deletePartnerEmail(h, programID, code string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{
		TableName: &st.table, Key: partnerEmailKey(h, programID),
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR code = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": s(code)},
	}}
}

// Referrer reads the referrer with code in program, or ErrNotFound.
func (st *Store) Referrer(ctx context.Context, programID, code string) (*referral.Referrer, error) {
	p, err := st.Partner(ctx, programID, code)
	if err != nil {
		return nil, err
	}
	return &p.Referrer, nil
}

// Partner reads the partner with code in program (strongly consistent),
// or ErrNotFound.
func (st *Store) Partner(ctx context.Context, programID, code string) (*Partner, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: referrerKey(programID, code), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get referrer: %w", err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("store: referrer %s: %w", code, ErrNotFound)
	}
	return decodePartner(out.Item)
}

func decodePartner(item map[string]types.AttributeValue) (*Partner, error) {
	var p Partner
	if err := attributevalue.UnmarshalMap(item, &p); err != nil {
		return nil, fmt.Errorf("store: decode referrer: %w", err)
	}
	if p.Key == "" {
		p.Key = p.Code
	}
	return &p, nil
}

// ReferrerByCode reads the referrer holding code in whichever program, or
// ErrNotFound (a link /r/<code> names no program). A code its partner
// gave up (ChangeCode) is not found.
func (st *Store) ReferrerByCode(ctx context.Context, code string) (*referral.Referrer, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: codeKey(code)})
	if err != nil {
		return nil, fmt.Errorf("store: get code: %w", err)
	}
	p, ok := out.Item["program_id"].(*types.AttributeValueMemberS)
	if !ok {
		return nil, fmt.Errorf("store: code %s: %w", code, ErrNotFound)
	}
	return st.Referrer(ctx, p.Value, code)
}
