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
	domain "github.com/referflow/referflow/internal/referral"
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
	if strings.HasPrefix(string(ev.Type), "reward.") || strings.HasPrefix(string(ev.Type), "invoice.") {
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
		return reason(d("code"))
	case events.ReferralErased:
		return "The referee's personal data was erased on request"
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
	case events.ReferralNeedsAttention:
		return needsAttention(ev)
	case events.ReferralResumed:
		return resumed(ev)
	}
	return string(ev.Type)
}

func needsAttention(ev events.Event) string {
	d := ev.Get
	s := "Needs attention: " + d("error")
	if c := d("cause"); c != "" {
		s += " (" + c + ")"
	}
	if x := d("execution"); x != "" {
		s += " in execution " + x
	}
	return s + "; it was " + d("from") + " and waits for an operator to resume it"
}

// who names a person or process that acted: "an admin", "an operator",
// "the reconciler", else the actor as events name it (console:<operator id>).
func who(actor string) string {
	if w := map[string]string{events.ActorAdmin: "an admin", events.ActorOperator: "an operator", events.ActorReconciler: "the reconciler"}[actor]; w != "" {
		return w
	}
	return actor
}

// byHand is the provider of milestones a person records by hand
// (crm.ProviderByHand).
const byHand = "by-hand"

// WithNotes adds to the lines of milestones recorded by hand the reason
// the person gave (notes: the referral's, kept with its personal data,
// never in events): "…recorded by hand by <who>: <reason>".
func WithNotes(lines []Line, notes []domain.MilestoneNote) []Line {
	for i, l := range lines {
		if l.Type != events.ReferralDealEvent || l.Data["provider"] != byHand {
			continue
		}
		for _, n := range notes {
			if n.Milestone == l.Data["milestone"] {
				lines[i].Detail += ": " + n.Reason
				break
			}
		}
	}
	return lines
}

func resumed(ev events.Event) string {
	d := ev.Get
	s := "Resumed by " + who(ev.Actor)
	if a := d("after"); a != "" {
		s += " after its execution ended (" + a + ")"
	}
	return s + ": back to " + ev.Status + " in execution " + d("execution")
}

// reasons are the verification findings by code (internal/eligibility), in
// words that name no one: the event carries only the code, and the
// referral's reasons (in the admin view) say which email or domain.
var reasons = map[string]string{
	"self_referral":     "a self referral: the referee's email or company domain is the referrer's own",
	"existing_customer": "the referee's company is an existing customer",
	"free_mail_domain":  "the referee's domain is a free-mail provider, not a company domain",
	"disposable_domain": "a disposable mailbox domain",
	"blocked_domain":    "the referee's domain is blocked by the program",
	"velocity_day":      "the referrer reached the program's daily referral limit",
	"velocity_month":    "the referrer reached the program's monthly referral limit",
	"icp_country":       "the referee's country is outside the ideal customer profile",
	"icp_industry":      "the referee's industry is outside the ideal customer profile",
	"icp_company_size":  "the referee's company size is outside the ideal customer profile",
}

func reason(code string) string {
	if r, ok := reasons[code]; ok {
		return "Verification finding: " + r
	}
	return "Verification finding: " + code
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
		if provider == byHand {
			s = "Milestone " + d("milestone") + " recorded by hand by " + who(ev.Actor)
		}
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
		s := fmt.Sprintf("Reward %s paid %s: %s to the %s", ev.RewardID, through(d("method"), d("reference")), amount, d("party"))
		if ev.Actor == events.ActorAdmin {
			s = fmt.Sprintf("Reward %s approved by an admin and paid %s: %s to the %s", ev.RewardID, through(d("method"), d("reference")), amount, d("party"))
		}
		if o := d("override"); o != "" {
			s += " (an override: it did not fit the program's limits: " + o + ")"
		}
		return s
	case events.RewardVoided:
		return "Reward " + ev.RewardID + " voided: " + d("reason")
	case events.RewardReversed:
		why := "after a refund"
		if r := d("reason"); r != "" && r != "deal refunded" {
			why = "after the sale was taken back (" + r + ")"
		}
		return fmt.Sprintf("Reward %s reversed %s: -%s to the %s", ev.RewardID, why, amount, d("party"))
	case events.InvoicePaid:
		return fmt.Sprintf("Invoice %s of the new customer paid: %s", d("invoice_id"), amount)
	case events.InvoiceRefunded:
		return fmt.Sprintf("Invoice %s of the new customer refunded or credited: its reward is voided or reversed", d("invoice_id"))
	case events.RewardWaiting:
		if d("reason") == "scheduled" {
			return fmt.Sprintf("Reward %s waits for the program's payout day (%s)", ev.RewardID, d("due"))
		}
		return fmt.Sprintf("Reward %s waits: %s for the %s (%s)", ev.RewardID, d("reason"), d("party"), railName(d("rail")))
	case events.RewardFailed:
		return fmt.Sprintf("Reward %s failed at %s: a person re-arms or voids it", ev.RewardID, railName(d("rail")))
	case events.RewardRailReversal:
		if d("outcome") == "refused" {
			return fmt.Sprintf("Reward %s: %s refused to take the payment back; finance recovers it", ev.RewardID, railName(d("rail")))
		}
		return fmt.Sprintf("Reward %s: the payment taken back at %s (%s)", ev.RewardID, railName(d("rail")), d("reference"))
	case events.RewardRearmed:
		return fmt.Sprintf("Reward %s re-armed by an admin (attempt %s)", ev.RewardID, d("generation"))
	}
	return string(ev.Type)
}

// railNames are the payout rails as people name them.
var railNames = map[string]string{"ledger": "the ledger", "manual": "the ledger (paid by finance)", "stripe": "Stripe",
	"paypal": "PayPal", "tremendous": "Tremendous (gift card)"}

func railName(rail string) string {
	if n, ok := railNames[rail]; ok {
		return n
	}
	return rail
}

// through says how a reward was paid: "to the ledger", or "through
// Stripe (tr_…)".
func through(method, reference string) string {
	switch {
	case method == "ledger" || method == "manual" || method == "":
		return "to " + railName(method)
	case reference != "":
		return "through " + railName(method) + " (" + reference + ")"
	}
	return "through " + railName(method)
}
