// Package events is the one seam for everything that reacts to a referral
// or a reward. Every change of a referral's or a reward's status is
// recorded as an Event in the same write as the change (the store takes the
// event with the change and writes both in one transaction), so a change
// without its event, or an event without its change, cannot exist.
// Consumers read events, never the functions: the activity log
// (internal/activity) today; KPI counters, emails, EventBridge and outbound
// webhooks subscribe the same way.
//
// An event carries ids, codes, statuses and amounts only: never a name, an
// email, a phone number or free text a person typed (invariant 5 in the
// README).
package events

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// SchemaVersion is the version of the Event shape; a consumer that finds a
// higher one than it knows skips the event rather than misread it.
const SchemaVersion = 1

// Type says what happened, as "<subject>.<verb>".
type Type string

// Referral events.
const (
	ReferralReceived  Type = "referral.received"   // intake stored it
	ReferralVerifying Type = "referral.verifying"  // verification began
	ReferralVerified  Type = "referral.verified"   // Data: outcome, reasons (codes)
	ReferralReason    Type = "referral.reason"     // Data: code (the message names emails and domains: it stays on the referral)
	ReferralReviewed  Type = "referral.reviewed"   // Data: outcome, by (admin or deadline)
	ReferralDealEvent Type = "referral.deal_event" // a CRM event applied; Data: provider, event_id, record_id, outcome, milestone, lost
	ReferralClosed    Type = "referral.closed"     // Status: completed, lost, expired or rejected
	ReferralContinued Type = "referral.continued"  // Data: from, to (execution names)
	// Recovery: Status needs_attention; Data: from (status), error, cause, execution.
	ReferralNeedsAttention Type = "referral.needs_attention"
	// Recovery: Status is the status it went back to; Data: from (status),
	// execution (the new one), after (what ended the previous one, reconciler only).
	ReferralResumed Type = "referral.resumed"
	// The referee's personal data was erased on request (no Data).
	ReferralErased Type = "referral.erased"

	// A subscription's invoices (internal/billing).
	InvoicePaid     Type = "invoice.paid"     // the referred customer paid a Stripe invoice; Data: invoice_id, amount_minor, currency
	InvoiceRefunded Type = "invoice.refunded" // that invoice was refunded or credited; Data: invoice_id
)

// Deal events: a CRM deal no referral is linked to (internal/crm), counted
// by the KPIs as an "other" deal (internal/kpis). ReferralID holds the
// deal's key (DealKey), not a referral; ProgramID the program whose stage
// mapping read it.
const (
	// DealObserved: a CRM event about the deal; Data: provider, event_id,
	// record_id, pipeline, outcome (a Deal* value), milestone and
	// milestone_index (outcome open or won), amount_minor and currency (when
	// known), occurred_at (RFC 3339, when the CRM said).
	DealObserved Type = "deal.observed"
)

// Outcomes of a deal.observed event under its program's stage mapping.
const (
	DealOpen    = "open"    // a milestone before the program's last
	DealWon     = "won"     // the program's last milestone
	DealLost    = "lost"    // a stage the program maps to lost
	DealDeleted = "deleted" // the deal was deleted in the CRM
	DealNone    = "none"    // nothing the mapping knows (an amount change)
)

// DealKey is the key of CRM record recordID of provider in deal events
// ("deal_" + 24 hex digits): stable, and free of whatever characters a
// record id holds.
func DealKey(provider, recordID string) string {
	sum := sha256.Sum256([]byte(provider + "\x00" + recordID))
	return "deal_" + hex.EncodeToString(sum[:12])
}

// Reward events. Each carries RewardID and Data: milestone, party, kind,
// amount_minor, currency.
const (
	RewardCreated          Type = "reward.created"           // Status on_hold or pending; Data: reason when it needs a person, rank
	RewardAwaitingApproval Type = "reward.awaiting_approval" // hold over, a person approves it
	RewardApproved         Type = "reward.approved"          // Data: paid_later when still on hold
	RewardPaid             Type = "reward.paid"              // Data: method, reference, override
	RewardVoided           Type = "reward.voided"            // Data: reason
	RewardReversed         Type = "reward.reversed"          // a paid reward clawed back by a reversal entry
	RewardWaiting          Type = "reward.waiting"           // held for its payout day or its party's payout method; Data: reason, rail, due
	RewardFailed           Type = "reward.failed"            // the rail refused it (or reversed it); Data: rail. A person re-arms or voids it
	RewardRearmed          Type = "reward.rearmed"           // a person retries a failed reward; Data: generation
	RewardRailReversal     Type = "reward.rail_reversal"     // a reversed reward's payment taken back at its rail; Data: rail, outcome (reversed|refused), reference
)

// Actors of events.
const (
	ActorIntake   = "intake"
	ActorWorkflow = "workflow"
	ActorAdmin    = "admin"
	// ActorReconciler is the scheduled reconciler (functions/reconcile);
	// ActorOperator the operator's CLI (infra/cmd/referflow).
	ActorReconciler = "reconciler"
	ActorOperator   = "operator"
)

// ActorWebhook is the actor of events a CRM webhook caused.
func ActorWebhook(provider string) string { return "webhook:" + provider }

// Event is one thing that happened to a referral or one of its rewards.
type Event struct {
	// ID is unique to this event, assigned when it is recorded (the store):
	// consumers are idempotent on it (one email, one delivery per event).
	ID             string            `dynamodbav:"id,omitempty" json:"id,omitempty"`
	Type           Type              `dynamodbav:"type" json:"type"`
	Version        int               `dynamodbav:"version" json:"version"`
	At             time.Time         `dynamodbav:"at" json:"at"`
	Actor          string            `dynamodbav:"actor" json:"actor"`
	ReferralID     string            `dynamodbav:"referral_id" json:"referral_id"`
	ProgramID      string            `dynamodbav:"program_id,omitempty" json:"program_id,omitempty"`
	ProgramVersion int               `dynamodbav:"program_version,omitempty" json:"program_version,omitempty"`
	RewardID       string            `dynamodbav:"reward_id,omitempty" json:"reward_id,omitempty"`
	Status         string            `dynamodbav:"status,omitempty" json:"status,omitempty"` // the status after the change
	Data           map[string]string `dynamodbav:"data,omitempty" json:"data,omitempty"`
}

// New returns an event of type t about referral id at time at (UTC).
func New(t Type, referralID, actor string, at time.Time) Event {
	return Event{Type: t, Version: SchemaVersion, At: at.UTC(), Actor: actor, ReferralID: referralID}
}

// With returns e with Data[k] = v (an empty v is left out).
func (e Event) With(k, v string) Event {
	if v == "" {
		return e
	}
	d := make(map[string]string, len(e.Data)+1)
	for k0, v0 := range e.Data {
		d[k0] = v0
	}
	d[k] = v
	e.Data = d
	return e
}

// WithStatus returns e with the status the change moved to.
func (e Event) WithStatus(s string) Event { e.Status = s; return e }

// Get returns Data[k] ("" when absent).
func (e Event) Get(k string) string { return e.Data[k] }
