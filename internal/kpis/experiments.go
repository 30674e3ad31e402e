package kpis

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
)

// Experiment counters, under the program's partition beside the others:
//
//	EXP#<experiment>#<variant>   per variant, over the experiment's whole
//	                             life: received, accepted, rejected,
//	                             reached:<milestone>, customers, lost,
//	                             expired, revenue:<CUR>, earned:<CUR>,
//	                             paid:<CUR>, reversed:<CUR>
//
// A referral's facts are added to its variant's item when they are added
// to a day's (once per referral, once per event for amounts), in the same
// transaction: reading an experiment costs one item per variant.

// ExperimentPrefix is the sort-key prefix of the experiment counters.
const ExperimentPrefix = "EXP#"

// ExperimentSK is the sort key of a variant's counters.
func ExperimentSK(experiment, variant string) string {
	return ExperimentPrefix + experiment + "#" + variant
}

// ExperimentDef is what Build needs of the running experiment: its id, how
// it assigns and its variants in order (the first is the control).
type ExperimentDef struct {
	ID       string
	Assign   string
	Variants []VariantDef
}

// VariantDef is a variant's name and weight.
type VariantDef struct {
	Name   string
	Weight int
}

// ExperimentOf is the definition of p's experiment (nil: none runs).
func ExperimentOf(p *program.Program) *ExperimentDef {
	if p == nil || p.Experiment == nil {
		return nil
	}
	d := &ExperimentDef{ID: p.Experiment.ID, Assign: p.Experiment.Assign}
	for _, v := range p.Experiment.Variants {
		d.Variants = append(d.Variants, VariantDef{Name: v.Name, Weight: v.Weight})
	}
	return d
}

// experimentCounter reports whether a day counter is also counted per
// variant: the referral's facts and the amounts, not the histograms nor
// the rejection reasons.
func experimentCounter(name string) bool {
	base, suffix, _ := strings.Cut(name, ":")
	switch base {
	case Received, Accepted, Rejected, Customers, Lost, Expired:
		return suffix == ""
	case Reached, Revenue, Earned, Paid, Reversed:
		return suffix != ""
	}
	return false
}

// planExperiment adds what this event adds to the days (c) to the
// counters of the referral's variant, when it has one.
func planExperiment(c *Changes, f Facts) {
	if f.Experiment == "" || f.Variant == "" {
		return
	}
	sk := ExperimentSK(f.Experiment, f.Variant)
	days := slices.Clone(c.order)
	for _, day := range days {
		if !strings.HasPrefix(day, DayPrefix) {
			continue
		}
		names := make([]string, 0, len(c.by[day]))
		for name := range c.by[day] {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			if experimentCounter(name) {
				c.Add(sk, name, c.by[day][name])
			}
		}
	}
}

// Experiment is one experiment's figures per variant, over its whole
// life (not the report's period): the JSON of Report.Experiments.
type Experiment struct {
	ID string `json:"id"`
	// Status is "running" (the program's current version runs it) or
	// "ended" (its referrals still count; variants in name order).
	Status string `json:"status"`
	Assign string `json:"assign,omitempty"`
	// Control is the variant the others are compared with (the first).
	Control  string           `json:"control"`
	Variants []VariantFigures `json:"variants"`
	// Verdict is each other variant's verdict against the control, "; "
	// between them.
	Verdict string `json:"verdict"`
}

// VariantFigures are a variant's referrals and what became of them.
type VariantFigures struct {
	Name   string `json:"name"`
	Weight int    `json:"weight,omitempty"` // running experiments only
	// Referrals counts the referrals assigned the variant (received).
	Referrals int64 `json:"referrals"`
	Accepted  int64 `json:"accepted"`
	Rejected  int64 `json:"rejected"`
	Lost      int64 `json:"lost"`
	Expired   int64 `json:"expired"`
	Customers int64 `json:"customers"`
	// Stages: accepted, then each milestone, as shares of Referrals with
	// their 95% Wilson intervals.
	Stages []Rate `json:"stages"`
	// Conversion is Customers over Referrals, with its interval.
	Conversion Rate       `json:"conversion"`
	Revenue    Amount     `json:"revenue"`
	RewardCost RewardCost `json:"reward_cost"`
	// CostPerCustomer is (paid − reversed) / customers; null without one.
	CostPerCustomer *string `json:"cost_per_customer"`
	// VsControl is the variant's conversion over the control's, with its
	// 95% interval; null for the control, or when either has no customer.
	VsControl *Ratio `json:"vs_control"`
	// Verdict against the control ("" for the control itself).
	Verdict string `json:"verdict"`
}

// Rate is a share with its 95% interval (nulls when the base is zero).
type Rate struct {
	Stage string   `json:"stage,omitempty"`
	Count int64    `json:"count"`
	Rate  *float64 `json:"rate"`
	Low   *float64 `json:"low"`
	High  *float64 `json:"high"`
}

// Ratio is a ratio of two conversions with its 95% interval.
type Ratio struct {
	Ratio float64 `json:"ratio"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// Experiment statuses.
const (
	ExperimentRunning = "running"
	ExperimentEnded   = "ended"
)

// experimentFigures reads the EXP# items: the running experiment of p
// first (every variant, counted or not), then the ended ones by id; nil
// when there is none.
func experimentFigures(p Program, items []Item) []Experiment {
	byExp := map[string]map[string]map[string]int64{}
	for _, it := range items {
		rest, ok := strings.CutPrefix(it.SK, ExperimentPrefix)
		exp, variant, ok2 := strings.Cut(rest, "#")
		if !ok || !ok2 {
			continue
		}
		if byExp[exp] == nil {
			byExp[exp] = map[string]map[string]int64{}
		}
		byExp[exp][variant] = it.N
	}
	var out []Experiment
	if d := p.Experiment; d != nil {
		e := Experiment{ID: d.ID, Status: ExperimentRunning, Assign: d.Assign}
		for _, v := range d.Variants {
			f := variantFigures(v.Name, byExp[d.ID][v.Name], p)
			f.Weight = v.Weight
			e.Variants = append(e.Variants, f)
		}
		out = append(out, compare(e))
		delete(byExp, d.ID)
	}
	ids := make([]string, 0, len(byExp))
	for id := range byExp {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		e := Experiment{ID: id, Status: ExperimentEnded}
		names := make([]string, 0, len(byExp[id]))
		for name := range byExp[id] {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			e.Variants = append(e.Variants, variantFigures(name, byExp[id][name], p))
		}
		out = append(out, compare(e))
	}
	return out
}

// variantFigures reads one variant's counters n.
func variantFigures(name string, n map[string]int64, p Program) VariantFigures {
	cur := p.Currency
	f := VariantFigures{Name: name, Referrals: n[Received], Accepted: n[Accepted], Rejected: n[Rejected],
		Lost: n[Lost], Expired: n[Expired], Customers: n[Customers]}
	f.Stages = append(f.Stages, rate(Accepted, f.Accepted, f.Referrals))
	for _, m := range p.Milestones {
		f.Stages = append(f.Stages, rate(m, n[Name(Reached, m)], f.Referrals))
	}
	f.Conversion = rate("", f.Customers, f.Referrals)
	rev, paid, back := n[Name(Revenue, cur)], n[Name(Paid, cur)], n[Name(Reversed, cur)]
	f.Revenue = Amount{Amount: money.FormatMinor(rev, cur), Currency: cur, Minor: rev}
	f.RewardCost = RewardCost{Earned: money.FormatMinor(n[Name(Earned, cur)], cur), Paid: money.FormatMinor(paid, cur),
		Reversed: money.FormatMinor(back, cur), Currency: cur}
	f.CostPerCustomer = perCustomer(paid-back, f.Customers, cur)
	return f
}

// perCustomer is a net cost over customers in currency cur, rounded half
// up (a negative cost counts as 0); nil without a customer.
func perCustomer(net, customers int64, cur string) *string {
	if customers <= 0 {
		return nil
	}
	s := money.FormatMinor((max(net, 0)+customers/2)/customers, cur)
	return &s
}

// rate is x of n as a Rate of stage.
func rate(stage string, x, n int64) Rate {
	r := Rate{Stage: stage, Count: x, Rate: ratio(x, n)}
	if lo, hi, ok := Wilson(x, n); ok {
		r.Low, r.High = round4(lo), round4(hi)
	}
	return r
}

func round4(v float64) *float64 {
	v = math.Round(v*1e4) / 1e4
	return &v
}

// compare sets each variant's comparison with the control (the first) and
// the experiment's verdict.
func compare(e Experiment) Experiment {
	if len(e.Variants) == 0 {
		e.Verdict = NotEnoughData
		return e
	}
	c := e.Variants[0]
	e.Control = c.Name
	var verdicts []string
	for i := 1; i < len(e.Variants); i++ {
		v := &e.Variants[i]
		if r, lo, hi, ok := RateRatio(v.Customers, v.Referrals, c.Customers, c.Referrals); ok {
			v.VsControl = &Ratio{Ratio: *round4(r), Low: *round4(lo), High: *round4(hi)}
		}
		v.Verdict = Verdict(v.Name, v.Customers, v.Referrals, c.Customers, c.Referrals)
		verdicts = append(verdicts, v.Verdict)
	}
	e.Verdict = cmp.Or(strings.Join(slices.Compact(verdicts), "; "), NotEnoughData)
	return e
}
