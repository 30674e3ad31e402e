package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/kpis"
)

// Deals nobody referred, reported by a Standard Webhooks CRM, are counted
// as the program's other deals (once each, whatever the redeliveries);
// the referred deal is not among them, even though its record reported a
// stage before it was linked and was counted as other until then. GET
// /admin/kpis compares the two sides.
func TestLiftComparesReferredDealsWithOtherDeals(t *testing.T) {
	t.Parallel()
	e := start(t, map[string]string{"REFERFLOW_LOCAL_HOLD_SECONDS": "1"})
	now := time.Now().UTC()
	ago := func(days int) string { return now.AddDate(0, 0, -days).Format(time.RFC3339) }
	send := func(id, record, stage string, extra map[string]any) {
		t.Helper()
		data := map[string]any{"crm_record_id": record, "stage": stage}
		for k, v := range extra {
			data[k] = v
		}
		if code, b := e.genericEvent(id, data); code != http.StatusOK {
			t.Fatalf("%s = %d %s", id, code, b)
		}
	}
	// Other deals: won in 7 days (12,000.00), won in 19 days (500.00),
	// lost; a deal at a stage the program does not map is not one.
	send("msg_lift_o1_q", "lift-o1", "qualified", map[string]any{"occurred_at": ago(10)})
	won1 := map[string]any{"occurred_at": ago(3), "amount": 12000, "currency": "USD"}
	send("msg_lift_o1_w", "lift-o1", "won", won1)
	send("msg_lift_o1_w", "lift-o1", "won", won1) // redelivered
	send("msg_lift_o2_q", "lift-o2", "qualified", map[string]any{"occurred_at": ago(20)})
	send("msg_lift_o2_w", "lift-o2", "won", map[string]any{"occurred_at": ago(1), "amount": 500, "currency": "USD"})
	send("msg_lift_o3_q", "lift-o3", "qualified", map[string]any{"occurred_at": ago(5)})
	send("msg_lift_o3_l", "lift-o3", "lost", map[string]any{"occurred_at": ago(2)})
	send("msg_lift_o4", "lift-o4", "prospecting", nil)

	// The referred deal's record reports "qualified" before it names the
	// referral: untracked, so counted as an other deal for now.
	name, email := company(t)
	a := e.refer(email, name)
	e.waitWaiting(a.ReferralID, "qualified")
	send("msg_lift_r_q", "lift-r", "qualified", nil)
	q := url.Values{"program": {defaultProgram}, "from": {now.AddDate(0, 0, -30).Format(time.DateOnly)},
		"to": {now.AddDate(0, 0, 1).Format(time.DateOnly)}}
	e.eventually("the unreferred deals are counted", 60*time.Second, func() (bool, string) {
		l := e.kpiReport(q).Lift
		return l != nil && l.Other.Opened == 4 && l.Other.Deals == 3, fmt.Sprintf("%+v", l)
	})

	// Then it names the referral and is won: a referred deal, taken back
	// out of the other deals.
	send("msg_lift_r_w", "lift-r", "won", map[string]any{"referral_id": a.ReferralID, "amount": 24000, "currency": "USD"})
	e.waitStatus(a, "completed", 60*time.Second)
	want := &kpis.Lift{
		Referred: kpis.DealFigures{Opened: 1, Deals: 1, Won: 1, WinRate: ptr(1.0), MedianDaysToClose: ptr(0.0), AvgDeal: ptr("24000.00")},
		Other: kpis.DealFigures{Opened: 3, Deals: 3, Won: 2, WinRate: ptr(0.6667), MedianDaysToClose: ptr(7.0), AvgDeal: ptr("6250.00"),
			AmountBands: map[string]int64{"0": 1, "10000": 1}},
	}
	var last *kpis.Lift
	e.eventually("the lift compares both sides", 60*time.Second, func() (bool, string) {
		last = e.kpiReport(q).Lift
		b, _ := json.Marshal(last)
		return reflect.DeepEqual(last, want), string(b)
	})

	// What the bus carried of them: deal keys, record ids, stages and
	// amounts, no referral and nothing of the person referred.
	evs, raw := e.busEvents(url.Values{"detail_type": {string(events.DealObserved)}})
	if len(evs) != 7 { // o1, o2, o3: two each (not the redelivery); lift-r once; o4 never
		t.Errorf("%d deal.observed events on the bus: %s", len(evs), raw)
	}
	for _, ev := range evs {
		var d events.Event
		if err := json.Unmarshal(ev.Detail, &d); err != nil || !strings.HasPrefix(d.ReferralID, "deal_") || d.ProgramID != defaultProgram ||
			d.Get("record_id") == "" || d.Get("provider") != "generic" {
			t.Errorf("deal event %s (%v)", ev.Detail, err)
		}
	}
	if strings.Contains(string(raw), email) || strings.Contains(string(raw), name) || strings.Contains(string(raw), a.ReferralID) {
		t.Errorf("deal events name the referral or the person: %s", raw)
	}
	// Another period has no deal on either side: no lift.
	if r := e.kpiReport(url.Values{"program": {defaultProgram}, "period": {"day"}, "at": {"2020-01-01"}}); r.Lift != nil {
		t.Errorf("2020-01-01 lift %+v", r.Lift)
	}
}

func ptr[T any](v T) *T { return &v }
