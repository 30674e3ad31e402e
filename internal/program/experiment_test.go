package program

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// experimentDoc is a valid program with an experiment: A pays as written,
// B doubles the referrer's rewards.
const experimentDoc = `
schema: 1
id: demo
milestones:
  - name: qualified
    deadline: 30d
  - name: won
    deadline: 30d
    rewards: [{party: referrer, kind: cash, amount: 100}]
tiers: [{from: 1, multiplier: 1.25}]
experiment:
  id: double-2026
  variants:
    - {name: A}
    - name: B
      weight: 3
      tiers: [{from: 1, multiplier: 2, period: quarter}]
`

func TestLoadExperimentAppliesDefaults(t *testing.T) {
	p, err := Load([]byte(experimentDoc))
	if err != nil {
		t.Fatal(err)
	}
	want := &Experiment{ID: "double-2026", Assign: AssignPartner, Variants: []Variant{
		{Name: "A", Weight: 1},
		{Name: "B", Weight: 3, Tiers: []Tier{{From: 1, MultiplierBP: 20000, Period: PeriodQuarter, CountsMilestone: "won"}}},
	}}
	if !reflect.DeepEqual(p.Experiment, want) {
		t.Fatalf("experiment %+v\nwant %+v", p.Experiment, want)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("a loaded experiment does not validate again: %v", err)
	}
	q, _ := Load([]byte(strings.Replace(experimentDoc, "weight: 3", "weight: 2", 1)))
	if p.Fingerprint() == q.Fingerprint() {
		t.Error("a change of weight does not change the program's fingerprint")
	}
}

func TestExperimentValidationNamesTheField(t *testing.T) {
	withExperiment := func(exp string) string {
		return strings.Replace(experimentDoc, experimentDoc[strings.Index(experimentDoc, "experiment:"):], exp, 1)
	}
	for _, c := range []struct {
		name string
		exp  string
		want []string
	}{
		{"one variant", "experiment: {id: x, variants: [{name: A}]}\n",
			[]string{"experiment.variants: an experiment needs two or more variants (got 1)"}},
		{"no id, unknown assign", "experiment: {assign: visitor, variants: [{name: A}, {name: B}]}\n",
			[]string{`experiment.id: "" must be`, `experiment.assign: unknown value "visitor" (want partner, referral)`}},
		{"names", "experiment: {id: x, variants: [{name: A}, {name: a}, {name: 'B#1'}, {name: ''}]}\n",
			[]string{`experiment.variants[1].name: "a" is the name of experiment.variants[0] already`,
				`experiment.variants[2].name: "B#1" must be`, `experiment.variants[3].name: "" must be`}},
		{"weights", "experiment: {id: x, variants: [{name: A, weight: 0}, {name: B, weight: 10001}, {name: C, weight: -2}]}\n",
			[]string{"experiment.variants[0].weight: must be a whole number from 1 to 10000",
				"experiment.variants[1].weight: must be", "experiment.variants[2].weight: must be"}},
		{"variant tiers follow the tier rules", `experiment:
  id: x
  variants:
    - {name: A}
    - name: B
      tiers:
        - {from: 0, multiplier: 0, period: week}
        - {from: 2, multiplier: 3, counts_milestone: nope}
        - {from: 3, multiplier: 2}
`, []string{"experiment.variants[1].tiers[0].from: must be at least 1",
			"experiment.variants[1].tiers[0].multiplier: must be greater than 0",
			"experiment.variants[1].tiers[0].period: unknown period",
			`experiment.variants[1].tiers[1].counts_milestone: no milestone is named "nope"`,
			"experiment.variants[1].tiers[1].period: all tiers must count in the same period (experiment.variants[1].tiers[0] uses",
			"experiment.variants[1].tiers[2].multiplier: must not be below the previous tier's"}},
		{"unreadable multiplier", "experiment: {id: x, variants: [{name: A}, {name: B, tiers: [{from: 1, multiplier: lots}]}]}\n",
			[]string{`experiment.variants[1].tiers[0].multiplier: "lots"`}},
		{"unknown field", "experiment: {id: x, variants: [{name: A, share: 2}, {name: B}], stop: never}\n",
			[]string{"experiment.stop: unknown field", "experiment.variants[0].share: unknown field"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := problemsOf(t, withExperiment(c.exp))
			for _, w := range c.want {
				found := false
				for _, g := range got {
					found = found || strings.HasPrefix(g, w)
				}
				if !found {
					t.Errorf("missing problem %q in:\n  %s", w, strings.Join(got, "\n  "))
				}
			}
		})
	}
}

func TestAssignIsDeterministicAndFollowsTheWeights(t *testing.T) {
	p, err := Load([]byte(experimentDoc)) // A weight 1, B weight 3
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	const partners = 4000
	for i := range partners {
		key := fmt.Sprintf("P%05d", i)
		exp, v := p.Assign(key, fmt.Sprintf("ref_%d", i))
		if exp != "double-2026" || (v != "A" && v != "B") {
			t.Fatalf("Assign(%s) = %q %q", key, exp, v)
		}
		for j := range 3 { // the same partner, other referrals: the same variant
			if _, again := p.Assign(key, fmt.Sprintf("ref_%d_%d", i, j)); again != v {
				t.Fatalf("partner %s moved from %s to %s", key, v, again)
			}
		}
		counts[v]++
	}
	// B should get 3/4: 3000 ± 4 standard deviations (27.4).
	if b := counts["B"]; math.Abs(float64(b)-3000) > 110 {
		t.Errorf("B got %d of %d partners, want about 3000", b, partners)
	}

	p.Experiment.Assign = AssignReferral
	byRef := map[string]int{}
	for i := range partners {
		_, v := p.Assign("ONE-PARTNER", fmt.Sprintf("ref_%d", i))
		byRef[v]++
		if _, again := p.Assign("ONE-PARTNER", fmt.Sprintf("ref_%d", i)); again != v {
			t.Fatal("a referral's variant is not deterministic")
		}
	}
	if math.Abs(float64(byRef["B"])-3000) > 110 {
		t.Errorf("per referral, B got %d of %d", byRef["B"], partners)
	}

	none := &Program{ID: "x"}
	if exp, v := none.Assign("P1", "ref_1"); exp != "" || v != "" {
		t.Errorf("no experiment: %q %q", exp, v)
	}
}

func TestTiersForAVariant(t *testing.T) {
	p, err := Load([]byte(experimentDoc))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		variant string
		want    int64 // first tier's multiplier, 0: none
	}{{"B", 20000}, {"A", 0}, {"", 12500}, {"Z", 12500}} {
		got := int64(0)
		if ts := p.TiersFor(c.variant); len(ts) > 0 {
			got = ts[0].MultiplierBP
		}
		if got != c.want {
			t.Errorf("TiersFor(%q) first multiplier %d, want %d", c.variant, got, c.want)
		}
	}
}

// memPublisher keeps a program's versions, as store.PublishProgram does.
type memPublisher struct{ versions []*Program }

func (m *memPublisher) CurrentProgram(_ context.Context, id string) (*Program, error) {
	if len(m.versions) == 0 {
		return nil, errors.New("not found")
	}
	return m.versions[len(m.versions)-1], nil
}

func (m *memPublisher) PublishProgram(_ context.Context, p *Program, _ time.Time) (int, error) {
	cp := *p
	cp.Version = len(m.versions) + 1
	m.versions = append(m.versions, &cp)
	return cp.Version, nil
}

func TestEndExperimentPublishesTheKeptVariantAsTheRule(t *testing.T) {
	p, err := Load([]byte(experimentDoc))
	if err != nil {
		t.Fatal(err)
	}
	p.Version = 1
	pub := &memPublisher{versions: []*Program{p}}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		keep    string
		version int
		want    error
	}{{"Z", 0, ErrUnknownVariant}, {"B", 7, ErrVersionMoved}} {
		if _, _, err := EndExperiment(context.Background(), pub, "demo", c.keep, c.version, now); !errors.Is(err, c.want) {
			t.Errorf("keep %q at v%d: %v, want %v", c.keep, c.version, err, c.want)
		}
	}
	if len(pub.versions) != 1 {
		t.Fatal("a refused end published a version")
	}
	ended, exp, err := EndExperiment(context.Background(), pub, "demo", "B", 1, now)
	if err != nil || exp == nil || exp.ID != "double-2026" {
		t.Fatal(exp, err)
	}
	if ended.Version != 2 || ended.Experiment != nil || !reflect.DeepEqual(ended.Tiers, p.Experiment.Variants[1].Tiers) {
		t.Fatalf("ended: v%d experiment %+v tiers %+v", ended.Version, ended.Experiment, ended.Tiers)
	}
	if err := ended.Validate(); err != nil {
		t.Errorf("the ended program is invalid: %v", err)
	}
	if p.Experiment == nil || p.Version != 1 {
		t.Error("ending changed the version referrals froze")
	}
	if exp, v := ended.Assign("P1", "ref_1"); exp != "" || v != "" || ended.TiersFor("A")[0].MultiplierBP != 20000 {
		t.Error("a new referral after the end does not get the kept rule")
	}
	if _, _, err := EndExperiment(context.Background(), pub, "demo", "B", 0, now); !errors.Is(err, ErrNoExperiment) {
		t.Errorf("ending twice: %v", err)
	}
}
