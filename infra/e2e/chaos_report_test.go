package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/fault"
	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/rewards"
)

// chaosReport is what the soak found, one figure a line.
type chaosReport struct {
	n, accepted     int
	byStatus        map[string]int
	needsAttention  int
	resumed         int
	resumedOnTheWay int64
	stuck           []string
	double, missing []string
	unbalanced      []string
	unexpected      []string // ended otherwise than the journey leads to
	driver          []string // what the driver could not do
	ledger, want    int64
	faults          map[string]int
	// Provider payouts (chaos_payouts_test.go): payments at the Stripe
	// fake, rewards with more than one, payments without a reward recorded
	// paid or the reverse, ledger references that are not the payment's id.
	providerPayouts   int
	pDouble, pMissing []string
	pMismatch         []string
	stripeFaults      map[string]int
	takenBack         int // payments taken back at Stripe (refunds after payout)
	payoutRounds      int
}

// finalStatuses end a referral.
var finalStatuses = map[string]bool{"completed": true, "lost": true, "expired": true, "rejected": true}

// wonAmount is what the won milestone of a chaos program pays (100 + 50 USD).
const wonAmount = 15000

func (e *env) chaosReport(d *chaosDriver, refs []chaosReferral) *chaosReport {
	r := &chaosReport{n: len(refs), byStatus: map[string]int{}}
	var live []*chaosReferral
	for i := range refs {
		c := &refs[i]
		if c.id == "" {
			r.driver = append(r.driver, fmt.Sprintf("%s: %v", c.j, c.err))
			continue
		}
		r.accepted++
		if c.err != nil {
			r.driver = append(r.driver, fmt.Sprintf("%s %s: %v", c.j, c.id, c.err))
		}
		live = append(live, c)
	}
	d.settle(live, r)
	r.resumedOnTheWay = d.resumedOnTheWay.Load()
	rounds, err := e.drainPayouts()
	if err != nil {
		r.driver = append(r.driver, "payouts runner: "+err.Error())
	}
	r.payoutRounds = rounds
	for _, c := range live {
		r.byStatus[c.status]++
		if !finalStatuses[c.status] && c.status != "needs_attention" {
			r.stuck = append(r.stuck, c.id+" ("+string(c.j)+", "+c.status+")")
		}
		e.checkPayments(c, r)
	}
	r.needsAttention = r.byStatus["needs_attention"]
	e.checkBudgets(live, r)
	e.checkProviderPayouts(live, r)
	r.faults = e.injectedFaults()
	return r
}

// settle waits until every referral is final or visibly needs attention
// (the reconciler runs every 2 s meanwhile), resuming those that need
// attention once through the admin API.
func (d *chaosDriver) settle(refs []*chaosReferral, r *chaosReport) {
	deadline := time.Now().Add(3*time.Minute + time.Duration(len(refs))*time.Second)
	resumed := map[string]bool{}
	for {
		pending := 0
		for _, c := range refs {
			c.status = d.statusOf(c.id)
			switch {
			case finalStatuses[c.status]:
			case c.status == "needs_attention" && !resumed[c.id]:
				resumed[c.id] = true
				if d.resume(c.id) {
					r.resumed++
					pending++
				}
			case c.status == "needs_attention":
			default:
				pending++
			}
		}
		if pending == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(3 * time.Second) // every poll reads each referral: spare moto

	}
}

// resume asks the admin API to resume a referral that needs attention.
func (d *chaosDriver) resume(id string) bool {
	auth := func() map[string]string { return map[string]string{"Authorization": "Bearer " + adminToken} }
	status, _, err := d.send("/admin/referrals/"+id+"/resume", []byte(`{}`), auth)
	return err == nil && status == http.StatusOK
}

// checkPayments compares a referral's rewards and ledger with its journey.
func (e *env) checkPayments(c *chaosReferral, r *chaosReport) {
	ctx := context.Background()
	rws, err := e.st.Rewards(ctx, c.id)
	if err != nil {
		r.driver = append(r.driver, c.id+": "+err.Error())
		return
	}
	var net, paid int64
	payables := map[string]int{}
	for _, rw := range rws {
		entries, err := e.st.LedgerEntries(ctx, rw.ID)
		if err != nil {
			r.driver = append(r.driver, c.id+": "+err.Error())
			return
		}
		for _, en := range entries {
			net += en.AmountMinor
			if en.Type == rewards.EntryPayable {
				payables[rw.Milestone+"/"+rw.Party]++
				paid += en.AmountMinor
			}
		}
	}
	for k, n := range payables {
		if n > 1 {
			r.double = append(r.double, fmt.Sprintf("%s %s paid %d times", c.id, k, n))
		}
	}
	want := int64(0)
	switch {
	case c.j.paid() && c.j != jRefundPaid:
		want = wonAmount
	case c.j == jBudget:
		want = paid // what fitted the budget; the rest waits for a person
	}
	if c.j.paid() && (payables["won/referrer"] == 0 || payables["won/referee"] == 0) {
		r.missing = append(r.missing, fmt.Sprintf("%s (%s): won rewards paid %v", c.id, c.j, payables))
	}
	if c.j == jRefundHold && net != 0 {
		r.double = append(r.double, fmt.Sprintf("%s (%s): refunded deal nets %d", c.id, c.j, net))
	}
	switch {
	case net > want:
		r.double = append(r.double, fmt.Sprintf("%s (%s): ledger nets %d, want %d", c.id, c.j, net, want))
	case net < want:
		r.missing = append(r.missing, fmt.Sprintf("%s (%s): ledger nets %d, want %d", c.id, c.j, net, want))
	}
	r.ledger += net
	r.want += want
	ok := c.status == c.j.final() || c.status == "needs_attention" ||
		(c.j == jRefundHold && c.status == "completed" && net == 0) // the refund came after the payout
	if !ok {
		r.unexpected = append(r.unexpected, fmt.Sprintf("%s (%s) ended %s", c.id, c.j, c.status))
	}
}

// checkBudgets: each program's budget counter equals the sum of the
// reservations of its live rewards (held, approved or paid and not
// reversed), and the small budget was never exceeded.
func (e *env) checkBudgets(refs []*chaosReferral, r *chaosReport) {
	ctx := context.Background()
	period := time.Now().UTC().Format("2006-01")
	counter := rewards.BudgetCounter(period)
	sums := map[string]int64{"chaos": 0, "chaos-budget": 0}
	for _, c := range refs {
		p := c.j.program()
		if _, ok := sums[p]; !ok {
			continue
		}
		rws, _ := e.st.Rewards(ctx, c.id)
		for _, rw := range rws {
			sums[p] += liveReservation(e, rw, counter)
		}
	}
	for p, want := range sums {
		got, err := storetest.Spent(ctx, e.db, e.st.Table(), p, counter)
		if err != nil || got != want {
			r.unbalanced = append(r.unbalanced, fmt.Sprintf("%s: counter %d, live reservations %d (%v)", p, got, want, err))
		}
		if p == "chaos-budget" && got > 30000 {
			r.unbalanced = append(r.unbalanced, fmt.Sprintf("%s: counter %d over its budget 30000", p, got))
		}
	}
}

// liveReservation is what reward rw holds on counter: its reservation while
// it is held, approved or paid, nothing once voided, failed or reversed.
func liveReservation(e *env, rw rewards.Reward, counter string) int64 {
	if rw.Status == rewards.StatusVoided || rw.Status == rewards.StatusFailed {
		return 0
	}
	if rw.Status == rewards.StatusPaid {
		entries, _ := e.st.LedgerEntries(context.Background(), rw.ID)
		for _, en := range entries {
			if en.Type == rewards.EntryReversal {
				return 0
			}
		}
	}
	var sum int64
	for _, rv := range rw.Reserved {
		if rv.Counter == counter {
			sum += rv.AmountMinor
		}
	}
	return sum
}

// injectedFaults reads what the stack's fault plan injected.
func (e *env) injectedFaults() map[string]int {
	resp, err := e.http.Get(e.api + "/__referflow/faults")
	if err != nil {
		return nil
	}
	var doc struct {
		Injected map[string]int `json:"injected"`
	}
	_ = json.Unmarshal(readAll(resp), &doc)
	return doc.Injected
}

// table prints the report, one figure a line.
func (r *chaosReport) table() string {
	var b strings.Builder
	row := func(name string, v any) { fmt.Fprintf(&b, "  %-26s %v\n", name, v) }
	fmt.Fprintf(&b, "\nchaos soak: %d referrals of %d journeys under a fault plan with every fault on\n", r.n, len(journeys))
	row("accepted", r.accepted)
	statuses := make([]string, 0, len(r.byStatus))
	for s := range r.byStatus {
		statuses = append(statuses, s)
	}
	sort.Strings(statuses)
	for _, s := range statuses {
		if s != "needs_attention" {
			row(s, r.byStatus[s])
		}
	}
	row("needs_attention", fmt.Sprintf("%d (resumed %d on the way, %d once settled)", r.needsAttention, r.resumedOnTheWay, r.resumed))
	row("stuck", len(r.stuck))
	row("double payments", len(r.double))
	row("missing payments", len(r.missing))
	row("unbalanced budgets", len(r.unbalanced))
	row("unexpected outcomes", len(r.unexpected))
	row("driver errors", len(r.driver))
	row("ledger total (USD)", fmt.Sprintf("%s (expected %s)", money.FormatMinor(r.ledger, "USD"), money.FormatMinor(r.want, "USD")))
	row("provider payouts", fmt.Sprintf("%d, %d taken back by refunds (payouts runner fired %d times after settling)", r.providerPayouts, r.takenBack, r.payoutRounds))
	row("double provider payouts", len(r.pDouble))
	row("missing provider payouts", len(r.pMissing))
	row("reference mismatches", len(r.pMismatch))
	stripeTotal := 0
	for _, k := range fault.HitNames(r.stripeFaults) {
		stripeTotal += r.stripeFaults[k]
	}
	row("stripe faults injected", stripeTotal)
	for _, k := range fault.HitNames(r.stripeFaults) {
		row("  "+k, r.stripeFaults[k])
	}
	total := 0
	for _, k := range fault.HitNames(r.faults) {
		total += r.faults[k]
	}
	row("faults injected", total)
	for _, k := range fault.HitNames(r.faults) {
		row("  "+k, r.faults[k])
	}
	for _, l := range [][]string{r.stuck, r.double, r.missing, r.unbalanced, r.unexpected, r.driver, r.pDouble, r.pMissing, r.pMismatch} {
		for _, s := range l {
			fmt.Fprintf(&b, "    %s\n", s)
		}
	}
	return b.String()
}

// check fails the test on any figure that must hold.
func (r *chaosReport) check(t *testing.T) {
	t.Helper()
	accounted := 0
	for _, n := range r.byStatus {
		accounted += n
	}
	if accounted != r.accepted {
		t.Errorf("%d accepted referrals, %d accounted for", r.accepted, accounted)
	}
	for name, l := range map[string][]string{"stuck": r.stuck, "double payments": r.double, "missing payments": r.missing,
		"unbalanced budgets": r.unbalanced, "unexpected outcomes": r.unexpected, "driver errors": r.driver,
		"double provider payouts": r.pDouble, "missing provider payouts": r.pMissing, "reference mismatches": r.pMismatch} {
		if len(l) > 0 {
			t.Errorf("%s: %d: %s", name, len(l), strings.Join(l, "; "))
		}
	}
	if r.ledger != r.want {
		t.Errorf("ledger total %d, expected %d", r.ledger, r.want)
	}
	if len(r.faults) == 0 {
		t.Error("the fault plan injected nothing")
	}
	if len(r.stripeFaults) == 0 {
		t.Error("the Stripe fault plan injected nothing")
	}
}
