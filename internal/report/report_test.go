package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/kpis"
)

func f(v float64) *float64 { return &v }
func s(v string) *string   { return &v }
func i(v int) *int         { return &v }

// sample is a January with 4 referrals a week, 3 customers, one partner
// code and one milestone name chosen to break unescaped HTML and CSV.
func sample() kpis.Report {
	rep := kpis.Report{Program: "b2b", From: "2026-01-01", To: "2026-01-14", Period: "custom",
		Referrals: kpis.Referrals{Received: 8, Accepted: 6, Rejected: 2, RejectedBy: map[string]int64{"blocked_domain": 1, "self_referral": 1}},
		Funnel:    []kpis.Stage{{Milestone: "qualified", Reached: 4, Conversion: f(0.6667)}, {Milestone: "<script>won", Reached: 3, Conversion: f(0.75)}},
		Lost:      1, Revenue: kpis.Amount{Amount: "30000.00", Currency: "EUR", Minor: 3000000},
		RewardCost: kpis.RewardCost{Earned: "1500.00", Paid: "1000.00", Reversed: "0.00", Currency: "EUR"},
		ROI:        f(29), CostPerCustomer: s("333.33"), Customers: 3,
		TimeToMilestone: []kpis.TimeTo{{Milestone: "qualified", Count: 4, MedianDays: f(3), P90Days: f(14), MedianWidthDays: 1, P90WidthDays: 7},
			{Milestone: "<script>won", Count: 3, MedianDays: f(21), P90Days: f(91), MedianWidthDays: 7, P90WidthDays: 30,
				Buckets: []kpis.DaysBucket{{FromDays: 21, ToDays: i(27), Count: 2}, {FromDays: 91, ToDays: i(120), Count: 1}}}},
		Partners: kpis.Partners{Active: 2, ReferralsPerActive: f(4), Top: []kpis.PartnerFigures{{ReferrerID: "=HYPERLINK(1)", Clicks: 30, Referrals: 5, Customers: 2}, {ReferrerID: "ACME", Clicks: 9, Referrals: 3, Customers: 1}}},
		Cohorts:  []kpis.Cohort{{Month: "2026-01", Received: 8, Reached: map[string][]int64{"<script>won": {3}}, Share: map[string][]float64{"<script>won": {0.375}}}},
	}
	for d := 1; d <= 14; d++ {
		p := kpis.DayPoint{Day: fmt.Sprintf("2026-01-%02d", d)}
		if d%2 == 0 {
			p.Received = 1
		}
		if d == 10 {
			p.Customers, p.RevenueMinor, p.PaidMinor = 3, 3000000, 100000
		}
		rep.Series = append(rep.Series, p)
	}
	return rep
}

func TestReportIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample(), `Partners <script>alert(1)</script>`, ""); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, bad := range []string{"http://", "https://", "<script", "<link", " src=", "url(", "@import", "style=\""} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	for _, want := range []string{
		"<style>", ".rf-heat-5", "Partners &lt;script&gt;alert(1)&lt;/script&gt;: referral program KPIs",
		"&lt;script&gt;won", `id="volume"`, `id="funnel"`, `id="money"`, `id="timeto"`, `id="cohorts"`,
		"30000.00 EUR", "2900%", "333.33 EUR", "blocked_domain", "=HYPERLINK(1)", "21–27 days", "91–120 days",
		`<td class="rf-heat-4">38%</td>`, "From 2026-01-01 to 2026-01-14",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(html, `<svg role="img"`); n != 5 {
		t.Errorf("%d SVG charts, want 5 (volume, funnel, money, time to milestone, its distribution)", n)
	}
	if n := len(regexp.MustCompile(`<rect class="rf-bar"`).FindAllString(html, -1)); n != 14+3+2+2 {
		t.Errorf("%d bars, want 14 days + 3 funnel stages + 2 milestones + 2 spans of days", n)
	}
	for _, want := range []string{`id="timeto-dist"`, "Days from referral to &lt;script&gt;won", ">21–27<", ">91–120<"} {
		if !strings.Contains(html, want) {
			t.Errorf("the time-to-customer histogram lacks %q", want)
		}
	}
}

func TestReportIsDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	_ = Write(&a, sample(), "p", "week")
	_ = Write(&b, sample(), "p", "week")
	if a.String() != b.String() {
		t.Error("two writes of one report differ")
	}
}

func TestGroupingFollowsThePeriod(t *testing.T) {
	tests := []struct{ group, from, to, want string }{
		{"week", "2026-01-01", "2026-01-02", "week"},
		{"", "2026-01-01", "2026-01-31", "day"},
		{"custom", "2026-01-01", "2026-03-31", "week"},
		{"", "2026-01-01", "2026-12-31", "month"},
		{"", "bad", "2026-12-31", "day"},
	}
	for _, tt := range tests {
		if got := Grouping(tt.group, tt.from, tt.to); got != tt.want {
			t.Errorf("Grouping(%q, %s, %s) = %s, want %s", tt.group, tt.from, tt.to, got, tt.want)
		}
	}
}

func TestGroupSumsWeeksFromMonday(t *testing.T) {
	b := group(sample().Series, "week")
	// 2026-01-01 is a Thursday: weeks start Dec 29, Jan 5, Jan 12.
	if len(b) != 3 || b[0].label != "Dec 29" || b[1].label != "Jan 5" || b[2].label != "Jan 12" {
		t.Fatalf("weeks %+v", b)
	}
	if b[0].Received != 2 || b[1].Received != 3 || b[2].Received != 2 || b[1].Customers != 3 {
		t.Errorf("sums %+v", b)
	}
	if m := group(sample().Series, "month"); len(m) != 1 || m[0].Received != 7 || m[0].label != "Jan 2026" {
		t.Errorf("month %+v", m)
	}
}

func TestCSVHasEveryFigureAndNoFormula(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, sample()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
		t.Errorf("header %v", rows[0])
	}
	got := map[string]string{}
	for _, r := range rows[1:] {
		if len(r) != len(CSVHeader) || r[0] != "b2b" || r[1] != "2026-01-01" || r[2] != "2026-01-14" {
			t.Fatalf("row %v", r)
		}
		got[r[3]+"|"+r[4]+"|"+r[5]] = r[6]
	}
	for k, want := range map[string]string{
		"summary||received": "8", "summary||revenue": "30000.00", "summary||roi": "29", "summary||currency": "EUR",
		"funnel|<script>won|conversion": "0.75", "rejected_by|self_referral|referrals": "1",
		"day|2026-01-10|revenue_minor": "3000000", "partner|'=HYPERLINK(1)|referrals": "5",
		"cohort|2026-01|reached:<script>won:0": "3", "time_to_milestone|qualified|p90_days": "14",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	if c := safe([]string{"-12.5", "-x", "@a", "ok"}); c[0] != "-12.5" || c[1] != "'-x" || c[2] != "'@a" || c[3] != "ok" {
		t.Errorf("safe %v", c)
	}
}
