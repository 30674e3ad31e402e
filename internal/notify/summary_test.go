package notify

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/referral"
)

func TestTallyAddsUpAMonth(t *testing.T) {
	var tl Tally
	if !tl.Empty() {
		t.Fatal("a new tally is not empty")
	}
	for _, s := range []string{"in_progress", "rejected", "in_progress", "received", "some_new_status"} {
		tl.Referral(s)
	}
	tl.Earned(50000, "USD", true)
	tl.Earned(10000, "USD", false)
	tl.Earned(2000, "EUR", true)
	tl.Paid(10000, "USD")
	got := tl.Summary(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	want := Summary{
		Month: "February 2026", Period: "2026-02",
		Referrals: []StatusCount{{"received", 1}, {"in_progress", 2}, {"rejected", 1}, {"some_new_status", 1}},
		Earned:    "20.00 EUR + 600.00 USD", OnHold: "20.00 EUR + 500.00 USD", Paid: "100.00 USD",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("summary %+v\nwant    %+v", got, want)
	}
	var paidOnly Tally
	paidOnly.Paid(100, "USD")
	if paidOnly.Empty() || paidOnly.Summary(t0).Earned != "0" {
		t.Errorf("a month with a payment only: %+v", paidOnly.Summary(t0))
	}
}

func TestMonthlySummaryRenders(t *testing.T) {
	p := testProgram()
	r := &referral.Referrer{ProgramID: "b2b", Code: "ANN43", Email: partnerEmail, Name: "Ann"}
	var tl Tally
	tl.Referral("in_progress")
	tl.Earned(50000, "USD", true)
	m, err := MonthlySummary(p, r, "ANN1", tl.Summary(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)), testLinks)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Your Acme Partners summary for February 2026" || m.To[0] != partnerEmail {
		t.Errorf("subject %q to %v", m.Subject, m.To)
	}
	for _, want := range []string{"- In progress: 1", "- earned: 500.00 USD", "- on hold: 500.00 USD", "- paid: 0"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	if s, err := VerifyPreferenceToken([]string{secret}, tokenOf(t, m.Headers["List-Unsubscribe"]), t0); err != nil || s.Code != "ANN1" {
		t.Errorf("link speaks for %+v %v", s, err)
	}
	p.Emails.Off = []string{string(KindMonthlySummary)}
	if _, err := MonthlySummary(p, r, "ANN1", tl.Summary(t0), testLinks); err != ErrOff {
		t.Errorf("switched off: %v", err)
	}
}
