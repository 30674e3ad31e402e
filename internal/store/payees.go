package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/program"
)

// Payees: who a reward is paid to (internal/payees).
//
//	PROGRAM#<program> / PAYEE#<key>   a partner's payout method and details (<key>: Partner.Key)
//	REFERRAL#<id>     / PAYEE         the referee's (the new customer's) payee
//
// The details are personal data: only these items hold them, never a key
// (keys hold the partner key or the referral id), and the table's stream
// publishes nothing but events. A referee's payee is erased with the
// referee's other personal data (ErasePerson). Each item records who
// changed it last and when (updated_by, updated_at); no event is recorded.

var (
	_ payees.Store  = (*Store)(nil)
	_ payees.Source = (*Store)(nil)
)

func partnerPayeeKey(programID, partnerKey string) map[string]types.AttributeValue {
	return key("PROGRAM#"+programID, "PAYEE#"+partnerKey)
}

func refereePayeeKey(referralID string) map[string]types.AttributeValue {
	return key("REFERRAL#"+referralID, "PAYEE")
}

// PartnerKey is the lifelong key of the partner holding code in program
// now (CurrentPartner: a changed code finds its partner). ErrNotFound when
// there is no such partner.
func (st *Store) PartnerKey(ctx context.Context, programID, code string) (string, error) {
	p, err := st.CurrentPartner(ctx, programID, code)
	if err != nil {
		return "", err
	}
	return p.Key, nil
}

func payeeItem(k map[string]types.AttributeValue, r payees.Record) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return nil, fmt.Errorf("store: marshal payee: %w", err)
	}
	for a, v := range k {
		item[a] = v
	}
	return item, nil
}

func decodePayee(item map[string]types.AttributeValue) (*payees.Record, error) {
	var r payees.Record
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return nil, fmt.Errorf("store: decode payee: %w", err)
	}
	return &r, nil
}

// PutPartnerPayee records r as the payee of the partner with partnerKey in
// program, replacing any it had.
func (st *Store) PutPartnerPayee(ctx context.Context, programID, partnerKey string, r payees.Record) error {
	item, err := payeeItem(partnerPayeeKey(programID, partnerKey), r)
	if err != nil {
		return err
	}
	item["program_id"], item["partner_key"] = s(programID), s(partnerKey)
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item})
	return wrapErr("put partner payee", err)
}

// PutRefereePayee records r as the payee of referral referralID's referee,
// replacing any it had, in one transaction with a check that the referral
// exists: ErrNotFound when it does not (nothing is written).
func (st *Store) PutRefereePayee(ctx context.Context, referralID string, r payees.Record) error {
	item, err := payeeItem(refereePayeeKey(referralID), r)
	if err != nil {
		return err
	}
	item["referral_id"] = s(referralID)
	err = st.transact(ctx, []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{TableName: &st.table, Key: referralKey(referralID), ConditionExpression: aws.String("attribute_exists(PK)")}},
		{Put: &types.Put{TableName: &st.table, Item: item}},
	})
	if onlyConditionFailed(err) {
		return fmt.Errorf("store: referral %s: %w", referralID, ErrNotFound)
	}
	return wrapErr("put referee payee", err)
}

// PartnerPayee reads the payee of the partner with partnerKey in program;
// ErrNotFound when it has none.
func (st *Store) PartnerPayee(ctx context.Context, programID, partnerKey string) (*payees.Record, error) {
	return st.payee(ctx, partnerPayeeKey(programID, partnerKey))
}

// RefereePayee reads the payee of referral referralID's referee;
// ErrNotFound when it has none.
func (st *Store) RefereePayee(ctx context.Context, referralID string) (*payees.Record, error) {
	return st.payee(ctx, refereePayeeKey(referralID))
}

func (st *Store) payee(ctx context.Context, k map[string]types.AttributeValue) (*payees.Record, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get payee: %w", err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("store: payee: %w", ErrNotFound)
	}
	return decodePayee(out.Item)
}

// DeletePartnerPayee removes the payee of the partner with partnerKey in
// program; ErrNotFound when it had none.
func (st *Store) DeletePartnerPayee(ctx context.Context, programID, partnerKey string) error {
	return st.deletePayee(ctx, partnerPayeeKey(programID, partnerKey))
}

// DeleteRefereePayee removes the payee of referral referralID's referee;
// ErrNotFound when it had none.
func (st *Store) DeleteRefereePayee(ctx context.Context, referralID string) error {
	return st.deletePayee(ctx, refereePayeeKey(referralID))
}

func (st *Store) deletePayee(ctx context.Context, k map[string]types.AttributeValue) error {
	_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table, Key: k, ConditionExpression: aws.String("attribute_exists(PK)")})
	if conditionFailed(err) {
		return fmt.Errorf("store: payee: %w", ErrNotFound)
	}
	return wrapErr("delete payee", err)
}

// PayeeOf reads the payee a reward of party in referral referralID of
// program is paid to: the referee's own (program.PartyReferee), or the
// payee of the partner the referral is filed under (program.PartyReferrer:
// its partner key, else its referrer code). ErrNotFound when there is none
// (or no such referral).
func (st *Store) PayeeOf(ctx context.Context, programID, party, referralID string) (*payees.Record, error) {
	switch party {
	case program.PartyReferee:
		return st.RefereePayee(ctx, referralID)
	case program.PartyReferrer:
	default:
		return nil, fmt.Errorf("store: payee of party %q: no such party", party)
	}
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: referralKey(referralID), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String(attrPartnerKey + ", referrer_code")})
	if err != nil {
		return nil, fmt.Errorf("store: read referral partner: %w", err)
	}
	partner := stringOf(out.Item[attrPartnerKey])
	if partner == "" {
		partner = stringOf(out.Item["referrer_code"])
	}
	if partner == "" {
		return nil, fmt.Errorf("store: referral %s: %w", referralID, ErrNotFound)
	}
	return st.PartnerPayee(ctx, programID, partner)
}
