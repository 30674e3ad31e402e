package kpis_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/kpis"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func f(v float64) *float64 { return &v }
func str(v string) *string { return &v }
func n(v int) *int         { return &v }

func TestBuildReportsFromCounters(t *testing.T) {
	p := kpis.Program{ID: "p", Currency: "USD", Milestones: []string{"qualified", "won"}}
	per := kpis.Period{Kind: kpis.PeriodCustom, From: date("2026-11-01"), To: date("2026-11-03")}
	items := []kpis.Item{
		{SK: "DAY#2026-10-31", N: map[string]int64{"received": 100}}, // outside: ignored
		{SK: "DAY#2026-11-01", N: map[string]int64{"received": 6, "accepted": 4, "rejected": 2, "rejected:free_mail_domain": 2,
			"reached:qualified": 2, "ttm:qualified:0": 1, "ttm:qualified:3": 1, "earned:USD": 30000}},
		{SK: "DAY#2026-11-03", N: map[string]int64{"received": 4, "accepted": 4, "reached:qualified": 2, "ttm:qualified:14": 2,
			"reached:won": 2, "ttm:won:35": 1, "ttm:won:91": 1, "customers": 2, "lost": 1, "expired": 1,
			"revenue:USD": 2000000, "revenue:EUR": 500, "paid:USD": 60000, "reversed:USD": 10000}},
		{SK: "PARTNER#2026-11#ACME", N: map[string]int64{"referrals": 7, "customers": 2}},
		{SK: "PARTNER#2026-11#BETA", N: map[string]int64{"referrals": 3}},
		{SK: "PARTNER#2026-11#GONE", N: map[string]int64{"customers": 0}},
		{SK: "COHORT#2026-11", N: map[string]int64{"received": 10, "reached:qualified:0": 4, "reached:won:0": 2}},
	}
	got := kpis.Build(p, per, items)
	want := kpis.Report{
		Program: "p", From: "2026-11-01", To: "2026-11-03", Period: "custom",
		Referrals: kpis.Referrals{Received: 10, Accepted: 8, Rejected: 2, RejectedBy: map[string]int64{"free_mail_domain": 2}},
		Funnel: []kpis.Stage{{Milestone: "qualified", Reached: 4, Conversion: f(0.5)},
			{Milestone: "won", Reached: 2, Conversion: f(0.5)}},
		Lost: 1, Expired: 1, Customers: 2,
		Revenue:         kpis.Amount{Amount: "20000.00", Currency: "USD", Minor: 2000000},
		RevenueOther:    []kpis.Amount{{Amount: "5.00", Currency: "EUR", Minor: 500}},
		RewardCost:      kpis.RewardCost{Earned: "300.00", Paid: "600.00", Reversed: "100.00", Currency: "USD"},
		ROI:             f(39), // (20000 - 500) / 500
		CostPerCustomer: str("250.00"),
		TimeToMilestone: []kpis.TimeTo{
			{Milestone: "qualified", Count: 4, MedianDays: f(3), P90Days: f(14), MedianWidthDays: 1, P90WidthDays: 7,
				Buckets: []kpis.DaysBucket{{FromDays: 0, ToDays: n(0), Count: 1}, {FromDays: 3, ToDays: n(3), Count: 1}, {FromDays: 14, ToDays: n(20), Count: 2}}},
			{Milestone: "won", Count: 2, MedianDays: f(35), P90Days: f(91), MedianWidthDays: 7, P90WidthDays: 30,
				Buckets: []kpis.DaysBucket{{FromDays: 35, ToDays: n(41), Count: 1}, {FromDays: 91, ToDays: n(120), Count: 1}}},
		},
		Partners: kpis.Partners{Active: 2, ReferralsPerActive: f(5), Months: []string{"2026-11"},
			Top: []kpis.PartnerFigures{{ReferrerID: "ACME", Referrals: 7, Customers: 2}, {ReferrerID: "BETA", Referrals: 3}, {ReferrerID: "GONE"}}},
		Cohorts: []kpis.Cohort{{Month: "2026-11", Received: 10,
			Reached: map[string][]int64{"qualified": {4}, "won": {2}},
			Share:   map[string][]float64{"qualified": {0.4}, "won": {0.2}}}},
		Series: []kpis.DayPoint{
			{Day: "2026-11-01", Received: 6, Accepted: 4, Rejected: 2},
			{Day: "2026-11-02"},
			{Day: "2026-11-03", Received: 4, Accepted: 4, Customers: 2, RevenueMinor: 2000000, PaidMinor: 60000},
		},
		Lift: &kpis.Lift{Referred: kpis.DealFigures{Opened: 8, Deals: 3, Won: 2, WinRate: f(0.6667), MedianDaysToClose: f(35), AvgDeal: str("10000.00")}},
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		t.Fatalf("report:\n%s", g)
	}
}

func TestBuildWithoutCountersHasNullRatios(t *testing.T) {
	per := kpis.Period{Kind: kpis.PeriodDay, From: date("2026-11-01"), To: date("2026-11-01")}
	r := kpis.Build(kpis.Program{ID: "p", Currency: "JPY", Milestones: []string{"won"}}, per, nil)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"roi", "cost_per_customer"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("%s = %v, want null", k, v)
		}
	}
	if r.Revenue.Amount != "0" || r.Funnel[0].Conversion != nil || r.TimeToMilestone[0].MedianDays != nil {
		t.Errorf("report %s", b)
	}
	for _, k := range []string{"program", "from", "to", "referrals", "funnel", "lost", "expired", "revenue",
		"reward_cost", "time_to_milestone", "partners"} {
		if _, ok := m[k]; !ok {
			t.Errorf("contract field %s missing", k)
		}
	}
}

func TestParsePeriod(t *testing.T) {
	now := time.Date(2026, 11, 18, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		q        map[string]string
		kind     string
		from, to string
		bad      string
	}{
		{map[string]string{"from": "2026-11-01", "to": "2026-11-30"}, "custom", "2026-11-01", "2026-11-30", ""},
		{map[string]string{}, "month", "2026-11-01", "2026-11-30", ""},
		{map[string]string{"period": "month", "at": "2026-02"}, "month", "2026-02-01", "2026-02-28", ""},
		{map[string]string{"period": "week", "at": "2026-11-18"}, "week", "2026-11-16", "2026-11-22", ""},
		{map[string]string{"period": "week", "at": "2026-11-16"}, "week", "2026-11-16", "2026-11-22", ""},
		{map[string]string{"period": "week", "at": "2026-11-22"}, "week", "2026-11-16", "2026-11-22", ""},
		{map[string]string{"period": "day", "at": "2026-11-03"}, "day", "2026-11-03", "2026-11-03", ""},
		{map[string]string{"from": "2026-11-01"}, "", "", "", "to"},
		{map[string]string{"from": "2026-11-31", "to": "2026-12-01"}, "", "", "", "from"},
		{map[string]string{"from": "2026-11-02", "to": "2026-11-01"}, "", "", "", "to"},
		{map[string]string{"from": "2025-01-01", "to": "2026-11-01"}, "", "", "", "to"},
		{map[string]string{"period": "year", "at": "2026-11-01"}, "", "", "", "period"},
		{map[string]string{"period": "day", "at": "yesterday"}, "", "", "", "at"},
		{map[string]string{"period": "week", "from": "2026-11-01", "to": "2026-11-02"}, "", "", "", "period"},
	}
	for _, tc := range tests {
		p, fields := kpis.ParsePeriod(tc.q, now)
		if tc.bad != "" {
			if fields[tc.bad] == "" {
				t.Errorf("%v: fields %v, want %s", tc.q, fields, tc.bad)
			}
			continue
		}
		if fields != nil || p.Kind != tc.kind || p.From.Format(time.DateOnly) != tc.from || p.To.Format(time.DateOnly) != tc.to {
			t.Errorf("%v: %+v %v", tc.q, p, fields)
		}
	}
}

func TestPeriodMonths(t *testing.T) {
	p := kpis.Period{From: date("2026-11-20"), To: date("2027-01-03")}
	if got := p.Months(); !reflect.DeepEqual(got, []string{"2026-11", "2026-12", "2027-01"}) {
		t.Fatalf("months %v", got)
	}
}
