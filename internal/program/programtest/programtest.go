// Package programtest holds what tests of the programs' consumers share:
// an in-memory store of a program's published versions and a program
// running a reward experiment, with its counters.
package programtest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// Versions keeps the published versions of programs in memory, as
// store.PublishProgram does: a program equal to the current version
// publishes nothing; Conflict makes publications fail as concurrent ones
// (wrapping Err).
type Versions struct {
	mu       sync.Mutex
	programs map[string][]*program.Program
	Conflict bool
	Err      error // what a conflict wraps (store.ErrConflict)
}

// NewVersions holds ps as the first versions of their programs.
func NewVersions(ps ...*program.Program) *Versions {
	v := &Versions{programs: map[string][]*program.Program{}}
	for _, p := range ps {
		if _, err := v.PublishProgram(context.Background(), p, time.Time{}); err != nil {
			panic(err)
		}
	}
	return v
}

// CurrentProgram is the program's last version (referral.ErrNotFound
// wrapped when none).
func (v *Versions) CurrentProgram(_ context.Context, id string) (*program.Program, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	vs := v.programs[id]
	if len(vs) == 0 {
		return nil, fmt.Errorf("programtest: program %s: %w", id, referral.ErrNotFound)
	}
	return vs[len(vs)-1], nil
}

// ProgramVersion is version n of the program.
func (v *Versions) ProgramVersion(_ context.Context, id string, n int) (*program.Program, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if n < 1 || n > len(v.programs[id]) {
		return nil, fmt.Errorf("programtest: program %s v%d: %w", id, n, referral.ErrNotFound)
	}
	return v.programs[id][n-1], nil
}

// PublishProgram adds p as the program's next version.
func (v *Versions) PublishProgram(_ context.Context, p *program.Program, _ time.Time) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.Conflict {
		return 0, fmt.Errorf("programtest: program %s was published concurrently: %w", p.ID, v.Err)
	}
	vs := v.programs[p.ID]
	if n := len(vs); n > 0 && vs[n-1].Fingerprint() == p.Fingerprint() {
		return n, nil
	}
	cp := *p
	cp.Version = len(vs) + 1
	v.programs[p.ID] = append(vs, &cp)
	return cp.Version, nil
}

// Count is how many versions of the program are published.
func (v *Versions) Count(id string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.programs[id])
}

// ExperimentYAML is program b2b: its won milestone pays the referrer
// 100.00, and its experiment "double" runs variant A (as written, the
// control) against B (the referrer's reward doubled).
const ExperimentYAML = `
schema: 1
id: b2b
name: B2B partners
milestones:
  - {name: won, deadline: 30d, rewards: [{party: referrer, kind: cash, amount: 100}]}
experiment:
  id: double
  variants: [{name: A}, {name: B, tiers: [{from: 1, multiplier: 2}]}]
`

// Experiment is ExperimentYAML loaded.
func Experiment() *program.Program {
	p, err := program.Load([]byte(ExperimentYAML))
	if err != nil {
		panic(err)
	}
	return p
}

// Counters are the experiment's counters with 206 referrals in each
// variant, 45 customers in A and 81 in B: "variant B converts 1.8x, 95%
// interval 1.3x–2.5x, 412 referrals"; B paid 200.00 a customer, A 100.00.
func Counters() []kpis.Item {
	return []kpis.Item{
		{SK: kpis.ExperimentSK("double", "A"), N: map[string]int64{"received": 206, "accepted": 190, "reached:won": 45, "customers": 45, "paid:USD": 450000}},
		{SK: kpis.ExperimentSK("double", "B"), N: map[string]int64{"received": 206, "accepted": 200, "reached:won": 81, "customers": 81, "paid:USD": 1620000}},
	}
}

// KPIStore is what kpis.Service reads: the programs' versions, fixed
// counter items for any period, and no clicks.
type KPIStore struct {
	*Versions
	Items []kpis.Item
}

// KPICounters answers Items.
func (s *KPIStore) KPICounters(context.Context, string, time.Time, time.Time) ([]kpis.Item, error) {
	return s.Items, nil
}

// Clicks answers none.
func (s *KPIStore) Clicks(context.Context, string, string, time.Time, time.Time) (map[string]int, error) {
	return nil, nil
}

// ExperimentStore is program b2b (Experiment) at version 1 with the
// experiment's Counters.
func ExperimentStore() *KPIStore {
	return &KPIStore{Versions: NewVersions(Experiment()), Items: Counters()}
}
