package console

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/referral"
)

// fakeKPIs answers a fixed report and records the period asked for.
type fakeKPIs struct {
	asked []kpis.Period
	ids   []string
}

func (f *fakeKPIs) Report(_ context.Context, id string, per kpis.Period) (kpis.Report, error) {
	f.asked, f.ids = append(f.asked, per), append(f.ids, id)
	if id != "b2b" {
		return kpis.Report{}, referral.ErrNotFound
	}
	conv := 0.5
	return kpis.Report{Program: id, From: per.From.Format("2006-01-02"), To: per.To.Format("2006-01-02"),
		Referrals: kpis.Referrals{Received: 12, Accepted: 10, Rejected: 2, RejectedBy: map[string]int64{"blocked_domain": 2}},
		Funnel:    []kpis.Stage{{Milestone: "<b>won</b>", Reached: 5, Conversion: &conv}},
		Revenue:   kpis.Amount{Amount: "5000.00", Currency: "EUR"}, RewardCost: kpis.RewardCost{Paid: "500.00", Earned: "500.00", Reversed: "0.00", Currency: "EUR"},
		Customers: 5, Series: []kpis.DayPoint{{Day: per.From.Format("2006-01-02"), Received: 12, RevenueMinor: 500000, PaidMinor: 50000}},
		Partners: kpis.Partners{Active: 3, Top: []kpis.PartnerFigures{{ReferrerID: "ACME", Clicks: 40, Referrals: 7, Customers: 3}}},
	}, nil
}

func TestKPIPageShowsTheReportOfThePeriodAsked(t *testing.T) {
	tests := []struct {
		name       string
		q          map[string]string
		status     int
		from, to   string
		wantInPage []string
	}{
		{"default: this month of the first program", nil, http.StatusOK, "2026-03-01", "2026-03-31",
			[]string{"KPIs: b2b", "From 2026-03-01 to 2026-03-31", "5000.00 EUR", `<svg role="img"`, "&lt;b&gt;won&lt;/b&gt;", "ACME", "blocked_domain",
				`href="/console/kpis/report.html?from=2026-03-01&amp;program=b2b&amp;to=2026-03-31"`}},
		{"a week", map[string]string{"program": "b2b", "period": "week", "at": "2026-03-18"}, http.StatusOK, "2026-03-16", "2026-03-22",
			[]string{"From 2026-03-16 to 2026-03-22", `<option value="week" selected>`}},
		{"a custom range", map[string]string{"program": "b2b", "period": "custom", "from": "2026-01-01", "to": "2026-02-15"}, http.StatusOK, "2026-01-01", "2026-02-15",
			[]string{"From 2026-01-01 to 2026-02-15", `value="2026-02-15"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := sectionHandler(t)
			k := &fakeKPIs{}
			h.KPIs = k
			resp := get(t, h, "/console/kpis", tt.q)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d\n%s", resp.StatusCode, resp.Body)
			}
			if len(k.asked) != 1 || k.asked[0].From.Format("2006-01-02") != tt.from || k.asked[0].To.Format("2006-01-02") != tt.to {
				t.Fatalf("asked %+v", k.asked)
			}
			contains(t, resp.Body, tt.wantInPage...)
			if strings.Contains(resp.Body, "<b>won") || strings.Contains(resp.Body, "style=\"") {
				t.Error("unescaped text or a style attribute in the page")
			}
		})
	}
}

func TestKPIPageRefusesBadPeriodsWithoutReading(t *testing.T) {
	tests := []struct {
		q      map[string]string
		status int
		field  string
	}{
		{map[string]string{"program": "b2b", "period": "custom", "from": "2026-13-01", "to": "2026-01-02"}, http.StatusBadRequest, "from: must be a date"},
		{map[string]string{"program": "b2b", "period": "custom", "from": "2026-02-01", "to": "2026-01-02"}, http.StatusBadRequest, "to: must not be before from"},
		{map[string]string{"program": "b2b", "from": "2025-01-01", "to": "2026-03-01"}, http.StatusBadRequest, "at most 366 days"},
		{map[string]string{"program": "nope"}, http.StatusNotFound, "program: no program has this id"},
	}
	for _, tt := range tests {
		h, _ := sectionHandler(t)
		k := &fakeKPIs{}
		h.KPIs = k
		resp := get(t, h, "/console/kpis", tt.q)
		if resp.StatusCode != tt.status {
			t.Errorf("%v: status %d", tt.q, resp.StatusCode)
		}
		contains(t, resp.Body, tt.field, `role="alert"`)
		if tt.status == http.StatusBadRequest && len(k.asked) != 0 {
			t.Errorf("%v: read KPIs for a bad period", tt.q)
		}
	}
}

func TestKPIDownloadsAreTheReportAndItsCSV(t *testing.T) {
	h, _ := sectionHandler(t)
	h.KPIs = &fakeKPIs{}
	q := map[string]string{"program": "b2b", "period": "custom", "from": "2026-03-01", "to": "2026-03-07"}
	html := get(t, h, "/console/kpis/report.html", q)
	if html.StatusCode != http.StatusOK || html.Headers["content-disposition"] != `attachment; filename="referflow-b2b-2026-03-01-2026-03-07.html"` {
		t.Fatalf("html: %d %v", html.StatusCode, html.Headers)
	}
	if strings.Contains(html.Body, "https://") || strings.Contains(html.Body, "http://") || !strings.Contains(html.Body, "<style>") {
		t.Error("report file is not self-contained")
	}
	csv := get(t, h, "/console/kpis/report.csv", q)
	if csv.StatusCode != http.StatusOK || !strings.HasPrefix(csv.Body, "program,from,to,section,key,metric,value\n") || !strings.Contains(csv.Body, "b2b,2026-03-01,2026-03-07,summary,,received,12") {
		t.Errorf("csv: %d %s", csv.StatusCode, csv.Body)
	}
	if get(t, h, "/console/kpis/other.pdf", q).StatusCode != http.StatusNotFound {
		t.Error("an unknown download is not 404")
	}
}

func TestKPIPageNeedsASignedInOperator(t *testing.T) {
	h, _ := sectionHandler(t)
	h.KPIs = &fakeKPIs{}
	req := get(t, h, "/console/kpis", nil)
	if req.StatusCode != http.StatusOK {
		t.Fatal("signed-in read failed")
	}
	// no cookie: sent to sign in
	h2, _ := sectionHandler(t)
	h2.KPIs = &fakeKPIs{}
	resp, _ := h2.Handle(context.Background(), anonymous("/console/kpis"))
	if resp.StatusCode != http.StatusSeeOther || resp.Headers["location"] != "/console/sign-in" {
		t.Errorf("anonymous: %d %v", resp.StatusCode, resp.Headers)
	}
}
