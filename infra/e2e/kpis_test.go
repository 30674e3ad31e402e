package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// kpiFigures are the figures the test compares three ways: what it knows
// from the journeys it ran, what the store's raw items say, and what GET
// /admin/kpis answers from the counters.
type kpiFigures struct {
	Received, Accepted, Rejected int64
	RejectedBy                   map[string]int64
	Reached                      map[string]int64
	Lost, Customers              int64
	Revenue, Earned, Paid        string
	ROI                          float64
	CostPerCustomer              string
	Active                       int64
	Top                          kpis.PartnerFigures
}

// A handful of referrals with known outcomes (won, lost, rejected, one
// still waiting; expired is slow: left out) through the local stack, then
// the KPIs from the counters, from what the test knows, and recomputed
// from the raw referral and reward items: all three agree.
func TestKPIsMatchTheJourneysAndTheRawItems(t *testing.T) {
	t.Parallel()
	e := start(t, map[string]string{"REFERFLOW_LOCAL_HOLD_SECONDS": "1"})
	name, email := company(t)
	won := e.refer(email, name)
	name, email = company(t)
	lost := e.refer(email, name)
	name, email = company(t)
	open := e.refer(email, name)
	rejected := e.referNoPayee("colleague@demo-referrer.example", "Demo Referrer") // self-referral
	ids := []string{won.ReferralID, lost.ReferralID, open.ReferralID, rejected.ReferralID}

	for i, a := range []accepted{won, lost, open} {
		e.waitWaiting(a.ReferralID, "qualified")
		if code, b := e.hubspot(hubspotDeal(700+i, "qualifiedtobuy", a.ReferralID, "")); code != http.StatusOK {
			t.Fatalf("qualified webhook = %d %s", code, b)
		}
	}
	e.waitWaiting(won.ReferralID, "won")
	e.waitWaiting(lost.ReferralID, "won")
	// Won through a Standard Webhooks CRM, with the deal's amount.
	if code, b := e.genericEvent("msg_kpi_won", map[string]any{"referral_id": won.ReferralID, "crm_record_id": "kpi-won",
		"stage": "won", "amount": 24000, "currency": "USD"}); code != http.StatusOK {
		t.Fatalf("won webhook = %d %s", code, b)
	}
	if code, b := e.hubspot(hubspotStage(9702, 701, "closedlost")); code != http.StatusOK {
		t.Fatalf("lost webhook = %d %s", code, b)
	}
	e.waitStatus(won, "completed", 60*time.Second)
	e.waitStatus(lost, "lost", 30*time.Second)
	e.waitStatus(rejected, "rejected", 30*time.Second)
	e.waitWaiting(open.ReferralID, "won")

	// What the journeys make, by the default program's rules: qualified pays
	// the referrer 100.00, won 500.00 to the referrer and 1,000.00 to the
	// new customer; the won deal is 24,000.00.
	known := kpiFigures{Received: 4, Accepted: 3, Rejected: 1, RejectedBy: map[string]int64{"self_referral": 1},
		Reached: map[string]int64{"qualified": 3, "won": 1}, Lost: 1, Customers: 1,
		Revenue: "24000.00", Earned: "1800.00", Paid: "1800.00", ROI: 12.3333, CostPerCustomer: "1800.00", Active: 1,
		Top: kpis.PartnerFigures{ReferrerID: demoCode, Referrals: 4, Customers: 1}}
	if raw := e.recomputeKPIs(ids); !reflect.DeepEqual(raw, known) {
		t.Fatalf("raw items say\n%+v\nthe journeys\n%+v", raw, known)
	}

	today := time.Now().UTC()
	q := url.Values{"program": {defaultProgram}, "from": {today.AddDate(0, 0, -1).Format(time.DateOnly)},
		"to": {today.AddDate(0, 0, 1).Format(time.DateOnly)}}
	var last kpiFigures
	e.eventually("the KPIs count every event", 60*time.Second, func() (bool, string) {
		r := e.kpiReport(q)
		last = figuresOf(r)
		return reflect.DeepEqual(last, known), fmt.Sprintf("%+v", last)
	})
	r := e.kpiReport(q)
	if r.Funnel[0].Conversion == nil || *r.Funnel[0].Conversion != 1 || *r.Funnel[1].Conversion != 0.3333 {
		t.Errorf("funnel %+v", r.Funnel)
	}
	if tt := r.TimeToMilestone[1]; tt.Count != 1 || tt.MedianDays == nil || *tt.MedianDays != 0 || *tt.P90Days != 0 {
		t.Errorf("time to won %+v", tt)
	}
	if len(r.Cohorts) != 1 || r.Cohorts[0].Received != 4 || r.Cohorts[0].Reached["won"][0] != 1 {
		t.Errorf("cohorts %+v", r.Cohorts)
	}
	// Another period's KPIs are empty, and a bad query is refused.
	empty := e.kpiReport(url.Values{"program": {defaultProgram}, "period": {"day"}, "at": {"2020-01-01"}})
	if empty.Referrals.Received != 0 || empty.Revenue.Amount != "0.00" || empty.ROI != nil {
		t.Errorf("2020-01-01: %+v", empty)
	}
	if code, body := e.admin(http.MethodGet, "/admin/kpis?program="+defaultProgram+"&from=2026-13-01&to=x", adminToken, nil); code != http.StatusBadRequest {
		t.Errorf("bad query = %d %v", code, body)
	}
	if code, _ := e.admin(http.MethodGet, "/admin/kpis?program=no-such-program", adminToken, nil); code != http.StatusNotFound {
		t.Errorf("unknown program = %d", code)
	}
}

// kpiReport is GET /admin/kpis?q, decoded.
func (e *env) kpiReport(q url.Values) kpis.Report {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.api+"/admin/kpis?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r kpis.Report
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&r) != nil {
		e.t.Fatalf("GET /admin/kpis?%s = %d", q.Encode(), resp.StatusCode)
	}
	return r
}

func figuresOf(r kpis.Report) kpiFigures {
	f := kpiFigures{Received: r.Referrals.Received, Accepted: r.Referrals.Accepted, Rejected: r.Referrals.Rejected,
		RejectedBy: r.Referrals.RejectedBy, Reached: map[string]int64{}, Lost: r.Lost, Customers: r.Customers,
		Revenue: r.Revenue.Amount, Earned: r.RewardCost.Earned, Paid: r.RewardCost.Paid, Active: r.Partners.Active}
	for _, s := range r.Funnel {
		f.Reached[s.Milestone] = s.Reached
	}
	if r.ROI != nil {
		f.ROI = *r.ROI
	}
	if r.CostPerCustomer != nil {
		f.CostPerCustomer = *r.CostPerCustomer
	}
	if len(r.Partners.Top) > 0 {
		f.Top = r.Partners.Top[0]
		f.Top.Clicks = 0
	}
	return f
}

// recomputeKPIs computes the figures from the referral and reward items
// themselves (no counter involved).
func (e *env) recomputeKPIs(ids []string) kpiFigures {
	e.t.Helper()
	ctx := context.Background()
	f := kpiFigures{RejectedBy: map[string]int64{}, Reached: map[string]int64{}}
	var revenue, earned, paid int64
	partners := map[string]*kpis.PartnerFigures{}
	for _, id := range ids {
		r, err := e.st.Referral(ctx, id)
		if err != nil {
			e.t.Fatal(err)
		}
		p := partners[r.ReferrerCode]
		if p == nil {
			p = &kpis.PartnerFigures{ReferrerID: r.ReferrerCode}
			partners[r.ReferrerCode] = p
		}
		f.Received++
		p.Referrals++
		switch r.Status {
		case referral.StatusRejected:
			f.Rejected++
			for _, reason := range r.Reasons {
				f.RejectedBy[reason.Code]++
			}
		case referral.StatusLost:
			f.Lost++
			f.Accepted++
		default:
			f.Accepted++
		}
		for m := range r.Milestones {
			f.Reached[m]++
		}
		if r.Reached("won") {
			f.Customers++
			p.Customers++
			revenue += r.DealAmountMinor
		}
		rws, err := e.st.Rewards(ctx, id)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, rw := range rws {
			if rw.Status != rewards.StatusVoided {
				earned += rw.AmountMinor
			}
			if rw.Status == rewards.StatusPaid {
				paid += rw.AmountMinor
			}
		}
	}
	f.Revenue, f.Earned, f.Paid = money.FormatMinor(revenue, "USD"), money.FormatMinor(earned, "USD"), money.FormatMinor(paid, "USD")
	f.ROI = math.Round(float64(revenue-paid)/float64(paid)*1e4) / 1e4
	f.CostPerCustomer = money.FormatMinor(paid/f.Customers, "USD")
	f.Active = int64(len(partners))
	f.Top = *partners[demoCode]
	return f
}
