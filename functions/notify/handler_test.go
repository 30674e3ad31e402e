package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/referflow/referflow/infra/local/sam"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

func TestTheSameEventTwiceSendsOnce(t *testing.T) {
	f := newFixture(t)
	in := bridge(t, event("evt_1", events.ReferralReceived, "received"))
	for i := 0; i < 2; i++ {
		if err := f.h.Handle(context.Background(), in); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	want := []string{"referral_received>" + partnerEmail, "operator_new_referral>ops@acme.example"}
	if got := f.sender.to(); !slices.Equal(got, want) {
		t.Fatalf("sent %v, want %v once each", got, want)
	}
	for k, st := range f.st.statuses() {
		if st != store.MailSent {
			t.Errorf("claim %s is %s", k, st)
		}
	}
	// Another event about the same referral sends again.
	if err := f.h.Handle(context.Background(), bridge(t, event("evt_2", events.ReferralReceived, "received"))); err != nil {
		t.Fatal(err)
	}
	if n := len(f.sender.to()); n != 4 {
		t.Errorf("a second event sent %d in all, want 4", n)
	}
}

func TestAFailedSendIsRetriedWithoutResendingTheOthers(t *testing.T) {
	f := newFixture(t)
	down := true
	f.sender.fail = func(m mail.Message) error {
		if down && m.To[0] == partnerEmail {
			return errSES
		}
		return nil
	}
	in := bridge(t, event("evt_1", events.ReferralReceived, "received"))
	if err := f.h.Handle(context.Background(), in); err == nil {
		t.Fatal("a transient send failure did not fail the event (EventBridge would not retry)")
	}
	if got := f.sender.to(); !slices.Equal(got, []string{"operator_new_referral>ops@acme.example"}) {
		t.Fatalf("first attempt sent %v", got)
	}
	down = false
	if err := f.h.Handle(context.Background(), in); err != nil {
		t.Fatalf("retry: %v", err)
	}
	want := []string{"operator_new_referral>ops@acme.example", "referral_received>" + partnerEmail}
	if got := f.sender.to(); !slices.Equal(got, want) {
		t.Fatalf("after the retry sent %v, want %v", got, want)
	}
}

func TestARefusedEmailIsKeptFailedAndLoggedWithoutTheAddress(t *testing.T) {
	f := newFixture(t)
	f.sender.fail = func(m mail.Message) error {
		if m.To[0] == partnerEmail {
			return fmt.Errorf("%w: address %q: no angle-addr", mail.ErrInvalid, partnerEmail)
		}
		return nil
	}
	in := bridge(t, event("evt_1", events.ReferralReceived, "received"))
	for i := 0; i < 2; i++ {
		if err := f.h.Handle(context.Background(), in); err != nil {
			t.Fatalf("a refusal for good failed the event: %v", err)
		}
	}
	if got := f.st.statuses()[claimKey("evt_1", partnerEmail)]; got != store.MailFailed {
		t.Errorf("claim %q, want failed", got)
	}
	if f.sender.n != 1 {
		t.Errorf("%d sent, want the operator's only", f.sender.n)
	}
	if !strings.Contains(f.logs.String(), "email refused for good") || strings.Contains(f.logs.String(), partnerEmail) {
		t.Errorf("logs:\n%s", f.logs)
	}
}

// Invariant 5: nothing personal in the logs, whatever the event.
func TestLogsHoldNoPersonalData(t *testing.T) {
	f := newFixture(t)
	f.st.programs["b2b/3"].Emails.RefereeWelcome = true
	f.st.referrals["ref_01"].Reasons = []referral.Reason{{Code: "existing_customer", Message: "acme-robotics.example is a customer"}}
	for i, e := range []events.Event{
		event("e1", events.ReferralReceived, "received"), event("e2", events.ReferralVerified, "in_progress"),
		event("e3", events.ReferralClosed, "rejected"), event("e4", events.ReferralNeedsAttention, "needs_attention", "error", "X", "cause", "jane@acme-robotics.example failed"),
		event("e5", events.RewardFailed, "failed", "milestone", "won", "party", "referrer", "rail", "stripe"),
	} {
		if err := f.h.Handle(context.Background(), bridge(t, e)); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if len(f.sender.to()) != 6 {
		t.Fatalf("sent %v", f.sender.to())
	}
	for _, pii := range []string{partnerEmail, refereeEmail, "Jane Doe", "Ann Partner", "Acme Robotics", "acme-robotics.example"} {
		if strings.Contains(f.logs.String(), pii) {
			t.Errorf("the logs hold %q", pii)
		}
	}
}

func TestEventsThatGiveNoEmailAreSkipped(t *testing.T) {
	f := newFixture(t)
	newer := event("e1", events.ReferralReceived, "received")
	newer.Version = events.SchemaVersion + 1
	noID := event("", events.ReferralReceived, "received")
	gone := event("e3", events.ReferralReceived, "received")
	gone.ReferralID = "ref_gone"
	for name, in := range map[string]lambdaevents.EventBridgeEvent{
		"a newer schema":        bridge(t, newer),
		"no id":                 bridge(t, noID),
		"an unknown referral":   bridge(t, gone),
		"a type without emails": bridge(t, event("e4", events.ReferralResumed, "in_progress")),
		"an undecodable detail": {Source: "referflow", DetailType: "referral.received", Detail: json.RawMessage(`"x"`)},
	} {
		if err := f.h.Handle(context.Background(), in); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := len(f.sender.to()); n != 0 {
		t.Errorf("sent %d", n)
	}
}

func TestProgramsWithoutASenderUseTheDeploymentsAndTheLinksNameTheAPI(t *testing.T) {
	f := newFixture(t)
	f.st.programs["b2b/3"].Emails.From = ""
	if err := f.h.Handle(context.Background(), bridge(t, event("e1", events.ReferralReceived, "received"))); err != nil {
		t.Fatal(err)
	}
	m := f.sender.sent[0]
	if m.From != "referflow@acme.example" {
		t.Errorf("from %q", m.From)
	}
	link := strings.Trim(m.Headers["List-Unsubscribe"], "<>")
	tok, ok := strings.CutPrefix(link, "https://refer.acme.example"+notify.PreferencesPath+"?token=")
	if !ok {
		t.Fatalf("preference link %s", link)
	}
	// The link speaks for the partner's lifelong key, not the code they hold now.
	if s, err := notify.VerifyPreferenceToken([]string{linkSecret}, tok, now0); err != nil || s.Code != "ANN1" {
		t.Errorf("token for %+v %v", s, err)
	}
}

func TestPreferencesAreHonoured(t *testing.T) {
	f := newFixture(t)
	f.st.off["b2b/c:ANN1"] = []string{"referral_received"}
	if err := f.h.Handle(context.Background(), bridge(t, event("e1", events.ReferralReceived, "received"))); err != nil {
		t.Fatal(err)
	}
	if got := f.sender.to(); !slices.Equal(got, []string{"operator_new_referral>ops@acme.example"}) {
		t.Errorf("sent %v", got)
	}
	// The referee's own switch, found by the keyed hash of their email.
	f.st.programs["b2b/3"].Emails.RefereeWelcome = true
	f.st.off["b2b/e:"+hasher.Hash("email", refereeEmail)] = []string{"referee_welcome"}
	if err := f.h.Handle(context.Background(), bridge(t, event("e2", events.ReferralVerified, "in_progress"))); err != nil {
		t.Fatal(err)
	}
	if n := len(f.sender.to()); n != 1 {
		t.Errorf("the referee's welcome was sent after they switched it off")
	}
}

func TestWithoutALinkSecretNothingIsSentAndTheEventIsRetried(t *testing.T) {
	f := newFixture(t)
	f.h.LinkSecrets = func(context.Context) ([]string, error) { return nil, noSecret }
	if err := f.h.Handle(context.Background(), bridge(t, event("e1", events.ReferralReceived, "received"))); err == nil {
		t.Fatal("no error")
	}
	if len(f.sender.to()) != 0 || len(f.st.statuses()) != 0 {
		t.Error("something was sent or claimed")
	}
}

// The monthly schedule sends each active partner with activity one
// summary of the month before, however often it runs.
func TestMonthlySummaryOncePerPartnerAndMonth(t *testing.T) {
	f := newFixture(t)
	st := f.st
	st.partners["b2b/BOB7"] = store.Partner{Key: "BOB7", Referrer: referral.Referrer{ProgramID: "b2b", Code: "BOB7", Email: "bob@partner.example"}}
	st.partners["b2b/OFF9"] = store.Partner{Key: "OFF9", Referrer: referral.Referrer{ProgramID: "b2b", Code: "OFF9", Email: "off@partner.example", Status: referral.ReferrerDisabled}}
	st.activity["b2b/OFF9/2026-02"] = &store.MailActivity{Referrals: []string{"ref_01"}}
	st.rewards["ref_01|won|referrer"] = &rewards.Reward{AmountMinor: 50000, Currency: "USD", Status: rewards.StatusOnHold}
	for _, e := range []events.Event{
		event("e1", events.ReferralReceived, "received"),
		event("e2", events.RewardCreated, "on_hold", "milestone", "won", "party", "referrer", "amount_minor", "50000", "currency", "USD"),
		event("e3", events.RewardCreated, "pending", "milestone", "won", "party", "referee", "amount_minor", "100", "currency", "USD"),
	} {
		if err := f.h.Handle(context.Background(), bridge(t, e)); err != nil {
			t.Fatal(err)
		}
	}
	st.referrals["ref_01"].Status = referral.StatusInProgress
	before := len(f.sender.to())
	schedule := lambdaevents.EventBridgeEvent{Source: "aws.events", DetailType: "Scheduled Event", Time: time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)}
	for i := 0; i < 2; i++ {
		if err := f.h.Handle(context.Background(), schedule); err != nil {
			t.Fatal(err)
		}
	}
	sent := f.sender.sent[before:]
	if len(sent) != 1 || sent[0].To[0] != partnerEmail || sent[0].Tags["kind"] != "monthly_summary" {
		t.Fatalf("summaries sent: %v", f.sender.to()[before:])
	}
	for _, want := range []string{"February 2026", "- In progress: 1", "- earned: 500.00 USD", "- on hold: 500.00 USD", "- paid: 0"} {
		if !strings.Contains(sent[0].Text, want) {
			t.Errorf("summary lacks %q:\n%s", want, sent[0].Text)
		}
	}
	// A partner who switched summaries off gets none the next month.
	st.off["b2b/c:ANN1"] = []string{"monthly_summary"}
	st.activity["b2b/ANN1/2026-03"] = &store.MailActivity{Referrals: []string{"ref_01"}}
	st.months["2026-03"] = []string{"b2b"}
	if err := f.h.Summaries(context.Background(), time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if len(f.sender.sent) != before+1 {
		t.Errorf("a switched-off summary was sent")
	}
}

// The rule on the bus lists exactly the event types that give an email,
// and the function gets the API's URL for its links.
func TestTemplateRoutesTheEventsThatGiveEmails(t *testing.T) {
	tpl, err := sam.Load("../../template.yaml", sam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var fn *sam.Function
	for i := range tpl.Functions {
		if tpl.Functions[i].LogicalID == "NotifyFunction" {
			fn = &tpl.Functions[i]
		}
	}
	if fn == nil || len(fn.Rules) != 1 || len(fn.Schedules) != 1 {
		t.Fatalf("NotifyFunction %+v", fn)
	}
	var pattern struct {
		Source     []string `json:"source"`
		DetailType []string `json:"detail-type"`
	}
	if err := json.Unmarshal([]byte(fn.Rules[0].Pattern), &pattern); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, typ := range notify.EventTypes {
		want = append(want, string(typ))
	}
	slices.Sort(want)
	slices.Sort(pattern.DetailType)
	if !slices.Equal(pattern.Source, []string{"referflow"}) || !slices.Equal(pattern.DetailType, want) {
		t.Errorf("pattern %s, want detail types %v", fn.Rules[0].Pattern, want)
	}
	if u := fn.Environment["REFERFLOW_PUBLIC_BASE_URL"]; !strings.HasPrefix(u, "https://") || !strings.Contains(u, ".execute-api.") {
		t.Errorf("REFERFLOW_PUBLIC_BASE_URL = %q without a PublicBaseUrl", u)
	}
	if fn.Environment["REFERFLOW_MAIL_FROM"] != "referflow@example.com" {
		t.Errorf("REFERFLOW_MAIL_FROM = %q", fn.Environment["REFERFLOW_MAIL_FROM"])
	}
	withDomain, err := sam.Load("../../template.yaml", sam.Options{Parameters: map[string]string{"PublicBaseUrl": "https://refer.acme.example"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range withDomain.Functions {
		if f.LogicalID == "NotifyFunction" && f.Environment["REFERFLOW_PUBLIC_BASE_URL"] != "https://refer.acme.example" {
			t.Errorf("with PublicBaseUrl: %q", f.Environment["REFERFLOW_PUBLIC_BASE_URL"])
		}
	}
}

// The sample events (events/notify-*.json, for sam local invoke) are what
// the function is given: the domain event mails its partner and operator,
// the schedule summarises the month before.
func TestSampleEvents(t *testing.T) {
	f := newFixture(t)
	var in lambdaevents.EventBridgeEvent
	read := func(name string) {
		t.Helper()
		b, err := os.ReadFile("../../events/" + name)
		if err != nil {
			t.Fatal(err)
		}
		in = lambdaevents.EventBridgeEvent{}
		if err := json.Unmarshal(b, &in); err != nil {
			t.Fatal(err)
		}
	}
	read("notify-referral-received.json")
	var ev events.Event
	if err := json.Unmarshal(in.Detail, &ev); err != nil || ev.ID == "" || ev.Type != events.ReferralReceived {
		t.Fatalf("sample detail %+v %v", ev, err)
	}
	// The fixture's referral under the sample's id.
	r := *f.st.referrals["ref_01"]
	r.ID, r.ProgramID, r.ProgramVersion = ev.ReferralID, ev.ProgramID, ev.ProgramVersion
	f.st.referrals[r.ID] = &r
	p := *f.st.programs["b2b/3"]
	p.ID, p.Version = ev.ProgramID, ev.ProgramVersion
	f.st.programs[fmt.Sprintf("%s/%d", p.ID, p.Version)], f.st.programs[p.ID+"/current"] = &p, &p
	pt := f.st.partners["b2b/ANN42"]
	pt.ProgramID = ev.ProgramID
	f.st.partners[p.ID+"/ANN42"] = pt
	if err := f.h.Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if got := f.sender.to(); len(got) != 2 {
		t.Fatalf("sent %v", got)
	}
	read("notify-monthly-summary.json")
	if in.Source != "aws.events" || in.Time.Month() != time.December {
		t.Fatalf("schedule sample %+v", in)
	}
	f.st.activity[p.ID+"/ANN1/2026-11"] = &store.MailActivity{Referrals: []string{r.ID}}
	f.st.months["2026-11"] = []string{p.ID}
	if err := f.h.Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if got := f.sender.to(); len(got) != 3 || got[2] != "monthly_summary>"+partnerEmail {
		t.Fatalf("sent %v", got)
	}
}

// A payout or a reversal a rail refused is counted for its alarm (ids
// only, also when no email can be written) and mailed to the operators
// once per event; a reversal the rail made is neither.
func TestRailRefusalsAreCountedAndMailedToOperators(t *testing.T) {
	f := newFixture(t)
	var metricsOut bytes.Buffer
	f.h.Metrics = metrics.New(&metricsOut, "notify", f.h.Now)
	rewardEvent := func(id string, typ events.Type, status string, data ...string) events.Event {
		e := event(id, typ, status, append([]string{"milestone", "won", "party", "referrer", "kind", "cash", "amount_minor", "50000", "currency", "USD"}, data...)...)
		e.RewardID = "rw_1"
		return e
	}
	gone := rewardEvent("e4", events.RewardFailed, "failed", "rail", "paypal")
	gone.ReferralID = "ref_gone"
	cases := []struct {
		name   string
		in     events.Event
		metric string // "" = none
		sent   string // "" = no email
	}{
		{"a payout refused", rewardEvent("e1", events.RewardFailed, "failed", "rail", "stripe"), "PayoutsFailed", "operator_payout_failed>ops@acme.example"},
		{"the same event again", rewardEvent("e1", events.RewardFailed, "failed", "rail", "stripe"), "PayoutsFailed", ""},
		{"a reversal refused", rewardEvent("e2", events.RewardRailReversal, "paid", "rail", "stripe", "outcome", "refused"), "RailReversalsRefused", "operator_reversal_refused>ops@acme.example"},
		{"a reversal made", rewardEvent("e3", events.RewardRailReversal, "paid", "rail", "stripe", "outcome", "reversed", "reference", "trr_1"), "", ""},
		{"a payout refused for a referral gone", gone, "PayoutsFailed", ""},
	}
	for _, c := range cases {
		metricsOut.Reset()
		before := len(f.sender.to())
		if err := f.h.Handle(context.Background(), bridge(t, c.in)); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := f.sender.to()[before:]; (c.sent == "" && len(got) != 0) || (c.sent != "" && !slices.Equal(got, []string{c.sent})) {
			t.Errorf("%s: sent %v, want %q", c.name, got, c.sent)
		}
		// One line per metric; the emails sent are counted too.
		var counted []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(metricsOut.String()), "\n") {
			var line map[string]any
			if l == "" {
				continue
			}
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatalf("%s: metric line %q: %v", c.name, l, err)
			}
			if line["PayoutsFailed"] != nil || line["RailReversalsRefused"] != nil {
				counted = append(counted, line)
			}
		}
		if c.metric == "" {
			if len(counted) != 0 {
				t.Errorf("%s: counted %v", c.name, counted)
			}
			continue
		}
		if len(counted) != 1 {
			t.Fatalf("%s: counted %v, want %s once", c.name, counted, c.metric)
		}
		line := counted[0]
		cw := line["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
		if line[c.metric] != float64(1) || fmt.Sprint(cw["Dimensions"]) != "[[Service] []]" || line["reward_id"] != "rw_1" {
			t.Errorf("%s: metric line %v, want %s counted in all services", c.name, line, c.metric)
		}
		for _, pii := range []string{partnerEmail, refereeEmail, "Jane Doe", "Ann Partner", "Acme Robotics"} {
			if strings.Contains(metricsOut.String(), pii) {
				t.Errorf("%s: the metric holds %q", c.name, pii)
			}
		}
	}
}
