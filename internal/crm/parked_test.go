package crm

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

var d1 = ParkedGroup{Provider: "hubspot", RecordID: "D1"}

// activityIDs lists the event ids of the activity lines of referral id.
func (e *env) activityIDs(id string) []string {
	var ids []string
	for _, l := range e.st.activities[id] {
		ids = append(ids, l.Data["event_id"])
	}
	return ids
}

// Issue 9: a deal that moves stage before its referral_id is set used to
// be closed as untracked for good; the milestone was never recorded.
func TestStageBeforeLinkIsAppliedWhenTheRecordLinks(t *testing.T) {
	e := newEnv(t, false)
	id := refID(1)
	e.add(id, nil)
	e.st.wait(id, "won", "token-won")
	won := stage("E1", "D1", "default", "closedwon")
	won.OccurredAt = t0.Add(2 * time.Hour)

	// The CRM is answered 2xx, counted as untracked: it must not retry.
	wantOutcomes(t, e.ingest(t, won), 1, map[string]int{OutcomeUntracked: 1})
	if ids := e.st.parkedIDs(d1); !reflect.DeepEqual(ids, []string{"E1"}) {
		t.Fatalf("parked %v, want E1 kept", ids)
	}
	if e.st.get(id).Reached("won") || e.sfn.calls() != 0 {
		t.Fatal("applied before any link")
	}

	// The referral_id property is set later: HubSpot sends that change.
	e.clock = e.clock.Add(time.Hour)
	link := Event{Provider: "hubspot", ID: "E2", Kind: KindStageChanged, RecordID: "D1", Pipeline: "default", Stage: "appointmentscheduled", ReferralID: id}
	wantOutcomes(t, e.ingest(t, link), 1, map[string]int{OutcomeNoChange: 1})

	r := e.st.get(id)
	if !r.Milestones["won"].Equal(won.OccurredAt) {
		t.Fatalf("won at %v, want when the CRM said (%v)", r.Milestones["won"], won.OccurredAt)
	}
	if len(e.sfn.successes) == 0 || str(e.sfn.successes[0].TaskToken) != "token-won" {
		t.Fatalf("the waiting workflow was not resumed: %d successes", len(e.sfn.successes))
	}
	if got := e.activityIDs(id); !reflect.DeepEqual(got, []string{"E1", "E2"}) {
		t.Fatalf("activity %v, want the parked event first", got)
	}
	if ev := e.st.event("hubspot", "E1"); ev.state != "applied" || ev.outcome != OutcomeMilestone || ev.referralID != id {
		t.Fatalf("E1 record %+v, want its real outcome", ev)
	}
	if ids := e.st.parkedIDs(d1); len(ids) != 0 {
		t.Fatalf("still parked: %v", ids)
	}
	// Once: redeliveries and later events apply nothing again.
	wantOutcomes(t, e.ingest(t, won, link), 2, map[string]int{OutcomeDuplicate: 2})
	e.ingest(t, stage("E3", "D1", "default", "appointmentscheduled"))
	if got := e.activityIDs(id); !reflect.DeepEqual(got, []string{"E1", "E2", "E3"}) {
		t.Fatalf("activity %v", got)
	}
}

// Parked events arrive out of order; they are applied in the order they
// happened in the CRM, before the event that links the record.
func TestParkedEventsApplyInTheirOriginalOrder(t *testing.T) {
	e := newEnv(t, false)
	id := refID(1)
	e.add(id, nil)
	at := func(ev Event, h int) Event { ev.OccurredAt = t0.Add(time.Duration(h) * time.Hour); return ev }
	q := at(stage("E1", "D1", "default", "qualifiedtobuy"), 1)
	amount1 := at(Event{Provider: "hubspot", ID: "E2", Kind: KindAmountChanged, RecordID: "D1", Amount: &money.Money{Minor: 100, Currency: "EUR"}}, 2)
	amount2 := at(Event{Provider: "hubspot", ID: "E3", Kind: KindAmountChanged, RecordID: "D1", Amount: &money.Money{Minor: 200, Currency: "EUR"}}, 3)
	lost := at(stage("E4", "D1", "default", "closedlost"), 4)
	wantOutcomes(t, e.ingest(t, lost, amount2, q, amount1), 4, map[string]int{OutcomeUntracked: 4})

	e.clock = e.clock.Add(time.Hour)
	e.ingest(t, Event{Provider: "hubspot", ID: "E5", Kind: KindStageChanged, RecordID: "D1", Stage: "x", Email: "bob@acme.io"})
	if got := e.activityIDs(id); !reflect.DeepEqual(got, []string{"E1", "E2", "E3", "E4", "E5"}) {
		t.Fatalf("applied in order %v", got)
	}
	r := e.st.get(id)
	if r.DealAmountMinor != 200 || r.LostReason != "lost" || !r.Milestones["qualified"].Equal(q.OccurredAt) {
		t.Fatalf("referral %+v: want the last amount, the loss and qualified at its time", r)
	}
	if e.st.links["hubspot#D1"] != id {
		t.Fatal("link not stored")
	}
}

// Issue 9: a referral created after the CRM reported its deal gets the
// events parked under its email, and the record is linked to it.
func TestReferralCreatedLaterAdoptsEventsParkedUnderItsEmail(t *testing.T) {
	e := newEnv(t, false)
	won := stage("E1", "D7", "default", "closedwon")
	won.Email = "bob@acme.io"
	byEmail := Event{Provider: "generic", ID: "G1", Kind: KindStageChanged, Stage: "qualified", Email: "bob@acme.io"}
	wantOutcomes(t, e.ingest(t, won, byEmail), 2, map[string]int{OutcomeUntracked: 2})
	d7, g := ParkedGroup{Provider: "hubspot", RecordID: "D7"}, ParkedGroup{Provider: "generic", Email: "bob@acme.io"}
	if p, ok := e.st.parkedEvent(d7, "E1"); !ok || p.Event.Email != "" || p.Event.Stage != "closedwon" {
		t.Fatalf("parked %+v %v: want the facts, never the email", p, ok)
	}
	if e.st.parked.emails["bob@acme.io"]["hubspot#record#D7"] != 1 {
		t.Fatalf("D7 not findable by email: %v", e.st.parked.emails)
	}

	id := refID(2)
	e.add(id, nil) // bob@acme.io
	n, err := e.in.AdoptReferral(context.Background(), id)
	if err != nil || n != 2 {
		t.Fatalf("AdoptReferral = %d, %v; want 2 events applied", n, err)
	}
	r := e.st.get(id)
	if !r.Reached("won") || !r.Reached("qualified") || e.st.links["hubspot#D7"] != id {
		t.Fatalf("milestones %v link %q", r.Milestones, e.st.links["hubspot#D7"])
	}
	if len(e.st.parkedIDs(d7))+len(e.st.parkedIDs(g)) != 0 {
		t.Fatal("applied events still parked")
	}
	if n, err := e.in.AdoptReferral(context.Background(), id); n != 0 || err != nil {
		t.Fatalf("adopted again: %d, %v", n, err)
	}
	// A record linked to another referral meanwhile keeps its events there.
	other := refID(3)
	e.add(other, func(r *referral.Referral) { r.RefereeEmail = "amy@acme.io" })
	late := stage("E9", "D8", "default", "qualifiedtobuy")
	late.Email = "amy@acme.io"
	e.st.links["hubspot#D8"] = id
	e.st.parked.events["hubspot#record#D8#E9"] = &parkedRec{p: Parked{Group: ParkedGroup{Provider: "hubspot", RecordID: "D8"}, Key: "hubspot#record#D8",
		Event: late, ParkedAt: e.clock, ExpiresAt: e.clock.Add(time.Hour)}}
	e.st.parked.groups["amy@acme.io"] = []ParkedGroup{{Provider: "hubspot", RecordID: "D8"}}
	if _, err := e.in.AdoptReferral(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if e.st.get(other).Reached("qualified") || !e.st.get(id).Reached("qualified") {
		t.Fatal("first link must win")
	}
}

// Events parked longer ago than the adopting program's TTL are dropped.
func TestParkedEventsExpire(t *testing.T) {
	e := newEnv(t, false)
	e.p.UnlinkedEventsTTLSeconds = 3600
	id := refID(1)
	e.add(id, nil)
	e.ingest(t, stage("E1", "D1", "default", "closedwon"))
	e.clock = e.clock.Add(61 * time.Minute)
	e.ingest(t, Event{Provider: "hubspot", ID: "E2", Kind: KindStageChanged, RecordID: "D1", Stage: "x", ReferralID: id})
	if e.st.get(id).Reached("won") || len(e.st.parkedIDs(d1)) != 0 {
		t.Fatal("an expired event was applied or kept")
	}
	if ev := e.st.event("hubspot", "E1"); ev.outcome != OutcomeUntracked {
		t.Fatalf("E1 %+v", ev)
	}
}

// The TTL is the default program's unlinked_events_ttl, else 30 days.
func TestParkedEventTTL(t *testing.T) {
	for _, c := range []struct {
		name, program string
		ttl           int64
		want          time.Duration
	}{
		{"no default program", "", 7 * 86400, 30 * 24 * time.Hour},
		{"default program without a value", "partners", 0, 30 * 24 * time.Hour},
		{"default program's value", "partners", 7 * 86400, 7 * 24 * time.Hour},
		{"unknown default program", "nope", 7 * 86400, 30 * 24 * time.Hour},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, false)
			e.p.UnlinkedEventsTTLSeconds = c.ttl
			e.in.DefaultProgram = c.program
			e.ingest(t, stage("E1", "D1", "default", "closedwon"))
			p, ok := e.st.parkedEvent(d1, "E1")
			if !ok || p.ExpiresAt.Sub(p.ParkedAt) != c.want || !p.ParkedAt.Equal(e.clock) {
				t.Fatalf("parked %+v, want a TTL of %v", p, c.want)
			}
		})
	}
	if program.DefaultUnlinkedEventsTTL != 30*24*time.Hour {
		t.Fatal("default TTL")
	}
}

// A link that appears while an event is being parked is not missed.
func TestLinkAppearingWhileParkingApplies(t *testing.T) {
	e := newEnv(t, false)
	id := refID(1)
	e.add(id, nil)
	e.st.fail = func(m, _ string) error {
		if m == "ParkEvent" {
			e.st.links["hubspot#D1"] = id // another delivery links D1 now
		}
		return nil
	}
	wantOutcomes(t, e.ingest(t, stage("E1", "D1", "default", "closedwon")), 1, map[string]int{OutcomeMilestone: 1})
	if !e.st.get(id).Reached("won") || len(e.st.parkedIDs(d1)) != 0 || len(e.st.activities[id]) != 1 {
		t.Fatalf("won %v parked %v activities %d", e.st.get(id).Reached("won"), e.st.parkedIDs(d1), len(e.st.activities[id]))
	}
}

// Events that name neither a record nor a contact could never link.
func TestEventWithoutRecordOrEmailIsNotParked(t *testing.T) {
	e := newEnv(t, false)
	wantOutcomes(t, e.ingest(t, Event{Provider: "generic", ID: "G1", Kind: KindStageChanged, Stage: "won", ReferralID: refID(5)}), 1,
		map[string]int{OutcomeUntracked: 1})
	if e.st.parked != nil && len(e.st.parked.events) != 0 {
		t.Fatal("parked")
	}
}

// A failure while applying parked events applies nothing twice and loses
// nothing: the delivery is retried and the rest follows in order.
func TestParkedEventsSurviveAFailedAdoption(t *testing.T) {
	e := newEnv(t, false)
	id := refID(1)
	e.add(id, nil)
	q, won := stage("E1", "D1", "default", "qualifiedtobuy"), stage("E2", "D1", "default", "closedwon")
	q.OccurredAt, won.OccurredAt = t0.Add(time.Hour), t0.Add(2*time.Hour)
	e.ingest(t, q, won)
	boom := errors.New("throttled")
	e.st.fail = func(m, arg string) error {
		if m == "RecordDeal" && len(e.st.deals) == 1 {
			return boom // the second parked event fails
		}
		return nil
	}
	link := Event{Provider: "hubspot", ID: "E3", Kind: KindStageChanged, RecordID: "D1", Stage: "x", ReferralID: id}
	if _, err := e.in.Ingest(context.Background(), []Event{link}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if ids := e.st.parkedIDs(d1); !reflect.DeepEqual(ids, []string{"E2"}) || e.st.event("hubspot", "E3").state == "applied" {
		t.Fatalf("parked %v, E3 %+v", ids, e.st.event("hubspot", "E3"))
	}
	e.st.fail = nil
	e.ingest(t, link) // redelivered at once: E2 was released, not held
	if got := e.activityIDs(id); !reflect.DeepEqual(got, []string{"E1", "E2", "E3"}) {
		t.Fatalf("activity %v", got)
	}
}

// Parked events another delivery is applying make this one retry (5xx)
// rather than apply the newer event first.
func TestParkedEventsHeldElsewhereRetry(t *testing.T) {
	e := newEnv(t, false)
	id := refID(1)
	e.add(id, nil)
	e.ingest(t, stage("E1", "D1", "default", "closedwon"))
	if _, _, err := e.st.ClaimParked(context.Background(), d1, e.clock, ParkLease); err != nil {
		t.Fatal(err)
	}
	link := Event{Provider: "hubspot", ID: "E2", Kind: KindStageChanged, RecordID: "D1", Stage: "x", ReferralID: id}
	if _, err := e.in.Ingest(context.Background(), []Event{link}); !errors.Is(err, ErrParkedBusy) {
		t.Fatalf("err = %v, want ErrParkedBusy", err)
	}
	if e.st.get(id).Reached("won") || e.st.event("hubspot", "E2").state == "applied" {
		t.Fatal("applied while held elsewhere")
	}
	e.clock = e.clock.Add(ParkLease + time.Second) // the holder died
	e.ingest(t, link)
	if !e.st.get(id).Reached("won") || !strings.Contains(strings.Join(e.activityIDs(id), ","), "E1,E2") {
		t.Fatalf("after the lease: %v", e.activityIDs(id))
	}
}
