package billing

import "time"

// Link ties a Stripe customer to the referral that brought it, with its
// subscription's term as Referflow saw it. It holds ids and times only:
// never the customer's email or name.
type Link struct {
	CustomerID string
	ReferralID string
	// StartedAt is when the earliest paid invoice seen was paid (zero
	// before the first); EndedAt when the subscription was cancelled.
	StartedAt time.Time
	EndedAt   *time.Time
}

// InvoiceRecord is what Referflow keeps of one Stripe invoice: which
// referral it belongs to (once known), when it was paid and when it was
// refunded or credited, whichever came first.
type InvoiceRecord struct {
	InvoiceID  string
	ReferralID string
	PaidAt     *time.Time
	RefundedAt *time.Time
}
