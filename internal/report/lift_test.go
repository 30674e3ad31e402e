package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/kpis"
)

// The lift table says what other deals are, shows both sides' sample
// sizes, and marks a side with too few closed deals.
func TestLiftTableShowsSampleSizesAndSaysWhenTooFew(t *testing.T) {
	rep := sample()
	rep.Lift = &kpis.Lift{
		Referred: kpis.DealFigures{Opened: 31, Deals: 12, Won: 9, WinRate: f(0.75), MedianDaysToClose: f(35), AvgDeal: s("12500.00")},
		Other:    kpis.DealFigures{Opened: 140, Deals: 7, Won: 2, WinRate: f(0.2857), MedianDaysToClose: f(63), AvgDeal: s("8000.00")},
	}
	page := func(r kpis.Report) string {
		var b bytes.Buffer
		if err := Write(&b, r, "", ""); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	html := page(rep)
	for _, want := range []string{
		"Referred deals against all other deals", "Other deals are the deals your CRM reported that no referral is linked to",
		"<caption", `<th scope="col" class="num">Closed</th>`, "Average deal (EUR)",
		`<th scope="row">Referred deals</th><td class="num">31</td><td class="num">12</td><td class="num">9</td><td class="num">75%</td><td class="num">35</td><td class="num">12500.00</td>`,
		`<th scope="row">Other deals <span class="note">(not enough data)</span></th><td class="num">140</td><td class="num">7</td><td class="num">2</td><td class="num">28.6%</td>`,
		"fewer than 10 closed deals on a side",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	rep.Lift.Other.Deals = 10
	if html := page(rep); strings.Contains(html, "not enough data") || strings.Contains(html, "Not enough data") {
		t.Error("both sides have enough deals, yet the page says not enough data")
	}
	rep.Lift = nil
	if html := page(rep); strings.Contains(html, "other deals") {
		t.Error("a report without lift shows its table")
	}
}
