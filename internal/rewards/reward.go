// Package ledger holds rewards and the payout ledger finance pays from.
// Every reward has a deterministic id (referral, milestone, party) so that
// retries, redrives and duplicate webhooks can never create a second one;
// a paid reward is never changed (a reversal is a new entry).
package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Status is where a reward stands (api.md).
type Status string

// Reward statuses.
const (
	StatusPending  Status = "pending"  // computed, waiting
	StatusOnHold   Status = "on_hold"  // in its holding period
	StatusApproved Status = "approved" // cleared for payout
	StatusPaid     Status = "paid"     // written to the ledger as payable / paid out
	StatusFailed   Status = "failed"   // needs attention
	StatusVoided   Status = "voided"   // cancelled before payout
)

// Payable reports whether a reward in status s may still be paid.
func (s Status) Payable() bool {
	return s == StatusPending || s == StatusOnHold || s == StatusApproved
}

// Reward is what one party earns for one milestone of one referral.
type Reward struct {
	ID           string    `dynamodbav:"reward_id" json:"reward_id"`
	ReferralID   string    `dynamodbav:"referral_id" json:"referral_id"`
	ProgramID    string    `dynamodbav:"program_id" json:"program_id"`
	Milestone    string    `dynamodbav:"milestone" json:"milestone"`
	Party        string    `dynamodbav:"party" json:"party"`
	ReferrerCode string    `dynamodbav:"referrer_code" json:"referrer_code"`
	Kind         string    `dynamodbav:"kind" json:"kind"`
	AmountMinor  int64     `dynamodbav:"amount_minor" json:"amount_minor"`
	Currency     string    `dynamodbav:"currency" json:"currency"`
	Description  string    `dynamodbav:"description,omitempty" json:"description,omitempty"`
	Status       Status    `dynamodbav:"status" json:"status"`
	StatusReason string    `dynamodbav:"status_reason,omitempty" json:"status_reason,omitempty"`
	HoldUntil    time.Time `dynamodbav:"hold_until" json:"hold_until"`
	// NeedsApproval: at or above the program's approval threshold, so a
	// person approves it (the admin API pays it to the ledger then).
	NeedsApproval bool       `dynamodbav:"needs_approval" json:"needs_approval"`
	CreatedAt     time.Time  `dynamodbav:"created_at" json:"created_at"`
	UpdatedAt     time.Time  `dynamodbav:"updated_at" json:"updated_at"`
	PaidAt        *time.Time `dynamodbav:"paid_at,omitempty" json:"paid_at,omitempty"`
	// IdempotencyKey is what a payout provider is called with; derived from
	// the reward id so a repeated call can only ever find the first payout.
	IdempotencyKey string `dynamodbav:"idempotency_key" json:"idempotency_key"`
	// Reserved lists the spending counters (program budget, referrer cap)
	// the amount is reserved against; voiding the reward releases them.
	// Empty when the program has no limits or the reward did not fit one.
	Reserved []Reservation `dynamodbav:"reserved,omitempty" json:"reserved,omitempty"`
}

// Reservation is an amount of a reward counted against one spending
// counter of its program (identified by the counter's sort key).
type Reservation struct {
	Counter     string `dynamodbav:"counter" json:"counter"`
	AmountMinor int64  `dynamodbav:"amount_minor" json:"amount_minor"`
}

// RewardID is the deterministic id of the reward for party at milestone of
// referral: the same inputs always give the same id.
func RewardID(referralID, milestone, party string) string {
	sum := sha256.Sum256([]byte(referralID + "\x00" + milestone + "\x00" + party))
	return "rw_" + hex.EncodeToString(sum[:12])
}

// IdempotencyKey is the key a payout provider receives for reward id.
func IdempotencyKey(rewardID string) string { return "referflow-" + rewardID }

// EntryType says what a ledger entry records.
type EntryType string

// Ledger entry types.
const (
	EntryPayable  EntryType = "payable"  // money owed to a party
	EntryReversal EntryType = "reversal" // clawback of a paid reward
)

// Entry is one immutable line of the ledger. Finance pays payable entries
// and exports them by period.
type Entry struct {
	ID           string    `dynamodbav:"entry_id" json:"entry_id"`
	Type         EntryType `dynamodbav:"type" json:"type"`
	RewardID     string    `dynamodbav:"reward_id" json:"reward_id"`
	ReferralID   string    `dynamodbav:"referral_id" json:"referral_id"`
	ProgramID    string    `dynamodbav:"program_id" json:"program_id"`
	Milestone    string    `dynamodbav:"milestone" json:"milestone"`
	Party        string    `dynamodbav:"party" json:"party"`
	ReferrerCode string    `dynamodbav:"referrer_code" json:"referrer_code"`
	Kind         string    `dynamodbav:"kind" json:"kind"`
	AmountMinor  int64     `dynamodbav:"amount_minor" json:"amount_minor"`
	Currency     string    `dynamodbav:"currency" json:"currency"`
	Period       string    `dynamodbav:"period" json:"period"` // "2026-11"
	CreatedAt    time.Time `dynamodbav:"created_at" json:"created_at"`
}

// PayableEntry is the ledger entry that pays reward r at time now.
func PayableEntry(r Reward, now time.Time) Entry {
	return Entry{
		ID:           r.ID + ":" + string(EntryPayable),
		Type:         EntryPayable,
		RewardID:     r.ID,
		ReferralID:   r.ReferralID,
		ProgramID:    r.ProgramID,
		Milestone:    r.Milestone,
		Party:        r.Party,
		ReferrerCode: r.ReferrerCode,
		Kind:         r.Kind,
		AmountMinor:  r.AmountMinor,
		Currency:     r.Currency,
		Period:       now.UTC().Format("2006-01"),
		CreatedAt:    now.UTC(),
	}
}

// exponents of currencies that do not use two decimals.
var exponents = map[string]int{"JPY": 0, "KRW": 0, "CLP": 0, "VND": 0, "ISK": 0, "HUF": 2, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}

// FormatMinor writes an amount in minor units as a decimal string in major
// units ("500.00" for 50000 USD cents).
func FormatMinor(minor int64, currency string) string {
	exp, ok := exponents[currency]
	if !ok {
		exp = 2
	}
	neg := minor < 0
	if neg {
		minor = -minor
	}
	div := int64(1)
	for i := 0; i < exp; i++ {
		div *= 10
	}
	s := fmt.Sprintf("%d", minor/div)
	if exp > 0 {
		s += fmt.Sprintf(".%0*d", exp, minor%div)
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ReversalEntry is the ledger entry that claws back paid reward r (a refund
// after payout): the same amount, negative. The paid reward itself is never
// changed; the reversal is written at most once per reward.
func ReversalEntry(r Reward, now time.Time) Entry {
	e := PayableEntry(r, now)
	e.ID = r.ID + ":" + string(EntryReversal)
	e.Type = EntryReversal
	e.AmountMinor = -r.AmountMinor
	return e
}
