package kpis_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/kpis"
)

// seen is a deal.observed event recorded at t0+days, saying outcome at the
// CRM time t0+crmDays (crmDays < 0: the CRM gave no time).
func seen(days, crmDays int, outcome string, amount ...string) events.Event {
	ev := events.New(events.DealObserved, events.DealKey("hubspot", "D1"), "webhook:hubspot", day(days)).
		With("provider", "hubspot").With("record_id", "D1").With("outcome", outcome)
	ev.ProgramID = "p"
	if crmDays >= 0 {
		ev = ev.With("occurred_at", day(crmDays).Format(time.RFC3339Nano))
	}
	if len(amount) == 2 {
		ev = ev.With("amount_minor", amount[0]).With("currency", amount[1])
	}
	return ev
}

// linked stands for a referral.deal_event naming the deal.
var linked = events.Event{Type: events.ReferralDealEvent}

// applyDeals plans evs in order (linked: PlanDealLinked), checks the state
// after each, and sums the changes like the store.
func applyDeals(t *testing.T, evs []events.Event) (map[string]map[string]int64, kpis.DealState) {
	t.Helper()
	out := map[string]map[string]int64{}
	var st kpis.DealState
	for _, ev := range evs {
		var changes []kpis.Change
		var next kpis.DealState
		var ok bool
		if ev.Type == events.ReferralDealEvent {
			changes, next, ok = kpis.PlanDealLinked(st)
		} else {
			changes, next, ok = kpis.PlanDeal(ev, st)
		}
		if !ok {
			if len(changes) != 0 || !reflect.DeepEqual(next, st) {
				t.Fatalf("unchanged, yet %v and state %+v", changes, next)
			}
			continue
		}
		if next.Version != st.Version+1 {
			t.Fatalf("version %d after %d", next.Version, st.Version)
		}
		st = next
		for _, c := range changes {
			if out[c.SK] == nil {
				out[c.SK] = map[string]int64{}
			}
			for k, v := range c.Add {
				out[c.SK][k] += v
				if out[c.SK][k] == 0 {
					delete(out[c.SK], k)
				}
			}
			if len(out[c.SK]) == 0 {
				delete(out, c.SK)
			}
		}
	}
	return out, st
}

type counters = map[string]map[string]int64

func TestPlanDealCountsEachOtherDealOnce(t *testing.T) {
	won := counters{
		"DAY#2026-11-02": {"other:opened": 1},
		"DAY#2026-11-12": {"other:won": 1, "other:ttc:10": 1, "other:amount:USD": 1250000, "other:band:USD:10000": 1},
	}
	tests := []struct {
		name string
		evs  []events.Event
		want counters
	}{
		{"opened, then won with its amount", []events.Event{seen(0, 0, events.DealOpen), seen(10, 10, events.DealWon, "1250000", "USD")}, won},
		{"repeated and out of order: counted once",
			[]events.Event{seen(10, 10, events.DealWon, "1250000", "USD"), seen(0, 0, events.DealOpen), seen(10, 10, events.DealWon, "1250000", "USD"), seen(0, 0, events.DealOpen)}, won},
		{"an amount learned after the win moves the amount and its band",
			[]events.Event{seen(0, 0, events.DealOpen), seen(10, 10, events.DealWon, "1250000", "USD"), seen(11, 11, events.DealNone, "99900", "USD")},
			counters{"DAY#2026-11-02": {"other:opened": 1},
				"DAY#2026-11-12": {"other:won": 1, "other:ttc:10": 1, "other:amount:USD": 99900, "other:band:USD:0": 1}}},
		{"an older amount delivered late changes nothing",
			[]events.Event{seen(0, 0, events.DealOpen, "500000", "USD"), seen(10, 10, events.DealWon, "1250000", "USD"), seen(12, 5, events.DealNone, "700", "USD")}, won},
		{"the first close in CRM time wins: lost before won",
			[]events.Event{seen(0, 0, events.DealOpen), seen(20, 20, events.DealWon), seen(21, 5, events.DealLost)},
			counters{"DAY#2026-11-02": {"other:opened": 1}, "DAY#2026-11-07": {"other:lost": 1}}},
		{"a deletion closes a deal that was seen as lost",
			[]events.Event{seen(0, 0, events.DealOpen), seen(3, 3, events.DealDeleted)},
			counters{"DAY#2026-11-02": {"other:opened": 1}, "DAY#2026-11-05": {"other:lost": 1}}},
		{"a deal never seen at a mapped stage is not counted",
			[]events.Event{seen(0, 0, events.DealNone, "500000", "USD"), seen(3, 3, events.DealDeleted)}, counters{}},
		{"without the CRM's time, the event's",
			[]events.Event{seen(0, -1, events.DealWon, "100000", "JPY")},
			counters{"DAY#2026-11-02": {"other:opened": 1, "other:won": 1, "other:ttc:0": 1, "other:amount:JPY": 100000, "other:band:JPY:100000": 1}}},
		{"a CRM time after the event's is not believed",
			[]events.Event{seen(0, 9, events.DealLost)},
			counters{"DAY#2026-11-02": {"other:opened": 1, "other:lost": 1}}},
		{"an earlier sighting moves the opening and the time to close",
			[]events.Event{seen(10, 10, events.DealWon), seen(11, 3, events.DealOpen)},
			counters{"DAY#2026-11-05": {"other:opened": 1}, "DAY#2026-11-12": {"other:won": 1, "other:ttc:7": 1}}},
		{"linked to a referral later: everything taken back",
			[]events.Event{seen(0, 0, events.DealOpen), seen(10, 10, events.DealWon, "1250000", "USD"), linked}, counters{}},
		{"linked before its events arrive: they count nothing",
			[]events.Event{linked, seen(0, 0, events.DealOpen), seen(10, 10, events.DealWon, "1250000", "USD"), linked}, counters{}},
		{"an unknown outcome counts nothing", []events.Event{seen(0, 0, "reopened")}, counters{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := applyDeals(t, tc.evs); !reflect.DeepEqual(got, tc.want) {
				g, _ := json.MarshalIndent(got, "", " ")
				t.Fatalf("counters:\n%s", g)
			}
		})
	}
}

func TestPlanDealLinkedStaysLinked(t *testing.T) {
	_, st := applyDeals(t, []events.Event{seen(0, 0, events.DealOpen), linked})
	if !st.Linked || len(st.Counted) != 0 || st.Version != 2 {
		t.Fatalf("state %+v", st)
	}
	if _, _, ok := kpis.PlanDealLinked(st); ok {
		t.Fatal("linking again changes something")
	}
}

func TestAmountBand(t *testing.T) {
	tests := []struct {
		minor int64
		cur   string
		want  int64
	}{
		{0, "USD", 0}, {99999, "USD", 0}, {100000, "USD", 1000}, {999999, "USD", 1000}, {1000000, "USD", 10000},
		{10000000, "USD", 100000}, {100000000, "USD", 1000000}, {900000000000, "USD", 1000000},
		{1000, "JPY", 1000}, {12345, "BHD", 0}, {123456789, "BHD", 100000},
	}
	for _, tc := range tests {
		if got := kpis.AmountBand(tc.minor, tc.cur); got != tc.want {
			t.Errorf("AmountBand(%d %s) = %d, want %d", tc.minor, tc.cur, got, tc.want)
		}
	}
}

func TestBuildComparesReferredAndOtherDeals(t *testing.T) {
	p := kpis.Program{ID: "p", Currency: "USD", Milestones: []string{"qualified", "won"}}
	per := kpis.Period{Kind: kpis.PeriodCustom, From: date("2026-11-01"), To: date("2026-11-30")}
	tests := []struct {
		name  string
		items []kpis.Item
		want  *kpis.Lift
	}{
		{"no deal on either side: no lift", []kpis.Item{{SK: "DAY#2026-11-02", N: map[string]int64{"received": 3, "accepted": 2}}}, nil},
		{"outside the period: no lift", []kpis.Item{{SK: "DAY#2026-10-31", N: map[string]int64{"other:won": 4, "customers": 2}}}, nil},
		{"both sides", []kpis.Item{
			{SK: "DAY#2026-11-02", N: map[string]int64{"accepted": 12, "customers": 3, "lost": 1, "ttm:won:14": 2, "ttm:won:35": 1,
				"revenue:USD": 4500000, "revenue:EUR": 100, "other:opened": 40, "other:won": 5, "other:lost": 15}},
			{SK: "DAY#2026-11-20", N: map[string]int64{"other:won": 1, "other:ttc:0": 1, "other:ttc:21": 2, "other:ttc:91": 3,
				"other:amount:USD": 600000, "other:amount:EUR": 9999, "other:band:USD:1000": 6, "other:band:EUR:0": 1, "other:band:USD:0": 0}},
		}, &kpis.Lift{
			Referred: kpis.DealFigures{Opened: 12, Deals: 4, Won: 3, WinRate: f(0.75), MedianDaysToClose: f(14), AvgDeal: str("15000.00")},
			Other: kpis.DealFigures{Opened: 40, Deals: 21, Won: 6, WinRate: f(0.2857), MedianDaysToClose: f(21), AvgDeal: str("1000.00"),
				AmountBands: map[string]int64{"1000": 6}},
		}},
		{"other deals only opened", []kpis.Item{{SK: "DAY#2026-11-30", N: map[string]int64{"other:opened": 2}}},
			&kpis.Lift{Other: kpis.DealFigures{Opened: 2}}},
		{"referred deals only, lost", []kpis.Item{{SK: "DAY#2026-11-30", N: map[string]int64{"accepted": 1, "lost": 1}}},
			&kpis.Lift{Referred: kpis.DealFigures{Opened: 1, Deals: 1, WinRate: f(0)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := kpis.Build(p, per, tc.items).Lift
			if !reflect.DeepEqual(got, tc.want) {
				g, _ := json.Marshal(got)
				t.Fatalf("lift %s", g)
			}
		})
	}
}

func TestLiftSaysWhenASideHasTooFewDeals(t *testing.T) {
	if (kpis.DealFigures{Deals: kpis.MinLiftDeals - 1}).Enough() || !(kpis.DealFigures{Deals: kpis.MinLiftDeals}).Enough() {
		t.Fatal("Enough disagrees with MinLiftDeals")
	}
	b, err := json.Marshal(kpis.Lift{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"referred":{"opened":0,"deals":0,"won":0,"win_rate":null,"median_days_to_close":null,"avg_deal":null},` +
		`"other":{"opened":0,"deals":0,"won":0,"win_rate":null,"median_days_to_close":null,"avg_deal":null}}`
	if string(b) != want {
		t.Fatalf("JSON %s", b)
	}
}
