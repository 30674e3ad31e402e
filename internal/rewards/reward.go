// Package rewards owns a reward's whole life: what a milestone pays
// (amount.go: fixed or percent of the deal, floors, ceilings, tiers), the
// spending limits it is reserved against (limits.go: program budget and
// referrer caps per period), its statuses and ledger entries (this file),
// and the lifecycle operations (service.go: hold, pay, approve, decline;
// loss.go: what a lost, deleted or refunded deal voids and reverses) over
// a narrow Repository, paying through a Payout (payout.go; the ledger is
// the first).
//
// Every reward has a deterministic id (referral, milestone, party) so that
// retries, redrives and duplicate webhooks can never create a second one; a
// paid reward's status and amount never change (a reversal is a new ledger
// entry, and marks the reward with its time: ReversedAt). Nothing
// here reads a clock or a table directly: both are injected.
package rewards

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Status is where a reward stands (docs/api.md, "Reward statuses").
type Status string

// Reward statuses.
const (
	StatusPending  Status = "pending"  // computed, waiting
	StatusOnHold   Status = "on_hold"  // in its holding period
	StatusApproved Status = "approved" // cleared for payout
	// StatusSending: claimed for its rail and sent, or about to be; the
	// outcome is being established. It is never sent again before the
	// rail's records (Rail.Find) say it was not paid.
	StatusSending Status = "sending"
	StatusPaid    Status = "paid"   // written to the ledger as payable / paid out
	StatusFailed  Status = "failed" // needs attention
	StatusVoided  Status = "voided" // cancelled before payout
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
	// ReversedAt is when a reversal entry clawed the paid reward back (its
	// whole amount); nil when it was not (or was reversed before rewards
	// recorded it: the ledger has the entry).
	ReversedAt *time.Time `dynamodbav:"reversed_at,omitempty" json:"reversed_at,omitempty"`
	// IdempotencyKey is what a payout provider is called with; derived from
	// the reward id so a repeated call can only ever find the first payout.
	IdempotencyKey string `dynamodbav:"idempotency_key" json:"idempotency_key"`
	// Generation is bumped only by an operator's explicit re-arm of a
	// failed reward (Service.Rearm): the key becomes KeyFor(ID, Generation).
	Generation int `dynamodbav:"generation,omitempty" json:"generation,omitempty"`
	// Rail is the rail the reward was claimed for ("" before its claim).
	Rail string `dynamodbav:"rail,omitempty" json:"rail,omitempty"`
	// Reference is the rail's id for the payment, once paid.
	Reference string `dynamodbav:"reference,omitempty" json:"reference,omitempty"`
	// InvoiceID is the Stripe invoice a subscription reward pays for (its
	// Milestone is "invoice:<id>"); "" for a milestone's reward.
	InvoiceID string `dynamodbav:"invoice_id,omitempty" json:"invoice_id,omitempty"`
	// Limited is the reason the reward did not fit a spending limit of its
	// program ("budget exhausted", "cap reached", "waits for the next
	// period"), "" when it fitted: paying it anyway is an override.
	Limited string `dynamodbav:"limited,omitempty" json:"limited,omitempty"`
	// Reserved lists the spending counters (program budget, referrer cap)
	// the amount is reserved against, or counted on once paid; voiding the
	// reward, or reversing its payment, gives them back. Empty when the
	// program has no limits or the reward did not fit one, until a person
	// pays it anyway: that override counts it on the counters of the
	// period it is paid in.
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
func IdempotencyKey(rewardID string) string { return KeyFor(rewardID, 0) }

// KeyFor is the idempotency key of generation gen of reward id: the first
// generation's key is "referflow-<id>", a re-armed one's "referflow-<id>-g<gen>".
// At most 255 characters (Stripe's limit) for any id this package makes.
func KeyFor(rewardID string, gen int) string {
	if gen == 0 {
		return "referflow-" + rewardID
	}
	return fmt.Sprintf("referflow-%s-g%d", rewardID, gen)
}

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
	// Method is the payout rail that moved the money ("ledger": finance
	// pays from the export); Reference is the rail's id for the transfer.
	Method    string    `dynamodbav:"method,omitempty" json:"method,omitempty"`
	Reference string    `dynamodbav:"reference,omitempty" json:"reference,omitempty"`
	CreatedAt time.Time `dynamodbav:"created_at" json:"created_at"`
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

// ReversalEntry is the ledger entry that claws back paid reward r (a refund
// after payout): the same amount, negative. The paid reward keeps its
// status and amount (ReversedAt records the reversal); the reversal is
// written at most once per reward.
func ReversalEntry(r Reward, now time.Time) Entry {
	e := PayableEntry(r, now)
	e.ID = r.ID + ":" + string(EntryReversal)
	e.Type = EntryReversal
	e.AmountMinor = -r.AmountMinor
	return e
}

// LostError is the ErrDealLost a Repository returns when the referral's
// deal turned out lost, deleted or refunded in the transaction that was to
// pay (nothing was written): the loss as recorded on the referral.
type LostError struct {
	At     time.Time
	Reason string // "lost", "deleted", "refunded"
}

func (e *LostError) Error() string {
	return fmt.Sprintf("rewards: the deal was %s at %s", e.Reason, e.At.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrDealLost) true.
func (e *LostError) Is(target error) bool { return target == ErrDealLost }
