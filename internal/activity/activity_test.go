package activity

import (
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
)

var at = time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)

func ev(t events.Type, status string, data ...string) events.Event {
	e := events.New(t, "ref_1", events.ActorWorkflow, at).WithStatus(status)
	e.ProgramID, e.ProgramVersion, e.RewardID = "b2b", 3, "rw_1"
	for i := 0; i+1 < len(data); i += 2 {
		e = e.With(data[i], data[i+1])
	}
	return e
}

func resumedBy(actor, after, execution string) events.Event {
	e := ev(events.ReferralResumed, "in_review", "after", after, "execution", execution)
	e.Actor = actor
	return e
}

// Every event type reads as a sentence a person understands, with the
// amounts in the currency's own decimals.
func TestDescribe(t *testing.T) {
	reward := []string{"party", "referrer", "kind", "cash", "amount_minor", "100000", "currency", "UGX"}
	admin := ev(events.RewardPaid, "paid", append(reward, "method", "ledger", "override", "budget exhausted")...)
	admin.Actor = events.ActorAdmin
	for _, c := range []struct {
		ev   events.Event
		want string
	}{
		{ev(events.ReferralReceived, "received", "referrer_code", "ACME42"), "Referral received from referrer ACME42 under program b2b version 3"},
		{ev(events.ReferralVerifying, "verifying"), "Verification started"},
		{ev(events.ReferralVerified, "in_review", "outcome", "review", "reasons", "icp_mismatch, freemail"), "Verification: review (icp_mismatch, freemail)"},
		{ev(events.ReferralVerified, "in_progress", "outcome", "approved"), "Verification: approved"},
		{ev(events.ReferralReason, "", "code", "free_mail_domain"), "Verification finding: the referee's domain is a free-mail provider, not a company domain"},
		// An event recorded before reasons left events still reads from its code.
		{ev(events.ReferralReason, "", "code", "blocked_domain", "message", "evil.example is blocked"), "Verification finding: the referee's domain is blocked by the program"},
		{ev(events.ReferralReason, "", "code", "new_code"), "Verification finding: new_code"},
		{ev(events.ReferralErased, ""), "The referee's personal data was erased on request"},
		{ev(events.ReferralReviewed, "in_progress", "outcome", "approved", "by", "admin"), "Manual review: approved by an admin"},
		{ev(events.ReferralReviewed, "rejected", "outcome", "rejected", "by", "deadline"), "Review deadline passed: the program's default (rejected) applied"},
		{ev(events.ReferralDealEvent, "", "provider", "hubspot", "outcome", "milestone", "milestone", "won", "where", "pipeline default, stage closedwon"),
			"Milestone won reached in hubspot (pipeline default, stage closedwon)"},
		{ev(events.ReferralDealEvent, "", "provider", "pipedrive", "outcome", "lost", "lost", "lost", "where", "status lost"), "Deal lost in pipedrive (status lost)"},
		{ev(events.ReferralDealEvent, "", "provider", "generic", "outcome", "refunded", "lost", "refunded", "reversed", "2"),
			"Deal refunded in generic; 2 paid reward(s) reversed in the ledger"},
		{ev(events.ReferralDealEvent, "", "provider", "hubspot", "outcome", "closed", "change", "amount", "closed", "completed"),
			"after the referral ended (completed): Deal amount updated in hubspot"},
		{ev(events.ReferralDealEvent, "", "provider", "hubspot", "outcome", "no_change", "where", "stage appointment"),
			"Deal moved in hubspot (stage appointment), not a milestone of the program"},
		{ev(events.ReferralClosed, "expired"), "A milestone deadline passed: the referral expired"},
		{ev(events.ReferralContinued, "", "from", "ref_1", "to", "ref_1-2"), "The next deadline lies beyond this execution's year: the referral continues in execution ref_1-2"},
		{ev(events.ReferralNeedsAttention, "needs_attention", "from", "in_progress", "error", "Sandbox.Timedout", "cause", "Task timed out", "execution", "ref_1-2"),
			"Needs attention: Sandbox.Timedout (Task timed out) in execution ref_1-2; it was in_progress and waits for an operator to resume it"},
		{ev(events.ReferralResumed, "in_progress", "from", "needs_attention", "execution", "ref_1-3"), "Resumed by workflow: back to in_progress in execution ref_1-3"},
		{resumedBy(events.ActorAdmin, "", "ref_1-2"), "Resumed by an admin: back to in_review in execution ref_1-2"},
		{resumedBy(events.ActorReconciler, "execution FAILED", "ref_1-2"), "Resumed by the reconciler after its execution ended (execution FAILED): back to in_review in execution ref_1-2"},
		{ev(events.RewardCreated, "on_hold", append(reward, "rank", "2")...), "Reward rw_1 for the referrer: 100000 UGX cash (on_hold); referrer rank 2 in the tier period"},
		{ev(events.RewardCreated, "pending", append(reward, "reason", "budget exhausted")...),
			"Reward rw_1 for the referrer: 100000 UGX cash (pending): budget exhausted, a person approves it through the admin API"},
		{ev(events.RewardAwaitingApproval, "pending"), "Reward rw_1 held long enough: awaiting a person's approval"},
		{ev(events.RewardApproved, "approved"), "Reward rw_1 approved by an admin; paid when its holding period ends"},
		{ev(events.RewardPaid, "paid", append(reward, "method", "ledger")...), "Reward rw_1 paid to the ledger: 100000 UGX to the referrer"},
		{admin, "Reward rw_1 approved by an admin and paid to the ledger: 100000 UGX to the referrer (an override: it did not fit the program's limits: budget exhausted)"},
		{ev(events.RewardVoided, "voided", "reason", "declined"), "Reward rw_1 voided: declined"},
		{ev(events.RewardReversed, "paid", "party", "referee", "amount_minor", "123456", "currency", "CLF"), "Reward rw_1 reversed after a refund: -12.3456 CLF to the referee"},
		{ev(events.RewardReversed, "paid", "party", "referee", "amount_minor", "123456", "currency", "CLF", "reason", "deal refunded"), "Reward rw_1 reversed after a refund: -12.3456 CLF to the referee"},
		{ev(events.RewardReversed, "paid", "party", "referee", "amount_minor", "123456", "currency", "CLF", "reason", "deal lost"),
			"Reward rw_1 reversed after the sale was taken back (deal lost): -12.3456 CLF to the referee"},
	} {
		l := Describe(c.ev)
		if l.Detail != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.ev.Type, l.Detail, c.want)
		}
		if l.Type != c.ev.Type || l.Actor != c.ev.Actor || !l.At.Equal(at) {
			t.Errorf("%s: line %+v", c.ev.Type, l)
		}
	}
}

// The log keeps the events' order, one line each.
func TestLog(t *testing.T) {
	lines := Log([]events.Event{ev(events.ReferralReceived, "received"), ev(events.ReferralVerifying, "verifying")})
	if len(lines) != 2 || lines[0].Type != events.ReferralReceived || lines[1].Type != events.ReferralVerifying {
		t.Fatalf("%+v", lines)
	}
	if got := Log(nil); got == nil || len(got) != 0 {
		t.Fatalf("Log(nil) = %#v, want an empty list (JSON [])", got)
	}
}
