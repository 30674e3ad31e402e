package notify

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
)

// This file writes what the operator payout emails say: which reward a
// rail refused to pay (operator_payout_failed, from reward.failed) or to
// take back (operator_reversal_refused, from a reward.rail_reversal with
// outcome refused), and what a person does about it. Nothing retries
// either by itself. They carry what the other operator emails carry (ids,
// the partner's code, the company, amounts), never the payee's details
// nor the rail's reason, which may quote them (the admin API shows it).

// ReversalRefused is the outcome of a reward.rail_reversal the rail
// refused (docs/events.md).
const ReversalRefused = "refused"

// railNames say each rail in words.
var railNames = map[string]string{
	"stripe":     "Stripe",
	"paypal":     "PayPal",
	"tremendous": "Tremendous",
	"manual":     "the manual payout",
	"ledger":     "the ledger",
}

// railName says rail in words: "paypal" -> "PayPal"; "its rail" when the
// event names none.
func railName(rail string) string {
	if n, ok := railNames[rail]; ok {
		return n
	}
	if rail == "" {
		return "its rail"
	}
	return label(rail)
}

// partyWords says a reward's party for a person.
func partyWords(party string) string {
	switch party {
	case program.PartyReferrer:
		return "the partner"
	case program.PartyReferee:
		return "the new customer"
	}
	return words(party)
}

// payoutView fills v, an operator payout email of ev, with the reward, its
// rail and the steps that settle it.
func payoutView(v *View, ev events.Event, f Facts) {
	v.RewardID, v.Party, v.Rail = ev.RewardID, ev.Get("party"), railName(ev.Get("rail"))
	if v.Code == "" {
		v.Code = f.Referral.ReferrerCode
	}
	if v.Kind == KindOperatorReversalRefused {
		v.Steps = reversalSteps(*v)
		return
	}
	v.Steps = payoutSteps(*v, f.Program.ID)
}

// payoutSteps are what settles a failed reward: read the rail's reason,
// correct the payee, re-arm; or void it.
func payoutSteps(v View, programID string) []string {
	reward := "/admin/rewards/" + pathOf(v.Referral, v.Milestone, v.Party)
	payee := fmt.Sprintf("Correct %s's payout details: PUT /admin/partners/%s/payee, or referflow payees set -program %s -method METHOD [details] %s.",
		partyWords(v.Party), pathOf(programID, v.Code), programID, v.Code)
	if v.Party == program.PartyReferee {
		payee = fmt.Sprintf("Correct the new customer's payout details: PUT /admin/referrals/%s/payee, or referflow payees set -referral %s -method METHOD [details].",
			pathOf(v.Referral), v.Referral)
	}
	return []string{
		"Read the rail's reason: GET /admin/rewards/failed lists this reward with its status_reason.",
		payee,
		"Then re-arm the reward: POST " + reward + "/rearm. It is sent again under a new idempotency key; a payment found under the old one is recorded instead, never paid twice.",
		"Or, if it is not to be paid, void it: POST " + reward + `/void with {"reason": "..."}. Its budget is given back.`,
	}
}

// reversalSteps are what a refused reversal leaves to a person: recovering
// the money outside Referflow.
func reversalSteps(v View) []string {
	return []string{
		fmt.Sprintf("Recover the %s at %s or from %s directly: the payment's metadata carries the reward id %s.", v.Amount, v.Rail, partyWords(v.Party), v.RewardID),
		"Nothing else is needed in Referflow: the reward stays paid, its reversal entry stands in the ledger, and the reversal is not tried at the rail again.",
	}
}

// pathOf joins path segments, each escaped.
func pathOf(segments ...string) string {
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	return strings.Join(segments, "/")
}
