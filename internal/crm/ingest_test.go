package crm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/activity"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/workflow"
)

const programYAML = `
schema: 1
id: partners
currency: EUR
later_implies_earlier: %s
milestones:
  - name: qualified
    deadline: 90d
    stages:
      - {provider: hubspot, pipeline: default, stage: qualifiedtobuy}
      - {provider: salesforce, stage: Qualification}
    rewards:
      - {party: referrer, kind: cash, amount: 100}
  - name: demo
    deadline: 90d
    stages:
      - {provider: hubspot, pipeline: default, stage: presentationscheduled}
    rewards:
      - {party: referrer, kind: cash, amount: 50}
  - name: won
    deadline: 365d
    hold: 30d
    stages:
      - {provider: hubspot, pipeline: default, stage: closedwon}
      - {provider: pipedrive, status: won}
      - {provider: salesforce, stage: Closed Won}
    rewards:
      - {party: referrer, kind: cash, amount: 500}
lost:
  - {provider: hubspot, pipeline: default, stage: closedlost}
  - {provider: pipedrive, status: lost}
  - {provider: salesforce, status: lost}
`

func loadProgram(t *testing.T, implies bool) *program.Program {
	t.Helper()
	v := "false"
	if implies {
		v = "true"
	}
	p, err := program.Load([]byte(strings.Replace(programYAML, "%s", v, 1)))
	if err != nil {
		t.Fatalf("program.Load: %v", err)
	}
	p.Version = 3
	return p
}

type fixedReader byte

func (f fixedReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(f)
	}
	return len(p), nil
}

var t0 = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// refID returns a valid referral id created at t0 + n minutes.
func refID(n int) string {
	id, err := referral.NewID(t0.Add(time.Duration(n)*time.Minute), fixedReader(byte(n)))
	if err != nil {
		panic(err)
	}
	return id
}

type env struct {
	st    *fakeStore
	sfn   *fakeSFN
	in    *Ingester
	clock time.Time
	p     *program.Program
}

func newEnv(t *testing.T, implies bool) *env {
	e := &env{st: newFakeStore(), sfn: &fakeSFN{}, clock: t0.Add(24 * time.Hour), p: loadProgram(t, implies)}
	e.st.addProgram(e.p)
	e.in = &Ingester{Store: e.st, SFN: e.sfn, Now: func() time.Time { return e.clock },
		Rewards: &rewards.Service{Repo: rewardRepo{f: e.st}, Now: func() time.Time { return e.clock }},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil))}
	return e
}

// add stores a referral of the program; mod changes it first.
func (e *env) add(id string, mod func(r *referral.Referral)) {
	r := &referral.Referral{ID: id, ProgramID: e.p.ID, ProgramVersion: e.p.Version, Status: referral.StatusInProgress,
		RefereeEmail: "bob@acme.io", Milestones: map[string]time.Time{}, CreatedAt: t0}
	if mod != nil {
		mod(r)
	}
	e.st.addReferral(r)
}

func (e *env) ingest(t *testing.T, evs ...Event) Summary {
	t.Helper()
	sum, err := e.in.Ingest(context.Background(), evs)
	if err != nil {
		t.Fatalf("Ingest: %v", err)
	}
	return sum
}

func stage(id, record, pipeline, stg string) Event {
	return Event{Provider: "hubspot", ID: id, Kind: KindStageChanged, RecordID: record, Pipeline: pipeline, Stage: stg}
}

func wantOutcomes(t *testing.T, sum Summary, received int, want map[string]int) {
	t.Helper()
	if sum.Received != received || !reflect.DeepEqual(sum.Outcomes, want) {
		t.Fatalf("summary = %+v, want received %d outcomes %v", sum, received, want)
	}
}

func TestMilestoneResumesWaitingWorkflow(t *testing.T) {
	e := newEnv(t, true)
	id := refID(1)
	e.add(id, nil)
	e.st.wait(id, "won", "token-won")
	e.st.links["hubspot#D1"] = id

	sum := e.ingest(t, stage("E1", "D1", "default", "closedwon"))
	wantOutcomes(t, sum, 1, map[string]int{OutcomeMilestone: 1})

	if len(e.sfn.successes) != 1 || len(e.sfn.failures) != 0 {
		t.Fatalf("callbacks: %d successes, %d failures", len(e.sfn.successes), len(e.sfn.failures))
	}
	s := e.sfn.successes[0]
	if str(s.TaskToken) != "token-won" {
		t.Fatalf("resumed token %q", str(s.TaskToken))
	}
	var out workflow.Reached
	if err := json.Unmarshal([]byte(str(s.Output)), &out); err != nil || out.Milestone != "won" || !out.ReachedAt.Equal(e.clock) {
		t.Fatalf("output %s (%v)", str(s.Output), err)
	}
	r := e.st.get(id)
	if !reflect.DeepEqual(r.Milestones, map[string]time.Time{"qualified": e.clock, "demo": e.clock, "won": e.clock}) {
		t.Fatalf("milestones %v", r.Milestones)
	}
	if r.CRMProvider != "hubspot" || r.CRMRecordID != "D1" {
		t.Fatalf("crm record %s/%s", r.CRMProvider, r.CRMRecordID)
	}
	if ev := e.st.event("hubspot", "E1"); ev.state != "applied" || ev.outcome != OutcomeMilestone || ev.referralID != id {
		t.Fatalf("event record %+v", ev)
	}
	acts := e.st.activities[id]
	if len(acts) != 1 || acts[0].Type != events.ReferralDealEvent || acts[0].Actor != "webhook:hubspot" ||
		acts[0].Data["event_id"] != "E1" || acts[0].Data["outcome"] != OutcomeMilestone || !strings.Contains(acts[0].Detail, "Milestone won reached") {
		t.Fatalf("activity %+v", acts)
	}
	if e.st.putLinks != 0 {
		t.Fatalf("a stored link was stored again (%d PutLink)", e.st.putLinks)
	}
}

func TestMilestoneNotWaitedForIsRecordedWithoutResume(t *testing.T) {
	e := newEnv(t, true)
	id := refID(1)
	e.add(id, nil)
	e.st.wait(id, "won", "token-won")
	e.st.links["hubspot#D1"] = id
	wantOutcomes(t, e.ingest(t, stage("E1", "D1", "default", "qualifiedtobuy")), 1, map[string]int{OutcomeMilestone: 1})
	if e.sfn.calls() != 0 {
		t.Fatal("resumed a wait for another milestone")
	}
	if r := e.st.get(id); !reflect.DeepEqual(r.Milestones, map[string]time.Time{"qualified": e.clock}) {
		t.Fatalf("milestones %v", r.Milestones)
	}
}

func TestDuplicateEventAppliesOnce(t *testing.T) {
	e := newEnv(t, true)
	id := refID(1)
	e.add(id, nil)
	e.st.wait(id, "won", "token-won")
	e.st.links["hubspot#D1"] = id
	ev := stage("E1", "D1", "default", "closedwon")
	wantOutcomes(t, e.ingest(t, ev), 1, map[string]int{OutcomeMilestone: 1})
	e.clock = e.clock.Add(time.Hour)
	wantOutcomes(t, e.ingest(t, ev), 1, map[string]int{OutcomeDuplicate: 1})
	// Twice in the same delivery too.
	wantOutcomes(t, e.ingest(t, ev, ev), 2, map[string]int{OutcomeDuplicate: 2})
	if e.sfn.calls() != 1 {
		t.Fatalf("%d callbacks, want 1", e.sfn.calls())
	}
	if len(e.st.deals) != 1 || len(e.st.activities[id]) != 1 {
		t.Fatalf("applied %d times, %d activities", len(e.st.deals), len(e.st.activities[id]))
	}
	if r := e.st.get(id); !r.Milestones["won"].Equal(t0.Add(24 * time.Hour)) {
		t.Fatalf("won at %v", r.Milestones["won"])
	}
}

func TestUntrackedRecord(t *testing.T) {
	e := newEnv(t, true)
	e.add(refID(1), nil)
	sum := e.ingest(t, stage("E9", "NOPE", "default", "closedwon"))
	wantOutcomes(t, sum, 1, map[string]int{OutcomeUntracked: 1})
	if ev := e.st.event("hubspot", "E9"); ev.state != "applied" || ev.outcome != OutcomeUntracked || ev.referralID != "" {
		t.Fatalf("event record %+v", ev)
	}
	if len(e.st.deals) != 0 || e.st.putLinks != 0 || e.sfn.calls() != 0 || len(e.st.activities) != 0 {
		t.Fatal("an untracked event changed something")
	}
	// Redelivered: a duplicate now.
	wantOutcomes(t, e.ingest(t, stage("E9", "NOPE", "default", "closedwon")), 1, map[string]int{OutcomeDuplicate: 1})
}

func TestIgnoredEventsAreNotClaimed(t *testing.T) {
	e := newEnv(t, true)
	sum := e.ingest(t, Event{Provider: "hubspot", ID: "E1", Kind: KindIgnored, RecordID: "D1"},
		Event{Provider: "hubspot", ID: "", Kind: KindStageChanged, RecordID: "D1", Stage: "closedwon"})
	wantOutcomes(t, sum, 2, map[string]int{OutcomeIgnored: 2})
	if len(e.st.events) != 0 {
		t.Fatalf("ignored events claimed: %v", e.st.events)
	}
}

func TestLinking(t *testing.T) {
	older, newer, newest := refID(1), refID(2), refID(3)
	cases := []struct {
		name     string
		setup    func(e *env)
		ev       Event
		want     string // referral the milestone lands on ("" = untracked)
		outcome  string
		wantLink string // link stored for hubspot#D1 afterwards
	}{
		{"stored link", func(e *env) {
			e.add(older, nil)
			e.add(newer, nil)
			e.st.links["hubspot#D1"] = older
		}, Event{ReferralID: newer, Email: "bob@acme.io"}, older, OutcomeMilestone, older},
		{"referral id hint", func(e *env) {
			e.add(older, nil)
			e.add(newer, nil)
		}, Event{ReferralID: " " + older + " "}, older, OutcomeMilestone, older},
		{"hint for an unknown referral falls back to email", func(e *env) {
			e.add(older, nil)
		}, Event{ReferralID: refID(9), Email: "BOB@acme.io"}, older, OutcomeMilestone, older},
		{"malformed hint is not looked up", func(e *env) {
			e.add(older, nil)
		}, Event{ReferralID: "ref_1"}, "", OutcomeUntracked, ""},
		{"email: newest open referral preferred", func(e *env) {
			e.add(older, nil)
			e.add(newer, nil)
			e.add(newest, func(r *referral.Referral) { r.Status = referral.StatusRejected })
		}, Event{Email: "bob@acme.io"}, newer, OutcomeMilestone, newer},
		{"email: newest when all open", func(e *env) {
			e.add(older, nil)
			e.add(newer, nil)
		}, Event{Email: "bob@acme.io"}, newer, OutcomeMilestone, newer},
		{"email: all ended → newest, closed", func(e *env) {
			e.add(older, func(r *referral.Referral) { r.Status = referral.StatusLost })
			e.add(newer, func(r *referral.Referral) { r.Status = referral.StatusExpired })
		}, Event{Email: "bob@acme.io"}, newer, OutcomeClosed, newer},
		{"email of nobody", func(e *env) {
			e.add(older, nil)
		}, Event{Email: "eve@other.io"}, "", OutcomeUntracked, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, false)
			c.setup(e)
			ev := c.ev
			ev.Provider, ev.ID, ev.Kind, ev.RecordID, ev.Pipeline, ev.Stage = "hubspot", "E1", KindStageChanged, "D1", "default", "qualifiedtobuy"
			wantOutcomes(t, e.ingest(t, ev), 1, map[string]int{c.outcome: 1})
			if got := e.st.links["hubspot#D1"]; got != c.wantLink {
				t.Fatalf("link = %q, want %q", got, c.wantLink)
			}
			if got := e.st.event("hubspot", "E1"); got.referralID != c.want || got.state != "applied" {
				t.Fatalf("event %+v, want referral %q", got, c.want)
			}
			for _, id := range []string{older, newer, newest} {
				r := e.st.get(id)
				if r == nil {
					continue
				}
				_, reached := r.Milestones["qualified"]
				if want := id == c.want && c.outcome == OutcomeMilestone; reached != want {
					t.Errorf("referral %s reached=%v, want %v", id, reached, want)
				}
			}
		})
	}
}

func TestLinkStoredAfterHintMatch(t *testing.T) {
	e := newEnv(t, false)
	a, b := refID(1), refID(2)
	e.add(a, func(r *referral.Referral) { r.RefereeEmail = "ann@x.io" })
	e.add(b, func(r *referral.Referral) { r.RefereeEmail = "bob@y.io" })
	first := stage("E1", "D1", "default", "qualifiedtobuy")
	first.ReferralID = a
	wantOutcomes(t, e.ingest(t, first), 1, map[string]int{OutcomeMilestone: 1})
	if e.st.links["hubspot#D1"] != a || e.st.putLinks != 1 {
		t.Fatalf("link %q after %d PutLink", e.st.links["hubspot#D1"], e.st.putLinks)
	}
	// A later event with no hints (and even a misleading one) follows the link.
	second := stage("E2", "D1", "default", "closedwon")
	second.Email = "bob@y.io"
	wantOutcomes(t, e.ingest(t, second), 1, map[string]int{OutcomeMilestone: 1})
	if !e.st.get(a).Reached("won") || e.st.get(b).Reached("won") {
		t.Fatal("the stored link was not followed")
	}
	if e.st.putLinks != 1 {
		t.Fatalf("%d PutLink calls, want 1", e.st.putLinks)
	}
}

func TestFirstLinkWins(t *testing.T) {
	e := newEnv(t, false)
	a, b := refID(1), refID(2)
	e.add(a, nil)
	e.add(b, nil)
	// Another delivery linked D1 to a between our Link miss and PutLink.
	e.st.links["hubspot#D1"] = a
	e.st.hideLinkOnce = true
	ev := stage("E1", "D1", "default", "qualifiedtobuy")
	ev.ReferralID = b
	wantOutcomes(t, e.ingest(t, ev), 1, map[string]int{OutcomeMilestone: 1})
	if e.st.links["hubspot#D1"] != a {
		t.Fatalf("link overwritten: %q", e.st.links["hubspot#D1"])
	}
	if !e.st.get(a).Reached("qualified") || e.st.get(b).Reached("qualified") {
		t.Fatal("the event was not applied to the referral the record is linked to")
	}
	if got := e.st.event("hubspot", "E1").referralID; got != a {
		t.Fatalf("event finished for %q", got)
	}
}

func TestLostAndDeleted(t *testing.T) {
	cases := []struct {
		name    string
		ev      Event
		reason  string
		outcome string
	}{
		{"lost stage", stage("E1", "D1", "default", "closedlost"), "lost", OutcomeLost},
		{"deleted", Event{Provider: "hubspot", ID: "E1", Kind: KindDeleted, RecordID: "D1"}, "deleted", OutcomeLost},
		// A refund also ends the wait like a lost deal; it is counted apart
		// because it may reverse rewards already paid.
		{"refunded", Event{Provider: "hubspot", ID: "E1", Kind: KindRefunded, RecordID: "D1"}, "refunded", OutcomeRefunded},
		{"pipedrive lost status beats a milestone stage", Event{Provider: "pipedrive", ID: "E1", Kind: KindStageChanged, RecordID: "D1", Stage: "2", Status: StatusLost}, "lost", OutcomeLost},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, true)
			id := refID(1)
			e.add(id, nil)
			e.st.wait(id, "qualified", "tok-q")
			e.st.links[c.ev.Provider+"#D1"] = id
			wantOutcomes(t, e.ingest(t, c.ev), 1, map[string]int{c.outcome: 1})
			if len(e.sfn.failures) != 1 || len(e.sfn.successes) != 0 {
				t.Fatalf("callbacks: %d successes, %d failures", len(e.sfn.successes), len(e.sfn.failures))
			}
			f := e.sfn.failures[0]
			if str(f.TaskToken) != "tok-q" || str(f.Error) != "Referral.Lost" || str(f.Cause) != "the deal was "+c.reason+" in the CRM" {
				t.Fatalf("SendTaskFailure(%s, %s, %s)", str(f.TaskToken), str(f.Error), str(f.Cause))
			}
			r := e.st.get(id)
			if r.LostAt == nil || !r.LostAt.Equal(e.clock) || r.LostReason != c.reason || len(r.Milestones) != 0 {
				t.Fatalf("referral lost=%v reason=%q milestones=%v", r.LostAt, r.LostReason, r.Milestones)
			}
		})
	}
}

func TestLostKeepsFirstTimeAndReason(t *testing.T) {
	e := newEnv(t, true)
	id := refID(1)
	e.add(id, nil)
	e.st.links["hubspot#D1"] = id
	first := e.clock
	e.ingest(t, stage("E1", "D1", "default", "closedlost"))
	e.clock = e.clock.Add(time.Hour)
	e.ingest(t, Event{Provider: "hubspot", ID: "E2", Kind: KindDeleted, RecordID: "D1"})
	r := e.st.get(id)
	if !r.LostAt.Equal(first) || r.LostReason != "lost" {
		t.Fatalf("lost at %v (%s), want %v (lost)", r.LostAt, r.LostReason, first)
	}
}

func TestLaterImpliesEarlier(t *testing.T) {
	for _, implies := range []bool{true, false} {
		e := newEnv(t, implies)
		id := refID(1)
		e.add(id, nil)
		e.st.wait(id, "qualified", "tok-q")
		e.st.links["hubspot#D1"] = id
		e.ingest(t, stage("E1", "D1", "default", "closedwon"))
		r := e.st.get(id)
		want := map[string]time.Time{"won": e.clock}
		if implies {
			want = map[string]time.Time{"qualified": e.clock, "demo": e.clock, "won": e.clock}
		}
		if !reflect.DeepEqual(r.Milestones, want) {
			t.Fatalf("implies=%v: milestones %v, want %v", implies, r.Milestones, want)
		}
		// The wait for "qualified" is satisfied only when implied.
		if got := len(e.sfn.successes); (got == 1) != implies {
			t.Fatalf("implies=%v: %d resumes", implies, got)
		}
		if implies {
			var out workflow.Reached
			_ = json.Unmarshal([]byte(str(e.sfn.successes[0].Output)), &out)
			if out.Milestone != "qualified" || str(e.sfn.successes[0].TaskToken) != "tok-q" {
				t.Fatalf("resumed with %s", str(e.sfn.successes[0].Output))
			}
		}
	}
}

func TestDealMovingBackwardsKeepsMilestones(t *testing.T) {
	e := newEnv(t, true)
	id := refID(1)
	e.add(id, nil)
	e.st.links["hubspot#D1"] = id
	wonAt := e.clock
	e.ingest(t, stage("E1", "D1", "default", "closedwon"))
	e.clock = e.clock.Add(48 * time.Hour)
	sum := e.ingest(t, stage("E2", "D1", "default", "qualifiedtobuy"), stage("E3", "D1", "default", "appointmentscheduled"))
	wantOutcomes(t, sum, 2, map[string]int{OutcomeMilestone: 1, OutcomeNoChange: 1})
	r := e.st.get(id)
	want := map[string]time.Time{"qualified": wonAt, "demo": wonAt, "won": wonAt}
	if !reflect.DeepEqual(r.Milestones, want) {
		t.Fatalf("milestones %v, want %v", r.Milestones, want)
	}
}

func TestEventAfterReferralEnded(t *testing.T) {
	for _, st := range []referral.Status{referral.StatusCompleted, referral.StatusLost, referral.StatusExpired, referral.StatusRejected} {
		t.Run(string(st), func(t *testing.T) {
			e := newEnv(t, true)
			id := refID(1)
			e.add(id, func(r *referral.Referral) {
				r.Status = st
			})
			e.st.wait(id, "won", "old-token")
			e.st.links["hubspot#D1"] = id
			sum := e.ingest(t, stage("E1", "D1", "default", "closedwon"), stage("E2", "D1", "default", "closedlost"))
			wantOutcomes(t, sum, 2, map[string]int{OutcomeClosed: 2})
			if e.sfn.calls() != 0 {
				t.Fatal("resumed a workflow that has ended")
			}
			// Only a loss after completion is recorded: it takes the sale
			// back (TestLossAfterCompletionReversesTheSale).
			r := e.st.get(id)
			if len(r.Milestones) != 0 || (r.LostAt != nil) != (st == referral.StatusCompleted) || r.Status != st {
				t.Fatalf("an ended referral changed: %s milestones %v lost %v", r.Status, r.Milestones, r.LostAt)
			}
			ev := e.st.event("hubspot", "E1")
			if ev.state != "applied" || ev.outcome != OutcomeClosed || ev.referralID != id {
				t.Fatalf("event %+v", ev)
			}
			acts := e.st.activities[id]
			if len(acts) != 2 || acts[0].Data["outcome"] != OutcomeClosed || !strings.Contains(acts[0].Detail, "after the referral ended ("+string(st)+")") {
				t.Fatalf("activities %+v", acts)
			}
		})
	}
}

func TestTransientErrorOnOneEventOfABatch(t *testing.T) {
	e := newEnv(t, true)
	a, b, c := refID(1), refID(2), refID(3)
	for i, id := range []string{a, b, c} {
		e.add(id, nil)
		e.st.wait(id, "won", "tok-"+id)
		e.st.links["hubspot#D"+string(rune('1'+i))] = id
	}
	boom := errors.New("ProvisionedThroughputExceeded")
	e.st.fail = func(method, arg string) error {
		if method == "RecordDeal" && arg == b {
			return boom
		}
		return nil
	}
	batch := []Event{stage("E1", "D1", "default", "closedwon"), stage("E2", "D2", "default", "closedwon"), stage("E3", "D3", "default", "closedwon")}
	sum, err := e.in.Ingest(context.Background(), batch)
	if !errors.Is(err, boom) {
		t.Fatalf("Ingest err = %v, want the store error", err)
	}
	wantOutcomes(t, sum, 3, map[string]int{OutcomeMilestone: 2})
	if !e.st.get(a).Reached("won") || e.st.get(b).Reached("won") || !e.st.get(c).Reached("won") {
		t.Fatal("the other events of the batch were not applied")
	}
	if ev := e.st.event("hubspot", "E2"); ev.state != "received" {
		t.Fatalf("failed event is %+v, want received (not applied)", ev)
	}
	if e.sfn.calls() != 2 {
		t.Fatalf("%d callbacks, want 2", e.sfn.calls())
	}
	// The sender redelivers the whole batch: only E2 is applied now.
	e.st.fail = nil
	sum = e.ingest(t, batch...)
	wantOutcomes(t, sum, 3, map[string]int{OutcomeDuplicate: 2, OutcomeMilestone: 1})
	if !e.st.get(b).Reached("won") || e.sfn.calls() != 3 {
		t.Fatalf("redelivery: reached=%v callbacks=%d", e.st.get(b).Reached("won"), e.sfn.calls())
	}
	if got := e.st.event("hubspot", "E2"); got.state != "applied" || got.attempts != 2 {
		t.Fatalf("E2 record %+v", got)
	}
}

func TestTransientErrorsAtEachStep(t *testing.T) {
	for _, method := range []string{"ClaimEvent", "Link", "Referral", "ProgramVersion", "RecordDeal", "Record", "FinishEvent"} {
		t.Run(method, func(t *testing.T) {
			e := newEnv(t, true)
			id := refID(1)
			e.add(id, nil)
			e.st.links["hubspot#D1"] = id
			boom := errors.New("boom " + method)
			e.st.fail = func(m, _ string) error {
				if m == method {
					return boom
				}
				return nil
			}
			_, err := e.in.Ingest(context.Background(), []Event{stage("E1", "D1", "default", "closedwon")})
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v", err)
			}
			if ev := e.st.event("hubspot", "E1"); ev.state == "applied" {
				t.Fatal("a failed event was marked applied")
			}
		})
	}
}

func TestResumeErrorFailsTheEvent(t *testing.T) {
	e := newEnv(t, true)
	id := refID(1)
	e.add(id, nil)
	e.st.wait(id, "won", "tok")
	e.st.links["hubspot#D1"] = id
	e.sfn.err = errors.New("sfn throttled")
	if _, err := e.in.Ingest(context.Background(), []Event{stage("E1", "D1", "default", "closedwon")}); err == nil {
		t.Fatal("a failed SendTaskSuccess must fail the delivery")
	}
	if e.st.event("hubspot", "E1").state != "received" {
		t.Fatal("the event must stay unapplied so it is redelivered")
	}
}

// fakeEnricher fills the deal from a table, counting calls.
type fakeEnricher struct {
	deals map[string]Event
	calls int
	err   error
}

func (f *fakeEnricher) Enrich(_ context.Context, ev *Event) error {
	f.calls++
	if f.err != nil {
		return f.err
	}
	d := f.deals[ev.RecordID]
	if ev.Pipeline == "" {
		ev.Pipeline = d.Pipeline
	}
	if ev.Stage == "" {
		ev.Stage = d.Stage
	}
	if ev.ReferralID == "" {
		ev.ReferralID = d.ReferralID
	}
	if ev.Email == "" {
		ev.Email = d.Email
	}
	return nil
}

func TestEnricher(t *testing.T) {
	id := refID(1)
	cases := []struct {
		name      string
		linked    bool
		ev        Event
		err       error
		wantCalls int
		wantOut   string
	}{
		{"record id only, no link: looked up, linked by the hint found",
			false, Event{Kind: KindStageChanged}, nil, 1, OutcomeMilestone},
		{"link and stage: no look-up",
			true, Event{Kind: KindStageChanged, Pipeline: "default", Stage: "closedwon"}, nil, 0, OutcomeMilestone},
		{"hint on the event: no look-up to link, stage present",
			false, Event{Kind: KindStageChanged, Pipeline: "default", Stage: "closedwon", ReferralID: id}, nil, 0, OutcomeMilestone},
		{"link but no stage: looked up for the stage",
			true, Event{Kind: KindStageChanged}, nil, 1, OutcomeMilestone},
		{"deleted with link: no look-up",
			true, Event{Kind: KindDeleted}, nil, 0, OutcomeLost},
		{"look-up fails: transient",
			false, Event{Kind: KindStageChanged}, errors.New("hubspot 429"), 1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, true)
			e.add(id, nil)
			if c.linked {
				e.st.links["hubspot#D1"] = id
			}
			enr := &fakeEnricher{deals: map[string]Event{"D1": {Pipeline: "default", Stage: "closedwon", ReferralID: id}}, err: c.err}
			e.in.Enrichers = map[string]Enricher{"hubspot": enr}
			ev := c.ev
			ev.Provider, ev.ID, ev.RecordID = "hubspot", "E1", "D1"
			sum, err := e.in.Ingest(context.Background(), []Event{ev})
			if enr.calls != c.wantCalls {
				t.Fatalf("enricher called %d times, want %d", enr.calls, c.wantCalls)
			}
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v", err)
				}
				if e.st.event("hubspot", "E1").state != "received" {
					t.Fatal("event marked applied after a failed look-up")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantOutcomes(t, sum, 1, map[string]int{c.wantOut: 1})
			if e.st.links["hubspot#D1"] != id {
				t.Fatalf("link %q", e.st.links["hubspot#D1"])
			}
		})
	}
	// Another provider's enricher is never used.
	e := newEnv(t, true)
	enr := &fakeEnricher{}
	e.in.Enrichers = map[string]Enricher{"hubspot": enr}
	e.ingest(t, Event{Provider: "pipedrive", ID: "E1", Kind: KindStageChanged, RecordID: "D1"})
	if enr.calls != 0 {
		t.Fatal("hubspot enricher used for pipedrive")
	}
}

func TestUpdate(t *testing.T) {
	p := loadProgram(t, true)
	noImply := loadProgram(t, false)
	eur := func(minor int64, cur string) *money.Money { return &money.Money{Minor: minor, Currency: cur} }
	cases := []struct {
		name    string
		p       *program.Program
		ev      Event
		want    referral.DealUpdate
		outcome string
	}{
		{"hubspot won implies earlier", p, Event{Provider: "hubspot", Kind: KindStageChanged, RecordID: "D", Pipeline: "default", Stage: "closedwon"},
			referral.DealUpdate{Provider: "hubspot", RecordID: "D", Milestones: []string{"qualified", "demo", "won"}}, OutcomeMilestone},
		{"hubspot won without implication", noImply, Event{Provider: "hubspot", Kind: KindStageChanged, RecordID: "D", Pipeline: "default", Stage: "closedwon"},
			referral.DealUpdate{Provider: "hubspot", RecordID: "D", Milestones: []string{"won"}}, OutcomeMilestone},
		{"hubspot pipeline unknown matches", noImply, Event{Provider: "hubspot", Kind: KindStageChanged, Stage: "presentationscheduled"},
			referral.DealUpdate{Provider: "hubspot", Milestones: []string{"demo"}}, OutcomeMilestone},
		{"hubspot other pipeline: no change", p, Event{Provider: "hubspot", Kind: KindStageChanged, Pipeline: "enterprise", Stage: "closedwon"},
			referral.DealUpdate{Provider: "hubspot"}, OutcomeNoChange},
		{"hubspot stage ids compare exactly", p, Event{Provider: "hubspot", Kind: KindStageChanged, Pipeline: "default", Stage: "ClosedWon"},
			referral.DealUpdate{Provider: "hubspot"}, OutcomeNoChange},
		{"hubspot lost", p, Event{Provider: "hubspot", Kind: KindStageChanged, Pipeline: "default", Stage: "closedlost"},
			referral.DealUpdate{Provider: "hubspot", Lost: true, LostReason: "lost"}, OutcomeLost},
		{"salesforce stage name", noImply, Event{Provider: "salesforce", Kind: KindStageChanged, Stage: "Closed Won"},
			referral.DealUpdate{Provider: "salesforce", Milestones: []string{"won"}}, OutcomeMilestone},
		{"salesforce lost status beats qualification stage", p, Event{Provider: "salesforce", Kind: KindStageChanged, Stage: "Qualification", Status: "LOST"},
			referral.DealUpdate{Provider: "salesforce", Lost: true, LostReason: "lost"}, OutcomeLost},
		{"pipedrive won status", noImply, Event{Provider: "pipedrive", Kind: KindStageChanged, Stage: "4", Status: StatusWon},
			referral.DealUpdate{Provider: "pipedrive", Milestones: []string{"won"}}, OutcomeMilestone},
		{"pipedrive open: no change", p, Event{Provider: "pipedrive", Kind: KindStageChanged, Stage: "4", Status: StatusOpen},
			referral.DealUpdate{Provider: "pipedrive"}, OutcomeNoChange},
		{"generic milestone name", noImply, Event{Provider: "generic", Kind: KindStageChanged, Stage: "Demo"},
			referral.DealUpdate{Provider: "generic", Milestones: []string{"demo"}}, OutcomeMilestone},
		{"generic lost", p, Event{Provider: "generic", Kind: KindStageChanged, Stage: "LOST"},
			referral.DealUpdate{Provider: "generic", Lost: true, LostReason: "lost"}, OutcomeLost},
		{"generic unknown stage", p, Event{Provider: "generic", Kind: KindStageChanged, Stage: "negotiation"},
			referral.DealUpdate{Provider: "generic"}, OutcomeNoChange},
		{"deleted", p, Event{Provider: "hubspot", Kind: KindDeleted, RecordID: "D", Stage: "closedwon"},
			referral.DealUpdate{Provider: "hubspot", RecordID: "D", Lost: true, LostReason: "deleted"}, OutcomeLost},
		{"refunded", p, Event{Provider: "generic", Kind: KindRefunded},
			referral.DealUpdate{Provider: "generic", Lost: true, LostReason: "refunded"}, OutcomeLost},
		{"amount in the program currency", p, Event{Provider: "hubspot", Kind: KindAmountChanged, Amount: eur(1250050, "EUR")},
			referral.DealUpdate{Provider: "hubspot", AmountMinor: 1250050, Currency: "EUR"}, OutcomeAmount},
		// Issue 9: an amount whose currency nobody said is never given the
		// program's currency (it was: 1,000,000 JPY became 100,000,000).
		// (HubSpot keeps the text to look the currency up: AmountText.)
		{"amount without currency: not recorded", p, Event{Provider: "hubspot", Kind: KindAmountChanged, Amount: eur(1250050, ""), AmountText: "12500.50"},
			referral.DealUpdate{Provider: "hubspot"}, OutcomeNoChange},
		{"a provider that never says a currency: the program's", p, Event{Provider: "salesforce", Kind: KindAmountChanged, Amount: eur(1250050, "")},
			referral.DealUpdate{Provider: "salesforce", AmountMinor: 1250050, Currency: "EUR"}, OutcomeAmount},
		{"amount currency upper-cased", p, Event{Provider: "hubspot", Kind: KindAmountChanged, Amount: eur(900, "usd")},
			referral.DealUpdate{Provider: "hubspot", AmountMinor: 900, Currency: "USD"}, OutcomeAmount},
		{"zero amount ignored", p, Event{Provider: "hubspot", Kind: KindAmountChanged, Amount: eur(0, "EUR")},
			referral.DealUpdate{Provider: "hubspot"}, OutcomeNoChange},
		{"negative amount ignored", p, Event{Provider: "hubspot", Kind: KindAmountChanged, Amount: eur(-5, "EUR")},
			referral.DealUpdate{Provider: "hubspot"}, OutcomeNoChange},
		{"milestone with amount", noImply, Event{Provider: "hubspot", Kind: KindStageChanged, Pipeline: "default", Stage: "closedwon", Amount: eur(500000, "EUR")},
			referral.DealUpdate{Provider: "hubspot", Milestones: []string{"won"}, AmountMinor: 500000, Currency: "EUR"}, OutcomeMilestone},
		{"lost with amount", p, Event{Provider: "pipedrive", Kind: KindStageChanged, Status: "lost", Amount: eur(7, "EUR")},
			referral.DealUpdate{Provider: "pipedrive", Lost: true, LostReason: "lost", AmountMinor: 7, Currency: "EUR"}, OutcomeLost},
		{"no stage at all", p, Event{Provider: "hubspot", Kind: KindStageChanged},
			referral.DealUpdate{Provider: "hubspot"}, OutcomeNoChange},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := c.ev
			got, outcome := Update(c.p, &ev)
			detail := describe(&ev, got, outcome)
			if !reflect.DeepEqual(got, c.want) || outcome != c.outcome {
				t.Fatalf("Update = %+v, %s\nwant     %+v, %s", got, outcome, c.want, c.outcome)
			}
			if detail == "" || !strings.Contains(detail, c.ev.Provider) {
				t.Fatalf("detail %q", detail)
			}
		})
	}
}

func TestUpdateDetails(t *testing.T) {
	p := loadProgram(t, true)
	d := describeEvent(p, &Event{Provider: "hubspot", Pipeline: "default", Stage: "closedwon", Kind: KindStageChanged})
	if d != "Milestone won reached in hubspot (pipeline default, stage closedwon)" {
		t.Fatalf("detail %q", d)
	}
	d = describeEvent(p, &Event{Provider: "pipedrive", Status: "open", Kind: KindStageChanged})
	if d != "Deal moved in pipedrive (status open), not a milestone of the program" {
		t.Fatalf("detail %q", d)
	}
	d = describeEvent(p, &Event{Provider: "pipedrive", Kind: KindStageChanged})
	if !strings.Contains(d, "no stage") {
		t.Fatalf("detail %q", d)
	}
	if !slices.Equal(p.Implied(2), []int{0, 1, 2}) {
		t.Fatal("program fixture does not imply earlier milestones")
	}
}

// A refund after payout claws back the paid rewards of the last milestone
// reached with reversal entries, once; earlier milestones' rewards stay.
func TestRefundAfterPayoutWritesReversalsOnce(t *testing.T) {
	e := newEnv(t, true)
	id := refID(1)
	e.add(id, func(r *referral.Referral) {
		r.Status = referral.StatusCompleted
		r.Milestones = map[string]time.Time{"qualified": t0, "won": t0}
	})
	e.st.links["hubspot#deal-9"] = id
	paid := func(milestone, party string, amount int64) rewards.Reward {
		return rewards.Reward{ID: rewards.RewardID(id, milestone, party), ReferralID: id, Milestone: milestone, Party: party, AmountMinor: amount, Currency: "USD", Status: rewards.StatusPaid}
	}
	e.st.rewards[id] = []rewards.Reward{paid("qualified", "referrer", 10000), paid("won", "referrer", 50000), paid("won", "referee", 100000)}
	for _, evID := range []string{"r1", "r2"} {
		sum := e.ingest(t, Event{Provider: "hubspot", ID: evID, Kind: KindRefunded, RecordID: "deal-9"})
		wantOutcomes(t, sum, 1, map[string]int{OutcomeRefunded: 1})
	}
	if len(e.st.reversals) != 2 {
		t.Fatalf("reversals = %v, want the two won rewards", e.st.reversals)
	}
	for _, en := range e.st.reversals {
		if en.Milestone != "won" || en.AmountMinor >= 0 || en.Type != rewards.EntryReversal {
			t.Fatalf("reversal %+v", en)
		}
	}
}

// describe is the activity-log sentence of the event ingestion records for
// ev with update u and outcome.
func describe(ev *Event, u referral.DealUpdate, outcome string) string {
	r := &referral.Referral{ID: "ref_x"}
	return activity.Describe(dealEvent(ev, r, u, time.Time{}).With("outcome", outcome)).Detail
}

func describeEvent(p *program.Program, ev *Event) string {
	u, outcome := Update(p, ev)
	return describe(ev, u, outcome)
}

// A milestone is reached when the CRM says the deal moved, not when the
// webhook arrived; a time from before the referral existed, or from the
// future (a skewed clock), counts as now.
func TestMilestoneTimeIsWhenTheCRMSaysItHappened(t *testing.T) {
	for _, c := range []struct {
		name     string
		occurred func(e *env) time.Time
		want     func(e *env) time.Time
	}{
		{"CRM time", func(e *env) time.Time { return t0.Add(3 * time.Hour) }, func(e *env) time.Time { return t0.Add(3 * time.Hour) }},
		{"unknown", func(e *env) time.Time { return time.Time{} }, func(e *env) time.Time { return e.clock }},
		{"before the referral", func(e *env) time.Time { return t0.Add(-time.Hour) }, func(e *env) time.Time { return e.clock }},
		{"in the future", func(e *env) time.Time { return e.clock.Add(time.Minute) }, func(e *env) time.Time { return e.clock }},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, false)
			id := refID(7)
			e.add(id, nil)
			e.st.links["hubspot#D7"] = id
			ev := stage("E7", "D7", "default", "closedwon")
			ev.OccurredAt = c.occurred(e)
			e.ingest(t, ev)
			if got := e.st.get(id).Milestones["won"]; !got.Equal(c.want(e)) {
				t.Fatalf("won reached at %v, want %v", got, c.want(e))
			}
		})
	}
}
