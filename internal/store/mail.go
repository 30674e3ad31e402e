package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/privacy"
)

// Emails (functions/notify, internal/notify).
//
//	MAIL#<key>#<h>            / MAIL                   one email's claim (TTL 30 days)
//	PROGRAM#<id>              / MAILPREF#<subscriber>  the kinds a subscriber switched off
//	PROGRAM#<id>              / MAILMONTH#<month>#<code> a partner's activity in a month (TTL 100 days)
//	MAILMONTH#<month>         / PROGRAM#<id>           programs with partner activity in a month (TTL 100 days)
//
// <key> is what an email is sent once for (an event id, or a referral and
// milestone), <h> the keyed hash of the recipient's email
// (internal/privacy): no key holds an address. A claim is taken with a
// conditional put before sending, so a repeated event sends nothing.

// MailClaimTTL is how long a claim is kept: longer than EventBridge
// retries an event (24 hours).
const MailClaimTTL = 30 * 24 * time.Hour

// MailLease is how long a claim whose sending never finished (the function
// stopped between claim and send) blocks another attempt.
const MailLease = 5 * time.Minute

// mailActivityTTL keeps a month's activity until its summary is long sent.
const mailActivityTTL = 100 * 24 * time.Hour

// Claim states of an email.
const (
	MailSending = "sending"
	MailSent    = "sent"
	MailFailed  = "failed" // refused for good (mail.ErrInvalid)
)

// MailClaim is what ClaimMail found.
type MailClaim int

// Outcomes of ClaimMail.
const (
	// MailClaimed: this call claimed the email: send it, then FinishMail,
	// or ReleaseMail when sending failed and may succeed later.
	MailClaimed MailClaim = iota
	// MailDone: the email was sent, or refused for good, before.
	MailDone
	// MailInFlight: another attempt claimed it less than MailLease ago.
	MailInFlight
)

func (st *Store) mailKey(ctx context.Context, key, recipient string) (map[string]types.AttributeValue, error) {
	h, err := st.hasher(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]types.AttributeValue{"PK": s("MAIL#" + key + "#" + h.Hash(privacy.Email, recipient)), "SK": s("MAIL")}, nil
}

// ClaimMail claims the email of kind sent once for key to recipient
// (an address, kept only as its keyed hash). A claim still sending after
// MailLease is taken over (the attempt that held it stopped).
func (st *Store) ClaimMail(ctx context.Context, key, recipient, kind string, now time.Time) (MailClaim, error) {
	item, err := st.mailKey(ctx, key, recipient)
	if err != nil {
		return 0, err
	}
	item["kind"], item["status"], item["claimed_at"] = s(kind), s(MailSending), s(ts(now))
	item["expires_at"] = n(now.Add(MailClaimTTL).Unix())
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &st.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR (#s = :sending AND claimed_at < :stale)"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":sending": s(MailSending), ":stale": s(ts(now.Add(-MailLease)))},
	})
	switch {
	case err == nil:
		return MailClaimed, nil
	case !conditionFailed(err):
		return 0, fmt.Errorf("store: claim mail: %w", err)
	}
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: keyOf(item), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, fmt.Errorf("store: read mail claim: %w", err)
	}
	if v, _ := out.Item["status"].(*types.AttributeValueMemberS); v != nil && v.Value == MailSending {
		return MailInFlight, nil
	}
	return MailDone, nil
}

// FinishMail records how the claimed email ended: MailSent with SES's
// message id, or MailFailed with why (no personal data).
func (st *Store) FinishMail(ctx context.Context, key, recipient, status, detail string, now time.Time) error {
	k, err := st.mailKey(ctx, key, recipient)
	if err != nil {
		return err
	}
	_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: k,
		UpdateExpression:          aws.String("SET #s = :s, detail = :d, finished_at = :t"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": s(status), ":d": s(detail), ":t": s(ts(now))},
	})
	if err != nil {
		return fmt.Errorf("store: finish mail: %w", err)
	}
	return nil
}

// ReleaseMail deletes a claim still sending, so a retry of the event sends
// the email (sending failed in a way that may pass).
func (st *Store) ReleaseMail(ctx context.Context, key, recipient string) error {
	k, err := st.mailKey(ctx, key, recipient)
	if err != nil {
		return err
	}
	_, err = st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &st.table, Key: k,
		ConditionExpression:       aws.String("#s = :sending"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":sending": s(MailSending)},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("store: release mail: %w", err)
	}
	return nil
}

func keyOf(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"PK": item["PK"], "SK": item["SK"]}
}

func mailPrefKey(programID, subscriber string) map[string]types.AttributeValue {
	return key("PROGRAM#"+programID, "MAILPREF#"+subscriber)
}

// MailOff returns the kinds of email subscriber (internal/notify
// Subscriber.Key: a code or an email hash) switched off in program.
func (st *Store) MailOff(ctx context.Context, programID, subscriber string) ([]string, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: mailPrefKey(programID, subscriber), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get mail preferences: %w", err)
	}
	if ss, ok := out.Item["off"].(*types.AttributeValueMemberSS); ok {
		return ss.Value, nil
	}
	return nil, nil
}

// SetMailOff replaces the kinds subscriber switched off (none removes the
// attribute: DynamoDB has no empty sets).
func (st *Store) SetMailOff(ctx context.Context, programID, subscriber string, off []string, now time.Time) error {
	item := mailPrefKey(programID, subscriber)
	item["updated_at"] = s(ts(now))
	if len(off) > 0 {
		item["off"] = &types.AttributeValueMemberSS{Value: off}
	}
	if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item}); err != nil {
		return fmt.Errorf("store: put mail preferences: %w", err)
	}
	return nil
}

// MailActivity is what a partner did in a month, as the notify function
// saw it from events: the referrals they made, their rewards created and
// paid. Sets, so a repeated event adds nothing.
type MailActivity struct {
	Referrals []string `dynamodbav:"referrals,stringset,omitempty"`
	// Rewards and Paid hold "<referral id>|<milestone>|<party>".
	Rewards []string `dynamodbav:"rewards,stringset,omitempty"`
	Paid    []string `dynamodbav:"paid,stringset,omitempty"`
}

// ActivityField names a set of MailActivity.
type ActivityField string

// Sets of MailActivity.
const (
	ActivityReferrals ActivityField = "referrals"
	ActivityRewards   ActivityField = "rewards"
	ActivityPaid      ActivityField = "paid"
)

func mailMonthKey(programID, month, code string) map[string]types.AttributeValue {
	return key("PROGRAM#"+programID, "MAILMONTH#"+month+"#"+code)
}

// RecordMailActivity adds value to set f of partner code's activity in
// month ("2026-03") of program, and files the program under the month.
func (st *Store) RecordMailActivity(ctx context.Context, programID, code, month string, f ActivityField, value string, now time.Time) error {
	exp := n(now.Add(mailActivityTTL).Unix())
	err := st.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &st.table, Key: mailMonthKey(programID, month, code),
			UpdateExpression:          aws.String("ADD #f :v SET expires_at = :exp"),
			ExpressionAttributeNames:  map[string]string{"#f": string(f)},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberSS{Value: []string{value}}, ":exp": exp},
		}},
		{Put: &types.Put{TableName: &st.table, Item: map[string]types.AttributeValue{
			"PK": s("MAILMONTH#" + month), "SK": s("PROGRAM#" + programID), "program_id": s(programID), "expires_at": exp,
		}}},
	})
	if err != nil {
		return fmt.Errorf("store: record mail activity: %w", err)
	}
	return nil
}

// MailActivityOf reads partner code's activity in month; nil when none.
func (st *Store) MailActivityOf(ctx context.Context, programID, code, month string) (*MailActivity, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: mailMonthKey(programID, month, code), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get mail activity: %w", err)
	}
	if out.Item == nil {
		return nil, nil
	}
	var a MailActivity
	if err := attributevalue.UnmarshalMap(out.Item, &a); err != nil {
		return nil, fmt.Errorf("store: decode mail activity: %w", err)
	}
	return &a, nil
}

// MailPrograms lists the programs with partner activity in month.
func (st *Store) MailPrograms(ctx context.Context, month string) ([]string, error) {
	var out []string
	err := st.queryPrefix(ctx, "MAILMONTH#"+month, "PROGRAM#", func(it map[string]types.AttributeValue) error {
		out = append(out, strings.TrimPrefix(it["SK"].(*types.AttributeValueMemberS).Value, "PROGRAM#"))
		return nil
	})
	return out, err
}
