// Package activity is the activity log of a referral: a consumer of its
// domain events (internal/events) that turns each into a line a person
// reads in the admin API. It writes nothing; the sentences are made here
// and only here, from the event's type and data.
package activity

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/money"
)

// Line is one line of the activity log.
type Line struct {
	At     time.Time         `json:"at"`
	Type   events.Type       `json:"type"`
	Actor  string            `json:"actor"`  // "intake", "webhook:hubspot", "workflow", "admin"
	Detail string            `json:"detail"` // a sentence for a person
	Data   map[string]string `json:"data,omitempty"`
}

// Log returns the lines of evs, in their order.
func Log(evs []events.Event) []Line {
	out := make([]Line, 0, len(evs))
	for _, ev := range evs {
		out = append(out, Describe(ev))
	}
	return out
}

// Describe returns the line of one event.
func Describe(ev events.Event) Line {
	l := Line{At: ev.At, Type: ev.Type, Actor: ev.Actor, Data: ev.Data}
	if strings.HasPrefix(string(ev.Type), "reward.") {
		l.Detail = reward(ev)
	} else {
		l.Detail = referral(ev)
	}
	return l
}

func referral(ev events.Event) string {
	d := ev.Get
	switch ev.Type {
	case events.ReferralReceived:
		return fmt.Sprintf("Referral received from referrer %s under program %s version %d", d("referrer_code"), ev.ProgramID, ev.ProgramVersion)
	case events.ReferralVerifying:
		return "Verification started"
	case events.ReferralVerified:
		s := "Verification: " + d("outcome")
		if r := d("reasons"); r != "" {
			s += " (" + r + ")"
		}
		return s
	case events.ReferralReason:
		return d("message")
	case events.ReferralReviewed:
		if d("by") == "deadline" {
			return "Review deadline passed: the program's default (" + d("outcome") + ") applied"
		}
		return "Manual review: " + d("outcome") + " by an admin"
	case events.ReferralDealEvent:
		return dealEvent(ev)
	case events.ReferralClosed:
		return map[string]string{
			"completed": "Referral completed: every milestone reached and its rewards paid",
			"lost":      "Deal lost in the CRM: the referral ended",
			"expired":   "A milestone deadline passed: the referral expired",
			"rejected":  "Referral rejected",
		}[ev.Status]
	case events.ReferralContinued:
		return "The next deadline lies beyond this execution's year: the referral continues in execution " + d("to")
	}
	return string(ev.Type)
}

func dealEvent(ev events.Event) string {
	d := ev.Get
	provider, where := d("provider"), d("where")
	outcome := d("outcome")
	if c := d("change"); c != "" {
		outcome = c // the referral had ended: what the event would have changed
	}
	var s string
	switch outcome {
	case "lost", "refunded":
		s = "Deal " + d("lost") + " in " + provider
		if d("lost") == "lost" && where != "" {
			s += " (" + where + ")"
		}
	case "milestone":
		s = "Milestone " + d("milestone") + " reached in " + provider + " (" + where + ")"
	case "amount":
		s = "Deal amount updated in " + provider
	default:
		s = "Deal moved in " + provider + " (" + where + "), not a milestone of the program"
	}
	if d("closed") != "" {
		s = "after the referral ended (" + d("closed") + "): " + s
	}
	if n := d("reversed"); n != "" {
		s += "; " + n + " paid reward(s) reversed in the ledger"
	}
	return s
}

func reward(ev events.Event) string {
	d := ev.Get
	minor, _ := strconv.ParseInt(d("amount_minor"), 10, 64)
	amount := money.Format(minor, d("currency"))
	switch ev.Type {
	case events.RewardCreated:
		s := fmt.Sprintf("Reward %s for the %s: %s %s (%s)", ev.RewardID, d("party"), amount, d("kind"), ev.Status)
		if r := d("reason"); r != "" {
			s += ": " + r + ", a person approves it through the admin API"
		}
		if r := d("rank"); r != "" {
			s += "; referrer rank " + r + " in the tier period"
		}
		return s
	case events.RewardAwaitingApproval:
		return "Reward " + ev.RewardID + " held long enough: awaiting a person's approval"
	case events.RewardApproved:
		return "Reward " + ev.RewardID + " approved by an admin; paid when its holding period ends"
	case events.RewardPaid:
		s := fmt.Sprintf("Reward %s paid to the %s: %s to the %s", ev.RewardID, d("method"), amount, d("party"))
		if ev.Actor == events.ActorAdmin {
			s = fmt.Sprintf("Reward %s approved by an admin and paid to the %s: %s to the %s", ev.RewardID, d("method"), amount, d("party"))
		}
		if o := d("override"); o != "" {
			s += " (an override: it did not fit the program's limits: " + o + ")"
		}
		return s
	case events.RewardVoided:
		return "Reward " + ev.RewardID + " voided: " + d("reason")
	case events.RewardReversed:
		return fmt.Sprintf("Reward %s reversed after a refund: -%s to the %s", ev.RewardID, amount, d("party"))
	}
	return string(ev.Type)
}
