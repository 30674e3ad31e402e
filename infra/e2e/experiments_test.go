package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/seed"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/program"
)

// experimentYAML is a program whose won milestone pays the referrer
// 100.00; its experiment's variant B doubles it (a tier from the first won
// referral), A pays as written.
func experimentYAML(id string) string {
	return withHold(rulesProgram(id, `experiment:
  id: double-e2e
  assign: partner
  variants:
    - {name: A}
    - name: B
      tiers: [{from: 1, multiplier: 2, period: all}]
`), 0)
}

// TestExperimentAssignsRewardsAndEndsKeepingAVariant: a program runs an
// experiment; the referrals of partners assigned A earn 100.00, those of B
// 200.00, each keeps the variant it was assigned (a partner's second
// referral too); GET /admin/kpis shows both variants; ending the
// experiment keeping B through the admin API publishes a version where a
// new referral of an A partner earns B's 200.00, and the earlier
// referrals keep their variant.
func TestExperimentAssignsRewardsAndEndsKeepingAVariant(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	const id = "exp-e2e"
	yaml := experimentYAML(id)
	e.publish(yaml, seed.Overrides{})
	p, err := program.Load([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	// Two partners in each variant, found by the same assignment intake makes.
	codes := map[string][]string{}
	for i := 0; len(codes["A"]) < 2 || len(codes["B"]) < 2; i++ {
		code := fmt.Sprintf("EXP%02d", i)
		if _, v := p.Assign(code, ""); len(codes[v]) < 2 {
			codes[v] = append(codes[v], code)
			e.addReferrer(id, code, fmt.Sprintf("pat%d@exp-partner-%d.example", i, i))
		}
	}
	pay := map[string]int64{"A": 10000, "B": 20000}
	made := map[string]string{} // referral id -> variant
	refer := func(code, want string, amount int64) string {
		t.Helper()
		name, email := ruleCompany()
		a := e.referWith(id, code, email, name, nil)
		e.waitWaiting(a.ReferralID, "won")
		e.won(a.ReferralID)
		v := e.waitStatus(a, "completed", 60*time.Second)
		if _, got := v.reward("won", "referrer"); got != amount {
			t.Errorf("partner %s (variant %q): the referrer earned %d, want %d", code, want, got, amount)
		}
		r, err := e.st.Referral(context.Background(), a.ReferralID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Variant != want || (want != "" && r.Experiment != "double-e2e") {
			t.Errorf("referral of %s stored in %q/%q, want variant %q", code, r.Experiment, r.Variant, want)
		}
		made[a.ReferralID] = r.Variant
		return a.ReferralID
	}
	for _, v := range []string{"A", "B"} {
		for _, code := range codes[v] {
			refer(code, v, pay[v])
		}
	}
	refer(codes["B"][0], "B", 20000) // the same partner, the same variant

	today := time.Now().UTC()
	q := url.Values{"program": {id}, "period": {"day"}, "at": {today.Format(time.DateOnly)}}
	var exp kpis.Experiment
	e.eventually("the KPIs count each variant", 60*time.Second, func() (bool, string) {
		r := e.kpiReport(q)
		if len(r.Experiments) != 1 {
			return false, fmt.Sprintf("%+v", r.Experiments)
		}
		exp = r.Experiments[0]
		a, b := exp.Variants[0], exp.Variants[1]
		return a.Referrals == 2 && a.Customers == 2 && b.Referrals == 3 && b.Customers == 3 &&
			a.RewardCost.Paid == "200.00" && b.RewardCost.Paid == "600.00", fmt.Sprintf("A %+v B %+v", a, b)
	})
	if exp.ID != "double-e2e" || exp.Status != "running" || exp.Control != "A" || exp.Verdict != kpis.NotEnoughData ||
		*exp.Variants[1].CostPerCustomer != "200.00" || *exp.Variants[0].CostPerCustomer != "100.00" {
		t.Errorf("experiment %+v", exp)
	}

	path := "/admin/programs/" + id + "/experiment/end"
	if code, _ := e.admin(http.MethodPost, path, "", map[string]any{"keep": "B"}); code != http.StatusUnauthorized {
		t.Errorf("without the admin token: %d", code)
	}
	if code, body := e.admin(http.MethodPost, path, adminToken, map[string]any{"keep": "Z"}); code != http.StatusBadRequest {
		t.Errorf("keep Z: %d %v", code, body)
	}
	code, body := e.admin(http.MethodPost, path, adminToken, map[string]any{"keep": "B", "version": 1})
	if code != http.StatusOK || body["version"] != float64(2) || body["kept"] != "B" || body["experiment"] != "double-e2e" {
		t.Fatalf("end: %d %v", code, body)
	}
	if code, body := e.admin(http.MethodPost, path, adminToken, map[string]any{"keep": "B"}); code != http.StatusConflict {
		t.Errorf("ending twice: %d %v", code, body)
	}

	// A new referral of a partner of A gets B's rule, under version 2, without a variant.
	after := refer(codes["A"][0], "", 20000)
	if r, _ := e.st.Referral(context.Background(), after); r.ProgramVersion != 2 {
		t.Errorf("the new referral froze version %d, want 2", r.ProgramVersion)
	}
	for rid, v := range made {
		if r, err := e.st.Referral(context.Background(), rid); err != nil || r.Variant != v || (v != "" && r.ProgramVersion != 1) {
			t.Errorf("referral %s moved: %+v %v", rid, r, err)
		}
	}
	e.eventually("the ended experiment is still reported", 30*time.Second, func() (bool, string) {
		r := e.kpiReport(q)
		ok := len(r.Experiments) == 1 && r.Experiments[0].Status == "ended" && r.Experiments[0].Variants[0].Referrals == 2
		return ok, strings.TrimSpace(fmt.Sprintf("%+v", r.Experiments))
	})
}
