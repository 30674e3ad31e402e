package outbound

import (
	"fmt"
	"slices"
	"strings"

	"github.com/referflow/referflow/internal/events"
)

// Wildcard subscribes an endpoint to every event type, present and future.
const Wildcard = "*"

// Types are the event types an endpoint can subscribe to: every type
// internal/events declares (types_test.go fails when one is missing).
var Types = []events.Type{
	events.ReferralReceived, events.ReferralVerifying, events.ReferralVerified, events.ReferralReason,
	events.ReferralReviewed, events.ReferralDealEvent, events.ReferralClosed, events.ReferralContinued,
	events.ReferralNeedsAttention, events.ReferralResumed, events.ReferralErased,
	events.RewardCreated, events.RewardAwaitingApproval, events.RewardApproved, events.RewardPaid,
	events.RewardVoided, events.RewardReversed, events.RewardWaiting, events.RewardFailed, events.RewardRearmed, events.RewardRailReversal,
	events.InvoicePaid, events.InvoiceRefunded, events.DealObserved,
}

// parseTypes reads an endpoint's subscription: event types or "*",
// without repeats, sorted; "*" with other types is just "*". It says what
// is wrong with the list ("" when nothing is).
func parseTypes(in []string) ([]events.Type, string) {
	if len(in) == 0 {
		return nil, `is required: a list of event types, or ["*"] for all`
	}
	var out []events.Type
	all := false
	for _, raw := range in {
		t := events.Type(strings.TrimSpace(raw))
		switch {
		case t == Wildcard:
			all = true
		case !slices.Contains(Types, t):
			return nil, fmt.Sprintf("%q is not an event type (see docs/api.md, Outbound webhooks)", raw)
		case !slices.Contains(out, t):
			out = append(out, t)
		}
	}
	if all {
		return []events.Type{Wildcard}, ""
	}
	slices.Sort(out)
	return out, ""
}

// Subscribes reports whether the endpoint wants events of type t.
func (ep Endpoint) Subscribes(t events.Type) bool {
	return slices.Contains(ep.Types, Wildcard) || slices.Contains(ep.Types, t)
}
