package notify

import (
	"html"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
)

const (
	partnerEmail = "ann@partner.example"
	refereeEmail = "jane@acme-robotics.example"
	refereeName  = "Jane Doe"
)

func testReferral() *referral.Referral {
	return &referral.Referral{
		ID: "ref_01", ProgramID: "b2b", ProgramVersion: 3, Status: referral.StatusInProgress, ReferrerCode: "ANN42",
		RefereeEmail: refereeEmail, RefereeName: refereeName, RefereeCompany: "Acme Robotics",
		Milestones: map[string]time.Time{"qualified": t0, "won": t0},
		Reasons: []referral.Reason{
			{Code: "existing_customer", Message: "the referee's domain acme-robotics.example is an existing customer"},
			{Code: "icp_country", Message: "the referee's country FR is not one of US"},
		},
	}
}

func testFacts() Facts {
	return Facts{
		Program: testProgram(), Referral: testReferral(), PartnerKey: "ANN1",
		Referrer:    &referral.Referrer{ProgramID: "b2b", Code: "ANN42", Email: partnerEmail, Name: "Ann"},
		RefereeHash: "hash-of-jane",
	}
}

func ev(t events.Type, status string, data ...string) events.Event {
	e := events.New(t, "ref_01", events.ActorWorkflow, t0).WithStatus(status)
	e.ID = "evt_1"
	for i := 0; i+1 < len(data); i += 2 {
		e = e.With(data[i], data[i+1])
	}
	return e
}

func reward(t events.Type, status, party string) events.Event {
	e := ev(t, status, "milestone", "won", "party", party, "kind", "cash", "amount_minor", "50000", "currency", "USD")
	e.RewardID = "rw_1"
	return e
}

var testLinks = Links{Base: base, Secret: secret, Now: func() time.Time { return t0 }}

// summary renders what Plan gives as "kind>to@key", in order.
func summary(out []Outgoing) []string {
	var s []string
	for _, o := range out {
		s = append(s, string(o.Kind)+">"+o.To+"@"+o.Key)
	}
	return s
}

func TestWhichEventGivesWhichEmailsToWhom(t *testing.T) {
	ops := []string{"operator_new_referral>ops@acme.example@evt_1", "operator_new_referral>sales@acme.example@evt_1"}
	payoutOps := []string{"operator_payout_failed>ops@acme.example@evt_1", "operator_payout_failed>sales@acme.example@evt_1"}
	cases := []struct {
		name  string
		event events.Event
		edit  func(*Facts)
		want  []string
	}{
		{"received: the partner and each operator", ev(events.ReferralReceived, "received"), nil,
			append([]string{"referral_received>" + partnerEmail + "@evt_1"}, ops...)},
		{"received, the program switched the partner email off", ev(events.ReferralReceived, "received"),
			func(f *Facts) { f.Program.Emails.Off = []string{"referral_received"} }, ops},
		{"received, the program lists no operators", ev(events.ReferralReceived, "received"),
			func(f *Facts) { f.Program.Emails.Operators = nil }, []string{"referral_received>" + partnerEmail + "@evt_1"}},
		{"received, the partner switched it off", ev(events.ReferralReceived, "received"),
			func(f *Facts) { f.PartnerOff = []string{"referral_received"} }, ops},
		{"received, the partner is disabled", ev(events.ReferralReceived, "received"),
			func(f *Facts) { f.Referrer.Status = referral.ReferrerDisabled }, ops},
		{"received, no partner", ev(events.ReferralReceived, "received"), func(f *Facts) { f.Referrer = nil }, ops},
		{"verified for review: operators", ev(events.ReferralVerified, "in_review", "outcome", "review"), nil,
			[]string{"operator_review>ops@acme.example@evt_1", "operator_review>sales@acme.example@evt_1"}},
		{"verified and accepted, referee email off by default", ev(events.ReferralVerified, "in_progress", "outcome", "approved"), nil, nil},
		{"verified and accepted, referee email on", ev(events.ReferralVerified, "in_progress", "outcome", "approved"),
			func(f *Facts) { f.Program.Emails.RefereeWelcome = true }, []string{"referee_welcome>" + refereeEmail + "@evt_1"}},
		{"accepted in review, referee email on", ev(events.ReferralReviewed, "in_progress", "outcome", "approved"),
			func(f *Facts) { f.Program.Emails.RefereeWelcome = true }, []string{"referee_welcome>" + refereeEmail + "@evt_1"}},
		{"rejected in review gives no welcome", ev(events.ReferralReviewed, "rejected", "outcome", "rejected"),
			func(f *Facts) { f.Program.Emails.RefereeWelcome = true }, nil},
		{"the referee switched the welcome off", ev(events.ReferralVerified, "in_progress"),
			func(f *Facts) { f.Program.Emails.RefereeWelcome, f.RefereeOff = true, []string{"referee_welcome"} }, nil},
		{"the referee's data was erased", ev(events.ReferralVerified, "in_progress"),
			func(f *Facts) { f.Program.Emails.RefereeWelcome, f.Referral.RefereeEmail = true, "" }, nil},
		{"verified and rejected: the close tells the partner", ev(events.ReferralVerified, "rejected", "outcome", "rejected"), nil, nil},
		{"closed rejected: the partner", ev(events.ReferralClosed, "rejected"), nil, []string{"referral_rejected>" + partnerEmail + "@evt_1"}},
		{"closed completed: nothing", ev(events.ReferralClosed, "completed"), nil, nil},
		{"a deal event announces each milestone it implies, once per milestone", ev(events.ReferralDealEvent, "", "milestone", "won"), nil,
			[]string{"milestone_reached>" + partnerEmail + "@ref_01#milestone#qualified", "milestone_reached>" + partnerEmail + "@ref_01#milestone#won"}},
		{"without later_implies_earlier only its milestone", ev(events.ReferralDealEvent, "", "milestone", "won"),
			func(f *Facts) { f.Program.LaterImpliesEarlier = false }, []string{"milestone_reached>" + partnerEmail + "@ref_01#milestone#won"}},
		{"an earlier milestone not recorded is not announced", ev(events.ReferralDealEvent, "", "milestone", "won"),
			func(f *Facts) { delete(f.Referral.Milestones, "qualified") }, []string{"milestone_reached>" + partnerEmail + "@ref_01#milestone#won"}},
		{"a deal event without a milestone: nothing", ev(events.ReferralDealEvent, "", "provider", "hubspot"), nil, nil},
		{"needs attention: operators", ev(events.ReferralNeedsAttention, "needs_attention", "error", "Sandbox.Timedout"), nil,
			[]string{"operator_needs_attention>ops@acme.example@evt_1", "operator_needs_attention>sales@acme.example@evt_1"}},
		{"the partner's reward on hold", reward(events.RewardCreated, "on_hold", "referrer"), nil, []string{"reward_on_hold>" + partnerEmail + "@evt_1"}},
		{"the referee's reward on hold: nothing", reward(events.RewardCreated, "on_hold", "referee"), nil, nil},
		{"a reward created pending: nothing", reward(events.RewardCreated, "pending", "referrer"), nil, nil},
		{"a reward awaiting approval: operators", reward(events.RewardAwaitingApproval, "pending", "referrer"), nil,
			[]string{"operator_reward_approval>ops@acme.example@evt_1", "operator_reward_approval>sales@acme.example@evt_1"}},
		{"the partner's reward paid", reward(events.RewardPaid, "paid", "referrer"), nil, []string{"reward_paid>" + partnerEmail + "@evt_1"}},
		{"the referee's reward paid: nothing", reward(events.RewardPaid, "paid", "referee"), nil, nil},
		{"a reward its rail refused: operators", reward(events.RewardFailed, "failed", "referrer").With("rail", "stripe"), nil, payoutOps},
		{"the new customer's reward refused: operators too", reward(events.RewardFailed, "failed", "referee").With("rail", "stripe"), nil, payoutOps},
		{"a refused payout, the program switched it off", reward(events.RewardFailed, "failed", "referrer").With("rail", "paypal"),
			func(f *Facts) { f.Program.Emails.Off = []string{"operator_payout_failed"} }, nil},
		{"a refused payout, the program lists no operators", reward(events.RewardFailed, "failed", "referrer").With("rail", "paypal"),
			func(f *Facts) { f.Program.Emails.Operators = nil }, nil},
		{"a refused payout, a partner's preferences do not silence operators", reward(events.RewardFailed, "failed", "referrer").With("rail", "tremendous"),
			func(f *Facts) { f.PartnerOff = []string{"operator_payout_failed"}; f.Referrer = nil }, payoutOps},
		{"a reversal the rail refused: operators", reward(events.RewardRailReversal, "paid", "referrer").With("rail", "stripe").With("outcome", "refused"), nil,
			[]string{"operator_reversal_refused>ops@acme.example@evt_1", "operator_reversal_refused>sales@acme.example@evt_1"}},
		{"a reversal the rail made: nothing", reward(events.RewardRailReversal, "paid", "referrer").With("rail", "stripe").With("outcome", "reversed").With("reference", "trr_1"), nil, nil},
		{"a refused reversal, the program switched it off", reward(events.RewardRailReversal, "paid", "referee").With("rail", "stripe").With("outcome", "refused"),
			func(f *Facts) { f.Program.Emails.Off = []string{"operator_reversal_refused"} }, nil},
		{"an event that gives no email", ev(events.ReferralResumed, "in_progress"), nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := testFacts()
			if c.edit != nil {
				c.edit(&f)
			}
			out, err := Plan(c.event, f, testLinks)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(out); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
			for _, o := range out {
				if o.Message.To[0] != o.To || o.Message.Validate() != nil {
					t.Errorf("%s: message to %v: %v", o.Kind, o.Message.To, o.Message.Validate())
				}
			}
		})
	}
}

// A partner email says nothing about the referee beyond the company the
// partner submitted; a rejection gives the partner-safe sentences only.
func TestPartnerEmailsHoldNoRefereeData(t *testing.T) {
	f := testFacts()
	var all []Outgoing
	for _, e := range []events.Event{
		ev(events.ReferralReceived, "received"), ev(events.ReferralClosed, "rejected"),
		ev(events.ReferralDealEvent, "", "milestone", "won"), reward(events.RewardCreated, "on_hold", "referrer"),
		reward(events.RewardPaid, "paid", "referrer"),
	} {
		out, err := Plan(e, f, testLinks)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out...)
	}
	for _, o := range all {
		if o.Kind.Audience() != Partner {
			continue
		}
		for _, part := range []string{o.Message.Subject, o.Message.Text, html.UnescapeString(o.Message.HTML)} {
			for _, secret := range []string{refereeEmail, refereeName, "acme-robotics.example", "FR is not one of"} {
				if strings.Contains(part, secret) {
					t.Errorf("%s shows %q", o.Kind, secret)
				}
			}
		}
		if !strings.Contains(o.Message.Text, "Acme Robotics") {
			t.Errorf("%s does not name the company", o.Kind)
		}
		if o.Kind == KindReferralRejected {
			for _, want := range []string{"This company is already a customer.", "The company is outside the countries the program serves."} {
				if !strings.Contains(o.Message.Text, want) {
					t.Errorf("rejection lacks %q:\n%s", want, o.Message.Text)
				}
			}
		}
	}
}

func TestPartnerReasons(t *testing.T) {
	r := &referral.Referral{Reasons: []referral.Reason{{Code: "velocity_day"}, {Code: "something_new"}, {Code: "unknown_too"}}}
	got := PartnerReasons(r)
	if len(got) != 2 || got[0] != "You reached the program's limit of referrals per day." || got[1] != ReasonUnknown {
		t.Errorf("reasons %q", got)
	}
	if got := PartnerReasons(&referral.Referral{}); len(got) != 1 || got[0] != ReasonUnknown {
		t.Errorf("rejected in review without reasons: %q", got)
	}
}

func TestEmailsCarryTheirFactsAndLinks(t *testing.T) {
	f := testFacts()
	out, _ := Plan(reward(events.RewardPaid, "paid", "referrer"), f, testLinks)
	m := out[0].Message
	if m.Subject != "Your reward of 500.00 USD was paid" || !strings.Contains(m.Text, "Hello Ann,") {
		t.Errorf("subject %q text\n%s", m.Subject, m.Text)
	}
	tok := tokenOf(t, m.Headers["List-Unsubscribe"])
	if s, err := VerifyPreferenceToken([]string{secret}, tok, t0); err != nil || s.Code != "ANN1" || s.ProgramID != "b2b" {
		t.Errorf("the partner's link speaks for %+v (%v), want its lifelong key ANN1", s, err)
	}
	f.Program.Emails.RefereeWelcome = true
	out, _ = Plan(ev(events.ReferralVerified, "in_progress"), f, testLinks)
	m = out[0].Message
	if !strings.Contains(m.Text, "Hello Jane Doe,") || !strings.Contains(m.Text, "a discount of 1000.00 USD (once you reach Won)") {
		t.Errorf("referee welcome:\n%s", m.Text)
	}
	if s, err := VerifyPreferenceToken([]string{secret}, tokenOf(t, m.Headers["List-Unsubscribe"]), t0); err != nil || s.EmailHash != "hash-of-jane" {
		t.Errorf("the referee's link speaks for %+v (%v)", s, err)
	}
	out, _ = Plan(ev(events.ReferralNeedsAttention, "needs_attention", "error", "Sandbox.Timedout", "cause", "task timed out for jane@x.example"), f, testLinks)
	m = out[0].Message
	if !strings.Contains(m.Text, "Sandbox.Timedout") || strings.Contains(m.Text, "jane@x.example") || !strings.Contains(m.Text, base+"/admin/referrals/ref_01") {
		t.Errorf("needs attention:\n%s", m.Text)
	}
	if _, ok := m.Headers["List-Unsubscribe"]; ok {
		t.Error("an operator email has a List-Unsubscribe header")
	}
}

func tokenOf(t *testing.T, header string) string {
	t.Helper()
	_, tok, ok := strings.Cut(strings.Trim(header, "<>"), "?token=")
	if !ok {
		t.Fatalf("List-Unsubscribe %q has no token", header)
	}
	return tok
}

func TestPlanNeedsItsFacts(t *testing.T) {
	if _, err := Plan(ev(events.ReferralReceived, "received"), Facts{Program: testProgram()}, testLinks); err == nil {
		t.Error("no referral: no error")
	}
	f := testFacts()
	if _, err := Plan(ev(events.ReferralReceived, "received"), f, Links{Base: base, Now: testLinks.Now}); err == nil {
		t.Error("no link secret: no error")
	}
}

func TestEventTypesAreTheOnesThatGiveEmails(t *testing.T) {
	f := testFacts()
	f.Program.Emails.RefereeWelcome = true
	gives := map[events.Type]bool{}
	for _, e := range []events.Event{
		ev(events.ReferralReceived, "received"), ev(events.ReferralVerified, "in_review"), ev(events.ReferralReviewed, "in_progress"),
		ev(events.ReferralDealEvent, "", "milestone", "won"), ev(events.ReferralClosed, "rejected"),
		ev(events.ReferralNeedsAttention, "needs_attention"), reward(events.RewardCreated, "on_hold", "referrer"),
		reward(events.RewardAwaitingApproval, "pending", "referrer"), reward(events.RewardPaid, "paid", "referrer"),
		reward(events.RewardFailed, "failed", "referrer"), reward(events.RewardRailReversal, "paid", "referrer").With("outcome", "refused"),
	} {
		if len(kindsFor(e, f)) > 0 {
			gives[e.Type] = true
		}
	}
	if len(gives) != len(EventTypes) {
		t.Fatalf("%d event types give emails, EventTypes lists %d", len(gives), len(EventTypes))
	}
	for _, typ := range EventTypes {
		if !gives[typ] {
			t.Errorf("%s is listed but gives no email", typ)
		}
	}
}
