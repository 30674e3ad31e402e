package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/fakes"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards"
)

// The soak's payouts: every chaos program pays through Stripe (the local
// stack's Stripe fake), a share of the payout calls fail ambiguously, and
// afterwards every reward has exactly one live payment at Stripe when it
// is recorded paid, with the payment's id as its ledger reference, and
// none when it is not.

// stripeFaults is the Stripe part of the fault plan: a share of the payout
// calls (POSTs: transfers, coupons, promotion codes) fail ambiguously —
// the connection hung up or a 500 after Stripe made the payment, a 409
// (the key in use) or a 429 before it did. Look-ups are left alone so an
// unknown outcome is resolved within the pay step's retries.
func stripeFaults(seed uint64) fakes.StripeChaos {
	return fakes.StripeChaos{Probability: 0.2, Seed: seed, Methods: []string{http.MethodPost}, Failures: []fakes.StripeFailure{
		{Hangup: true, After: true},
		{Status: http.StatusInternalServerError, After: true},
		{Status: http.StatusConflict, Type: "idempotency_error", Code: "idempotency_key_in_use"},
		{Status: http.StatusTooManyRequests, Type: "invalid_request_error", Code: "rate_limit"},
	}}
}

// chaosAccount is the Stripe connected account of the partner of program p.
func chaosAccount(p string) string { return "acct_chaos" + strings.ReplaceAll(p, "-", "") }

// chaosCustomer is the Stripe customer of the soak's n-th referee.
func chaosCustomer(n int) string { return fmt.Sprintf("cus_chaos%d", n) }

// payee records a Stripe payee (details.<field> = id) at path through the
// admin API, as an operator or an integration does.
func (d *chaosDriver) payee(path, field, id string) error {
	body, _ := json.Marshal(map[string]any{"method": "stripe", "details": map[string]string{field: id}})
	auth := func() map[string]string { return map[string]string{"Authorization": "Bearer " + adminToken} }
	status, b, err := d.do(http.MethodPut, path, body, auth)
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("PUT %s = %d %s: %v", path, status, b, err)
	}
	return nil
}

// partnerPayees records each chaos program's partner's connected account.
func (d *chaosDriver) partnerPayees() error {
	for _, p := range []string{"chaos", "chaos-expire", "chaos-review", "chaos-review-timeout", "chaos-budget"} {
		if err := d.payee("/admin/partners/"+p+"/"+chaosCode(p)+"/payee", "account", chaosAccount(p)); err != nil {
			return err
		}
	}
	return nil
}

// stripeChaos sets the Stripe fake's random failures.
func (e *env) stripeChaos(c fakes.StripeChaos) error {
	b, _ := json.Marshal(c)
	resp, err := e.http.Post(e.api+fakes.Prefix+"stripe/chaos", "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	if body := readAll(resp); resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %sstripe/chaos = %d %s", fakes.Prefix, resp.StatusCode, body)
	}
	return nil
}

// stripeState is what the Stripe fake holds.
type stripeState struct {
	Objects  map[string][]map[string]any `json:"objects"`
	Injected map[string]int              `json:"injected"`
}

func (e *env) stripeState() (stripeState, error) {
	var st stripeState
	resp, err := e.http.Get(e.api + fakes.Prefix + "stripe/")
	if err != nil {
		return st, err
	}
	body := readAll(resp)
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %sstripe/ = %d %s", fakes.Prefix, resp.StatusCode, body)
	}
	return st, json.Unmarshal(body, &st)
}

// drainPayouts fires the payouts runner until no filed reward is due (or
// three runs in a row settled none). The soak cannot wait
// rewards.SendingGrace (10 minutes) for the filing of a reward left
// sending to fall due, so it brings such filings forward to now, as the
// clock would; a reward still sending afterwards shows as stuck in the
// provider check.
func (e *env) drainPayouts() (rounds int, err error) {
	ctx := context.Background()
	last, idle := -1, 0
	for rounds = 0; rounds < 20 && idle < 3; rounds++ {
		now := time.Now()
		filed, err := e.st.DueRewards(ctx, now.Add(365*24*time.Hour), 1000)
		if err != nil {
			return rounds, err
		}
		due := 0
		for _, f := range filed {
			rw, err := e.st.Reward(ctx, f.ReferralID, f.Milestone, f.Party)
			if err != nil || (rw.Status != rewards.StatusSending && f.At.After(now)) {
				continue // gone, or waiting for a payee or a payout day: the check reports it
			}
			if f.At.After(now) {
				if err := e.st.ScheduleReward(ctx, *rw, now); err != nil {
					return rounds, err
				}
			}
			due++
		}
		if due == 0 {
			return rounds, nil
		}
		if idle++; due != last {
			idle = 0
		}
		last = due
		resp, err := e.http.Post(e.api+"/__referflow/schedules/PayoutsFunction/run", "application/json", nil)
		if err != nil {
			return rounds, err
		}
		if body := readAll(resp); resp.StatusCode != http.StatusAccepted {
			return rounds, fmt.Errorf("fire PayoutsFunction = %d %s", resp.StatusCode, body)
		}
		time.Sleep(4 * time.Second) // the run is asynchronous
	}
	return rounds, nil
}

// byReward indexes the fake's objects of one list by their reward id.
func byReward(objs []map[string]any) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, o := range objs {
		md, _ := o["metadata"].(map[string]any)
		id, _ := md["reward_id"].(string)
		out[id] = append(out[id], o)
	}
	return out
}

// payments are the payments at Stripe for a reward of kind: its transfers
// (cash) or its promotion codes (a discount), taken back or not.
func payments(kind string, transfers, promos map[string][]map[string]any, rewardID string) []map[string]any {
	if kind == program.KindCash {
		return transfers[rewardID]
	}
	return promos[rewardID]
}

// taken reports whether a payment was taken back at Stripe: a transfer
// reversed, a promotion code deactivated.
func taken(o map[string]any) bool { return o["reversed"] == true || o["active"] == false }

// checkProviderPayouts compares every reward of refs with the Stripe
// fake's payments carrying its reward id.
func (e *env) checkProviderPayouts(refs []*chaosReferral, r *chaosReport) {
	ctx := context.Background()
	st, err := e.stripeState()
	if err != nil {
		r.driver = append(r.driver, "stripe state: "+err.Error())
		return
	}
	r.stripeFaults = st.Injected
	transfers, promos, coupons := byReward(st.Objects["transfers"]), byReward(st.Objects["promotion_codes"]), byReward(st.Objects["coupons"])
	r.providerPayouts = len(st.Objects["transfers"]) + len(st.Objects["promotion_codes"])
	for _, o := range append(st.Objects["transfers"], st.Objects["promotion_codes"]...) {
		if taken(o) {
			r.takenBack++
		}
	}
	known := map[string]bool{}
	for _, c := range refs {
		rws, err := e.st.Rewards(ctx, c.id)
		if err != nil {
			r.driver = append(r.driver, c.id+": "+err.Error())
			continue
		}
		for _, rw := range rws {
			known[rw.ID] = true
			e.checkProviderPayout(c, rw, payments(rw.Kind, transfers, promos, rw.ID), len(coupons[rw.ID]), r)
		}
	}
	for _, m := range []map[string][]map[string]any{transfers, promos, coupons} {
		for id, objs := range m {
			if !known[id] {
				r.pMissing = append(r.pMissing, fmt.Sprintf("%d Stripe objects for reward %q, which no soak referral has", len(objs), id))
			}
		}
	}
}

// checkProviderPayout checks one reward against its payments (and the
// number of its coupons, for a discount).
func (e *env) checkProviderPayout(c *chaosReferral, rw rewards.Reward, paid []map[string]any, coupons int, r *chaosReport) {
	what := fmt.Sprintf("%s (%s) %s/%s %s", c.id, c.j, rw.Milestone, rw.Party, rw.Kind)
	entries, err := e.st.LedgerEntries(context.Background(), rw.ID)
	if err != nil {
		r.driver = append(r.driver, what+": "+err.Error())
		return
	}
	for _, f := range judgePayout(rw, entries, paid, coupons) {
		list := map[string]*[]string{"double": &r.pDouble, "missing": &r.pMissing, "mismatch": &r.pMismatch, "stuck": &r.stuck}[f.kind]
		*list = append(*list, what+": "+f.detail)
	}
}

// payoutFinding is what is wrong with one reward's payment at the rail:
// kind is double, missing, mismatch or stuck.
type payoutFinding struct{ kind, detail string }

// judgePayout compares a reward (after settling) and its ledger entries
// with its payments at Stripe and its coupons: at most one payment (and
// coupon); one exactly when a payable entry records it, through stripe,
// with the payment's id as its reference; none still sending; a payment
// taken back at Stripe only for a reward the ledger reversed.
func judgePayout(rw rewards.Reward, entries []rewards.Entry, paid []map[string]any, coupons int) []payoutFinding {
	var out []payoutFinding
	if len(paid) > 1 || coupons > 1 {
		out = append(out, payoutFinding{"double", fmt.Sprintf("%d payments, %d coupons at Stripe", len(paid), coupons)})
	}
	var payable []rewards.Entry
	reversed := false
	for _, en := range entries {
		switch en.Type {
		case rewards.EntryPayable:
			payable = append(payable, en)
		case rewards.EntryReversal:
			reversed = true
		}
	}
	switch {
	case rw.Status == rewards.StatusSending:
		out = append(out, payoutFinding{"stuck", fmt.Sprintf("still sending after settling (%d payments at Stripe)", len(paid))})
	case len(payable) == 0 && len(paid) > 0:
		out = append(out, payoutFinding{"missing", fmt.Sprintf("paid at Stripe (%v), recorded %s", paid[0]["id"], rw.Status)})
	case len(payable) == 0:
	case payable[0].Method != rewards.RailStripe:
		out = append(out, payoutFinding{"missing", fmt.Sprintf("recorded paid through %q, not stripe", payable[0].Method)})
	case len(paid) == 0:
		out = append(out, payoutFinding{"missing", fmt.Sprintf("recorded paid (%s), no payment at Stripe", payable[0].Reference)})
	case payable[0].Reference != paid[0]["id"] || rw.Reference != payable[0].Reference:
		out = append(out, payoutFinding{"mismatch", fmt.Sprintf("ledger %q, reward %q, Stripe %v", payable[0].Reference, rw.Reference, paid[0]["id"])})
	case taken(paid[0]) && !reversed:
		out = append(out, payoutFinding{"missing", fmt.Sprintf("taken back at Stripe (%v), recorded paid and not reversed", paid[0]["id"])})
	}
	return out
}

// TestJudgePayoutFindsDoubleMissingAndMismatchedPayouts: the soak's check
// itself, without a stack.
func TestJudgePayoutFindsDoubleMissingAndMismatchedPayouts(t *testing.T) {
	paid := rewards.Reward{Status: rewards.StatusPaid, Reference: "tr_1"}
	entry := func(method, ref string) []rewards.Entry {
		return []rewards.Entry{{Type: rewards.EntryPayable, Method: method, Reference: ref}}
	}
	tr := func(ids ...string) []map[string]any {
		var out []map[string]any
		for _, id := range ids {
			out = append(out, map[string]any{"id": id, "object": "transfer", "reversed": false})
		}
		return out
	}
	reversedTr := []map[string]any{{"id": "tr_1", "object": "transfer", "reversed": true}}
	inactive := []map[string]any{{"id": "tr_1", "object": "promotion_code", "active": false}}
	reversal := append(entry("stripe", "tr_1"), rewards.Entry{Type: rewards.EntryReversal})
	cases := []struct {
		name    string
		rw      rewards.Reward
		entries []rewards.Entry
		live    []map[string]any
		coupons int
		want    []string
	}{
		{"paid once, same reference", paid, entry("stripe", "tr_1"), tr("tr_1"), 0, nil},
		{"a discount paid once", paid, entry("stripe", "tr_1"), tr("tr_1"), 1, nil},
		{"never paid, nothing at Stripe", rewards.Reward{Status: rewards.StatusVoided}, nil, nil, 0, nil},
		{"two payments", paid, entry("stripe", "tr_1"), tr("tr_1", "tr_2"), 0, []string{"double"}},
		{"two coupons", paid, entry("stripe", "tr_1"), tr("tr_1"), 2, []string{"double"}},
		{"recorded paid, nothing at Stripe", paid, entry("stripe", "tr_1"), nil, 0, []string{"missing"}},
		{"paid at Stripe, recorded voided", rewards.Reward{Status: rewards.StatusVoided}, nil, tr("tr_1"), 0, []string{"missing"}},
		{"paid through the ledger", paid, entry("ledger", ""), nil, 0, []string{"missing"}},
		{"other reference", paid, entry("stripe", "tr_9"), tr("tr_1"), 0, []string{"mismatch"}},
		{"still sending", rewards.Reward{Status: rewards.StatusSending}, nil, tr("tr_1"), 0, []string{"stuck"}},
		{"refunded: reversed in the ledger and at Stripe", paid, reversal, reversedTr, 0, nil},
		{"refunded: code deactivated", paid, reversal, inactive, 1, nil},
		{"reversed at Stripe, not in the ledger", paid, entry("stripe", "tr_1"), reversedTr, 0, []string{"missing"}},
		{"a second transfer after a reversal", paid, reversal, append(reversedTr, tr("tr_2")...), 0, []string{"double"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, f := range judgePayout(c.rw, c.entries, c.live, c.coupons) {
				got = append(got, f.kind)
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("findings %v, want %v", got, c.want)
			}
		})
	}
}
