package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/billing"
	"github.com/referflow/referflow/internal/events"
)

// Stripe Billing items (internal/billing: subscription rewards):
//
//	STRIPE-CUSTOMER#<cus> / LINK                   the customer's referral, its first paid invoice and cancellation
//	REFERRAL#<id>         / STRIPE-CUSTOMER#<cus>  the same link seen from the referral (erased with the person)
//	STRIPE-INVOICE#<in>   / INVOICE                an invoice: its referral, when paid, when refunded
//
// None holds personal data: Stripe ids, referral ids and times only. The
// links are deleted when the referee's personal data is erased, so the
// erased person's later invoices are no longer tied to the referral by
// Referflow's records.

var _ billing.Store = (*Store)(nil)

func stripeLinkKey(customerID string) map[string]types.AttributeValue {
	return key("STRIPE-CUSTOMER#"+customerID, "LINK")
}

func stripeBackKey(referralID, customerID string) map[string]types.AttributeValue {
	return key("REFERRAL#"+referralID, "STRIPE-CUSTOMER#"+customerID)
}

func stripeInvoiceKey(invoiceID string) map[string]types.AttributeValue {
	return key("STRIPE-INVOICE#"+invoiceID, "INVOICE")
}

// StripeLink returns the link of Stripe customer customerID, or ErrNotFound.
func (st *Store) StripeLink(ctx context.Context, customerID string) (billing.Link, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: stripeLinkKey(customerID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return billing.Link{}, fmt.Errorf("store: get stripe link: %w", err)
	}
	id := stringOf(out.Item["referral_id"])
	if id == "" {
		return billing.Link{}, fmt.Errorf("store: stripe link %s: %w", customerID, ErrNotFound)
	}
	l := billing.Link{CustomerID: customerID, ReferralID: id, StartedAt: stripeTime(out.Item["started_at"])}
	if t := stripeTime(out.Item["ended_at"]); !t.IsZero() {
		l.EndedAt = &t
	}
	return l, nil
}

// PutStripeLink ties Stripe customer customerID to referral referralID,
// with the referral's back reference, in one transaction. The first link
// wins: it returns the link as it stands after the call.
func (st *Store) PutStripeLink(ctx context.Context, customerID, referralID string, now time.Time) (billing.Link, error) {
	link := stripeLinkKey(customerID)
	link["referral_id"], link["customer_id"], link["created_at"] = s(referralID), s(customerID), s(ts(now))
	back := stripeBackKey(referralID, customerID)
	back["customer_id"], back["created_at"] = s(customerID), s(ts(now))
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &st.table, Item: link, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: &st.table, Item: back}},
	}})
	if err != nil && !onlyConditionFailed(err) {
		return billing.Link{}, fmt.Errorf("store: put stripe link: %w", err)
	}
	return st.StripeLink(ctx, customerID)
}

// StartStripeSubscription records that an invoice of customerID was paid
// at paidAt: the link's start becomes the earliest such time. It returns
// the link after the call; ErrNotFound when the customer is not linked.
func (st *Store) StartStripeSubscription(ctx context.Context, customerID string, paidAt time.Time) (billing.Link, error) {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: stripeLinkKey(customerID),
		UpdateExpression:          aws.String("SET started_at = :t"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND (attribute_not_exists(started_at) OR started_at > :t)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": s(ts(paidAt))},
	})
	if err != nil && !conditionFailed(err) {
		return billing.Link{}, fmt.Errorf("store: start stripe subscription: %w", err)
	}
	return st.StripeLink(ctx, customerID)
}

// EndStripeSubscription records that customerID's subscription ended at
// at (the first end recorded stays). It reports whether the customer is
// linked.
func (st *Store) EndStripeSubscription(ctx context.Context, customerID string, at time.Time) (bool, error) {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: stripeLinkKey(customerID),
		UpdateExpression:          aws.String("SET ended_at = if_not_exists(ended_at, :t)"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": s(ts(at))},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: end stripe subscription: %w", err)
	}
	return true, nil
}

// StripeInvoice returns what is recorded of invoiceID (a zero record with
// the id when nothing is).
func (st *Store) StripeInvoice(ctx context.Context, invoiceID string) (billing.InvoiceRecord, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: stripeInvoiceKey(invoiceID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return billing.InvoiceRecord{}, fmt.Errorf("store: get stripe invoice: %w", err)
	}
	r := billing.InvoiceRecord{InvoiceID: invoiceID, ReferralID: stringOf(out.Item["referral_id"])}
	if t := stripeTime(out.Item["paid_at"]); !t.IsZero() {
		r.PaidAt = &t
	}
	if t := stripeTime(out.Item["refunded_at"]); !t.IsZero() {
		r.RefundedAt = &t
	}
	return r, nil
}

// MarkInvoicePaid records that invoiceID of referralID was paid at paidAt,
// with ev (its entry in the referral's history), once: a repeat writes
// nothing and reports false.
func (st *Store) MarkInvoicePaid(ctx context.Context, invoiceID, referralID string, paidAt time.Time, ev events.Event) (bool, error) {
	return st.markInvoice(ctx, invoiceID, referralID, "paid_at", paidAt, &ev)
}

// MarkInvoiceRefunded records that invoiceID was refunded or credited at
// at, once, with ev when the invoice's referral is known (ev nil: the
// refund arrived before anything tied the invoice to a referral; it is
// still recorded, so a later invoice.paid finds it). A repeat writes
// nothing and reports false.
func (st *Store) MarkInvoiceRefunded(ctx context.Context, invoiceID, referralID string, at time.Time, ev *events.Event) (bool, error) {
	return st.markInvoice(ctx, invoiceID, referralID, "refunded_at", at, ev)
}

// markInvoice sets attr of the invoice's item to at, only when it is not
// set, with the referral id when known, and ev in the same transaction.
func (st *Store) markInvoice(ctx context.Context, invoiceID, referralID, attr string, at time.Time, ev *events.Event) (bool, error) {
	vals := map[string]types.AttributeValue{":t": s(ts(at)), ":in": s(invoiceID)}
	expr := "SET #a = :t, invoice_id = :in"
	if referralID != "" {
		expr += ", referral_id = if_not_exists(referral_id, :r)"
		vals[":r"] = s(referralID)
	}
	tx := []types.TransactWriteItem{{Update: &types.Update{TableName: &st.table, Key: stripeInvoiceKey(invoiceID),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String("attribute_not_exists(#a)"),
		ExpressionAttributeNames: map[string]string{"#a": attr}, ExpressionAttributeValues: vals}}}
	if ev != nil {
		put, err := st.putEvent(*ev)
		if err != nil {
			return false, err
		}
		tx = append(tx, put)
	}
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
	if onlyConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: mark stripe invoice %s: %w", attr, err)
	}
	return true, nil
}

// eraseStripeLinks deletes every Stripe customer link of referral id (the
// link and its back reference), for the person's erasure (erase.go).
func (st *Store) eraseStripeLinks(ctx context.Context, id string) error {
	var customers []string
	err := st.queryPrefix(ctx, "REFERRAL#"+id, "STRIPE-CUSTOMER#", func(item map[string]types.AttributeValue) error {
		if c := stringOf(item["customer_id"]); c != "" {
			customers = append(customers, c)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: stripe links of %s: %w", id, err)
	}
	for _, c := range customers {
		// The link only while it is still this referral's; the back
		// reference in any case.
		_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table, Key: stripeLinkKey(c),
			ConditionExpression:       aws.String("referral_id = :r"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":r": s(id)}})
		if err != nil && !conditionFailed(err) {
			return fmt.Errorf("store: erase stripe link: %w", err)
		}
		if _, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table, Key: stripeBackKey(id, c)}); err != nil {
			return fmt.Errorf("store: erase stripe link: %w", err)
		}
	}
	return nil
}

// stripeTime reads a time the table stores with ts (zero when absent or
// not one).
func stripeTime(v types.AttributeValue) time.Time {
	t, err := time.Parse("2006-01-02T15:04:05.000Z", stringOf(v))
	if err != nil {
		return time.Time{}
	}
	return t
}
