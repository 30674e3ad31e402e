package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

var now = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)

// fakeStore keeps the referrals, the applied event ids, the referral
// states and the summed counters, like the table; conflicts makes the
// next ApplyKPIEvent calls fail with ErrKPIStateChanged.
type fakeStore struct {
	referrals map[string]*referral.Referral
	applied   map[string]bool
	states    map[string]kpis.State
	counters  map[string]map[string]int64
	conflicts int
	fail      error
}

func newFake() *fakeStore {
	return &fakeStore{referrals: map[string]*referral.Referral{}, applied: map[string]bool{},
		states: map[string]kpis.State{}, counters: map[string]map[string]int64{}}
}

func (f *fakeStore) Referral(_ context.Context, id string) (*referral.Referral, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	r, ok := f.referrals[id]
	if !ok {
		return nil, fmt.Errorf("store: %w", referral.ErrNotFound)
	}
	return r, nil
}

func (f *fakeStore) ProgramVersion(_ context.Context, id string, v int) (*program.Program, error) {
	return &program.Program{ID: id, Version: v, Currency: "USD",
		Milestones: []program.Milestone{{Name: "qualified"}, {Name: "won"}}}, nil
}

func (f *fakeStore) KPIState(_ context.Context, id string) (kpis.State, error) {
	return f.states[id], nil
}

func (f *fakeStore) ApplyKPIEvent(_ context.Context, eventID, prog, referralID string, changes []kpis.Change, next kpis.State, _ time.Time) (bool, error) {
	if f.applied[eventID] {
		return false, nil
	}
	if f.conflicts > 0 {
		f.conflicts--
		return false, store.ErrKPIStateChanged
	}
	if referralID != "" {
		if f.states[referralID].Version != next.Version-1 {
			return false, store.ErrKPIStateChanged
		}
		f.states[referralID] = next
	}
	f.applied[eventID] = true
	for _, c := range changes {
		sk := prog + "/" + c.SK
		if f.counters[sk] == nil {
			f.counters[sk] = map[string]int64{}
		}
		for k, v := range c.Add {
			f.counters[sk][k] += v
		}
	}
	return true, nil
}

func handler(f *fakeStore, log *bytes.Buffer) *Handler {
	return &Handler{Store: f, Now: func() time.Time { return now }, Log: slog.New(slog.NewJSONHandler(log, nil))}
}

func delivery(t *testing.T, ev events.Event) lambdaevents.EventBridgeEvent {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return lambdaevents.EventBridgeEvent{Source: "referflow", DetailType: string(ev.Type), Detail: b}
}

func wonReferral() *referral.Referral {
	return &referral.Referral{ID: "ref_1", ProgramID: "p1", ProgramVersion: 2, Status: referral.StatusCompleted,
		ReferrerCode: "ANN42", RefereeEmail: "jane@acme.example", CreatedAt: now,
		Milestones:      map[string]time.Time{"qualified": now.Add(24 * time.Hour), "won": now.Add(72 * time.Hour)},
		DealAmountMinor: 2400000, DealCurrency: "USD"}
}

func TestRedeliveredEventCountsOnce(t *testing.T) {
	f := newFake()
	f.referrals["ref_1"] = wonReferral()
	var log bytes.Buffer
	h := handler(f, &log)
	ev := events.New(events.ReferralClosed, "ref_1", "workflow", now.Add(72*time.Hour)).WithStatus("completed")
	ev.ID, ev.ProgramID = "evt_1", "p1"
	for range 3 {
		if err := h.Handle(context.Background(), delivery(t, ev)); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]map[string]int64{
		// Accepted on the day of the first event that shows it.
		"p1/DAY#2026-11-03":        {"received": 1},
		"p1/COHORT#2026-11":        {"received": 1, "reached:qualified:0": 1, "reached:won:0": 1},
		"p1/PARTNER#2026-11#ANN42": {"referrals": 1, "customers": 1},
		"p1/DAY#2026-11-04":        {"reached:qualified": 1, "ttm:qualified:1": 1},
		"p1/DAY#2026-11-06":        {"accepted": 1, "reached:won": 1, "ttm:won:3": 1, "customers": 1, "revenue:USD": 2400000},
	}
	if !reflect.DeepEqual(f.counters, want) {
		t.Fatalf("counters %v", f.counters)
	}
	// A second event of the same referral adds nothing the first counted.
	ev2 := events.New(events.RewardPaid, "ref_1", "workflow", now.Add(96*time.Hour)).
		With("amount_minor", "50000").With("currency", "USD")
	ev2.ID = "evt_2"
	if err := h.Handle(context.Background(), delivery(t, ev2)); err != nil {
		t.Fatal(err)
	}
	want["p1/DAY#2026-11-07"] = map[string]int64{"paid:USD": 50000}
	if !reflect.DeepEqual(f.counters, want) {
		t.Fatalf("counters after the reward %v", f.counters)
	}
	if strings.Contains(log.String(), "jane@acme.example") {
		t.Errorf("the log names the referee: %s", log.String())
	}
}

func TestConcurrentStateChangeIsReplanned(t *testing.T) {
	f := newFake()
	f.referrals["ref_1"] = wonReferral()
	f.conflicts = 2
	ev := events.New(events.ReferralReceived, "ref_1", "intake", now)
	ev.ID = "evt_1"
	if err := handler(f, &bytes.Buffer{}).Handle(context.Background(), delivery(t, ev)); err != nil {
		t.Fatal(err)
	}
	if !f.applied["evt_1"] || f.counters["p1/DAY#2026-11-03"]["received"] != 1 {
		t.Fatalf("not applied after the conflicts: %v", f.counters)
	}
	f.conflicts = maxAttempts
	ev.ID = "evt_2"
	if err := handler(f, &bytes.Buffer{}).Handle(context.Background(), delivery(t, ev)); err == nil {
		t.Fatal("an event that never fits was not retried")
	}
}

func TestEventsItCannotUse(t *testing.T) {
	tests := []struct {
		name    string
		detail  string
		fail    error
		wantErr bool
		applied bool
	}{
		{"undecodable: skipped", `{"id":`, nil, false, false},
		{"newer version: skipped", `{"id":"evt_9","type":"referral.received","version":2,"referral_id":"ref_1","program_id":"p1"}`, nil, false, false},
		{"no id: skipped", `{"type":"referral.received","version":1,"referral_id":"ref_1"}`, nil, false, false},
		{"referral gone, no program: skipped", `{"id":"evt_9","type":"reward.paid","version":1,"referral_id":"ref_x"}`, nil, false, false},
		{"referral gone: amounts only", `{"id":"evt_9","type":"reward.paid","version":1,"referral_id":"ref_x","program_id":"p1","data":{"amount_minor":"700","currency":"USD"}}`, nil, false, true},
		{"store down: retried", `{"id":"evt_9","type":"referral.received","version":1,"referral_id":"ref_1","program_id":"p1"}`, errors.New("throttled"), true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.fail = tc.fail
			err := handler(f, &bytes.Buffer{}).Handle(context.Background(),
				lambdaevents.EventBridgeEvent{Source: "referflow", Detail: json.RawMessage(tc.detail)})
			if (err != nil) != tc.wantErr || f.applied["evt_9"] != tc.applied {
				t.Fatalf("err %v, applied %v, counters %v", err, f.applied, f.counters)
			}
		})
	}
}

func TestFactsOf(t *testing.T) {
	p := &program.Program{Currency: "EUR", Milestones: []program.Milestone{{Name: "demo"}, {Name: "signed"}}}
	lostAt := now.Add(time.Hour)
	tests := []struct {
		name string
		r    referral.Referral
		want func(kpis.Facts) bool
	}{
		{"rejected with reasons", referral.Referral{Status: referral.StatusRejected,
			Reasons: []referral.Reason{{Code: "self_referral", Message: "jane@x"}}},
			func(f kpis.Facts) bool {
				return f.Rejected && !f.Accepted && reflect.DeepEqual(f.Reasons, []string{"self_referral"})
			}},
		{"in review: not decided", referral.Referral{Status: referral.StatusInReview, Decision: "review"},
			func(f kpis.Facts) bool { return !f.Rejected && !f.Accepted }},
		{"approved, then needs attention", referral.Referral{Status: referral.StatusNeedsAttention, Decision: "approved"},
			func(f kpis.Facts) bool { return f.Accepted }},
		{"lost on its loss time", referral.Referral{Status: referral.StatusLost, LostAt: &lostAt},
			func(f kpis.Facts) bool { return f.Accepted && f.Ended == "lost" && f.EndedAt.Equal(lostAt) }},
		{"expired", referral.Referral{Status: referral.StatusExpired},
			func(f kpis.Facts) bool { return f.Ended == "expired" && f.Last == "signed" && f.Currency == "EUR" }},
		{"in an experiment's variant", referral.Referral{Status: referral.StatusInProgress, Experiment: "double", Variant: "B"},
			func(f kpis.Facts) bool { return f.Experiment == "double" && f.Variant == "B" }},
	}
	for _, tc := range tests {
		if f := FactsOf(&tc.r, p); !tc.want(f) {
			t.Errorf("%s: %+v", tc.name, f)
		}
	}
}

// The sample event (events/kpis-reward-paid.json) is what the bus delivers:
// it counts its amount.
func TestSampleEventCounts(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "kpis-reward-paid.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in lambdaevents.EventBridgeEvent
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	f := newFake()
	if err := handler(f, &bytes.Buffer{}).Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if got := f.counters["b2b-partners/DAY#2026-11-22"]["paid:USD"]; got != 50000 {
		t.Fatalf("counters %v", f.counters)
	}
}
