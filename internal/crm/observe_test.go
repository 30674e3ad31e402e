package crm

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/money"
)

// What a CRM event about a deal no referral is linked to says under the
// program's stage mapping: ids, stages, amounts and times, nothing else.
func TestObservationUnderTheProgramsMapping(t *testing.T) {
	p := loadProgram(t, true)
	now := t0.Add(48 * time.Hour)
	withAmount := func(ev Event, minor int64, cur string) Event {
		ev.Amount = &money.Money{Minor: minor, Currency: cur}
		return ev
	}
	at := func(ev Event, t time.Time) Event { ev.OccurredAt = t; return ev }
	tests := []struct {
		name string
		ev   Event
		want map[string]string // nil: not observed
	}{
		{"a milestone before the last: open", at(stage("E1", "D1", "default", "qualifiedtobuy"), t0),
			map[string]string{"outcome": "open", "milestone": "qualified", "milestone_index": "0", "occurred_at": "2026-05-04T10:00:00Z"}},
		{"the last milestone, with its amount: won", withAmount(stage("E2", "D1", "default", "closedwon"), 1250000, "eur"),
			map[string]string{"outcome": "won", "milestone": "won", "milestone_index": "2", "amount_minor": "1250000", "currency": "EUR"}},
		{"lost", stage("E3", "D1", "default", "closedlost"), map[string]string{"outcome": "lost"}},
		{"deleted", Event{Provider: "hubspot", ID: "E4", Kind: KindDeleted, RecordID: "D1"}, map[string]string{"outcome": "deleted"}},
		{"an amount only, in a currency without a rate", withAmount(Event{Provider: "hubspot", ID: "E5", Kind: KindAmountChanged, RecordID: "D1"}, 700, "GBP"),
			map[string]string{"outcome": "none", "amount_minor": "700", "currency": "GBP"}},
		{"a CRM time in the future is left out", at(stage("E6", "D1", "default", "closedlost"), now.Add(time.Minute)), map[string]string{"outcome": "lost"}},
		{"another pipeline: nothing", stage("E7", "D1", "renewals", "closedwon"), nil},
		{"a stage the program does not map: nothing", stage("E8", "D1", "default", "appointmentscheduled"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := observation(p, &tc.ev, now)
			if !ok {
				if tc.want != nil {
					t.Fatal("not observed")
				}
				return
			}
			if tc.want == nil {
				t.Fatalf("observed %+v", got)
			}
			want := map[string]string{"provider": "hubspot", "event_id": tc.ev.ID, "record_id": "D1"}
			if tc.ev.Pipeline != "" {
				want["pipeline"] = tc.ev.Pipeline
			}
			for k, v := range tc.want {
				want[k] = v
			}
			if got.Type != events.DealObserved || got.ReferralID != events.DealKey("hubspot", "D1") || got.ProgramID != "partners" ||
				got.ProgramVersion != 3 || got.Actor != "webhook:hubspot" || !got.At.Equal(now) || !reflect.DeepEqual(got.Data, want) {
				t.Fatalf("observed %+v\nwant data %v", got, want)
			}
		})
	}
}

func TestUntrackedDealsAreObservedOncePerProgram(t *testing.T) {
	e := newEnv(t, true)
	e.in.Observe = []string{"partners", "gone"}
	won := stage("E1", "D9", "default", "closedwon")
	wantOutcomes(t, e.ingest(t, won, won), 2, map[string]int{OutcomeUntracked: 1, OutcomeDuplicate: 1})
	lines := e.st.activities[events.DealKey("hubspot", "D9")]
	if len(lines) != 1 || lines[0].Type != events.DealObserved || lines[0].Data["outcome"] != events.DealWon {
		t.Fatalf("recorded %+v", lines)
	}
	// Nothing for an event that names no record, nor for a linked one.
	noRecord := Event{Provider: "hubspot", ID: "E2", Kind: KindStageChanged, Stage: "closedwon", Pipeline: "default", Email: "x@y.example"}
	id := refID(1)
	e.add(id, nil)
	linked := stage("E3", "D8", "default", "closedwon")
	linked.ReferralID = id
	wantOutcomes(t, e.ingest(t, noRecord, linked), 2, map[string]int{OutcomeUntracked: 1, OutcomeMilestone: 1})
	if len(e.st.activities) != 2 || len(e.st.activities[id]) != 1 {
		t.Fatalf("activities %v", e.st.activities)
	}
	// Without Observe, nothing is observed.
	e.in.Observe = nil
	e.ingest(t, stage("E4", "D7", "default", "closedwon"))
	if lines := e.st.activities[events.DealKey("hubspot", "D7")]; len(lines) != 0 {
		t.Fatalf("observed without Observe: %v", lines)
	}
}

// An observation that cannot be recorded fails the delivery (the CRM
// sends it again); the event is not finished, so it is applied then.
func TestObservationNotRecordedIsRetried(t *testing.T) {
	e := newEnv(t, true)
	e.in.Observe = []string{"partners"}
	deal := events.DealKey("hubspot", "D9")
	e.st.fail = func(method, arg string) error {
		if method == "Record" && arg == deal {
			return errors.New("throttled")
		}
		return nil
	}
	won := stage("E1", "D9", "default", "closedwon")
	if _, err := e.in.Ingest(t.Context(), []Event{won}); err == nil {
		t.Fatal("no error")
	}
	if ev := e.st.event("hubspot", "E1"); ev.state == "applied" {
		t.Fatalf("finished %+v", ev)
	}
	e.st.fail = nil
	wantOutcomes(t, e.ingest(t, won), 1, map[string]int{OutcomeUntracked: 1})
	if lines := e.st.activities[deal]; len(lines) != 1 {
		t.Fatalf("recorded %v", lines)
	}
}
