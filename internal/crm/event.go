// Package crm is the one ingestion path for CRM deal webhooks: provider
// adapters authenticate and parse raw deliveries into normalised Events; the
// code shared by every provider dedupes, links, maps and records them.
package crm

import (
	"errors"
	"net/http"
	"time"

	"github.com/referflow/referflow/internal/money"
)

// Kind says what happened to the CRM record.
type Kind string

const (
	// KindStageChanged: the deal is now in Stage (and/or Status changed).
	KindStageChanged Kind = "stage_changed"
	// KindCreated: the deal was created (it may already carry a stage).
	KindCreated Kind = "created"
	// KindDeleted: the deal was deleted in the CRM.
	KindDeleted Kind = "deleted"
	// KindAmountChanged: only the deal amount changed.
	KindAmountChanged Kind = "amount_changed"
	// KindRefunded: money for the deal was given back (void rewards on hold).
	KindRefunded Kind = "refunded"
	// KindByHand: a person recorded the milestone named in Stage by hand
	// (RecordByHand, provider ProviderByHand).
	KindByHand Kind = "by_hand"
)

// Deal statuses, when a provider reports them separately from the stage.
const (
	StatusOpen = "open"
	StatusWon  = "won"
	StatusLost = "lost"
)

// Event is one normalised CRM event. It carries only what the shared path
// needs; it never carries the raw payload.
type Event struct {
	Provider   string       // "hubspot", "salesforce", "pipedrive", "generic"
	ID         string       // the provider's event id: the dedupe key (unique per provider)
	Kind       Kind         // what happened
	RecordID   string       // the CRM deal / opportunity id
	Pipeline   string       // pipeline id, "" when the provider has none or did not say
	Stage      string       // stage id or name as the CRM sends it, "" when unchanged/unknown
	Status     string       // StatusOpen/StatusWon/StatusLost when the provider says, else ""
	Amount     *money.Money // deal amount when present
	OccurredAt time.Time    // when the change happened in the CRM (zero if unknown)

	// AmountText is the amount as the CRM sent it when it did not say the
	// currency (Amount.Currency is "" and Amount reads it with 2 decimals):
	// the provider's enricher reads it again, exactly, in the deal's
	// currency. An amount whose currency stays unknown is not recorded.
	AmountText string

	// Linking hints: any of them may be empty.
	ReferralID string // a referral id carried on the record (e.g. a referral_id property)
	Email      string // the contact's email (lower-cased)

	// Actor and Reason, on KindByHand only: who recorded the milestone
	// (the actor of its event) and why (kept with the referral's personal
	// data, never in its event).
	Actor, Reason string
}

// Request is a raw webhook delivery as received, before any parsing.
type Request struct {
	Method string
	// URL is the full URL the sender called, as it signed it
	// (scheme://host/path?query), reconstructed behind API Gateway.
	URL     string
	Headers http.Header
	Body    []byte
}

// Errors adapters return; the handler maps them to HTTP answers.
var (
	// ErrUnauthorized: the signature or credential is missing or wrong (401).
	ErrUnauthorized = errors.New("crm: invalid signature or credential")
	// ErrMalformed: the body cannot be parsed (400).
	ErrMalformed = errors.New("crm: malformed payload")
)

// KindIgnored marks a well-formed event that does not concern a deal stage
// (another object type or property). It is counted, never applied.
const KindIgnored Kind = "ignored"

// Adapter is one CRM provider's edge: it authenticates a raw delivery and
// parses it into normalised events, and does nothing else.
type Adapter interface {
	// Authenticate checks the signature or credential over the raw request,
	// before anything is parsed. It returns ErrUnauthorized (wrapped) on failure.
	Authenticate(r Request) error
	// Parse turns an authenticated delivery into events, in delivery order.
	// A body that cannot be parsed at all is ErrMalformed (wrapped). An
	// individual unusable entry inside a valid batch does not fail the batch:
	// it is returned with Kind KindIgnored.
	Parse(r Request) ([]Event, error)
}

// Acknowledger is implemented by adapters whose senders expect a specific
// answer body (Salesforce's SOAP Ack).
type Acknowledger interface {
	// Ack is the body of a successful answer (HTTP 200).
	Ack() (contentType string, body []byte)
	// Nack is the body of an answer that makes the sender redeliver.
	Nack(message string) (contentType string, body []byte)
}
