package program

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// MilestoneIndex returns the position of the milestone with this name, or -1
// when the program has none.
func (p *Program) MilestoneIndex(name string) int {
	for i, m := range p.Milestones {
		if m.Name == name {
			return i
		}
	}
	return -1
}

// Outcome is what a CRM event means for a referral: it reached a milestone
// (Milestone >= 0), the deal is lost (Lost), or neither (Milestone -1, Lost
// false). Milestone and Lost are never both set.
type Outcome struct {
	Milestone int
	Lost      bool
}

// None reports whether the event means nothing to the program.
func (o Outcome) None() bool { return o.Milestone < 0 && !o.Lost }

// Match maps a CRM event (provider, pipeline, stage, status) to an Outcome.
//
// A StageMatch applies when its provider is the event's, its Pipeline is
// empty or equal (or the event does not say its pipeline, as HubSpot's
// property-change events do not), its Stage is empty or equal, and its Status is empty or
// equal (a StageMatch always sets Stage or Status). Stage and pipeline ids
// compare exactly; for provider generic, and for statuses, comparison ignores
// case. When several apply, the most specific wins: a status match beats a
// pipeline match, which beats a bare stage match (so a Pipedrive deal marked
// lost while sitting in a "qualified" stage is lost). For provider generic, a
// stage equal to a milestone name means that milestone and "lost" means lost,
// when no listed StageMatch applies.
func (p *Program) Match(provider, pipeline, stage, status string) Outcome {
	provider = strings.ToLower(strings.TrimSpace(provider))
	status = strings.ToLower(strings.TrimSpace(status))
	generic := provider == ProviderGeneric
	eq := func(want, got string) bool {
		if generic {
			return strings.EqualFold(want, got)
		}
		return want == got
	}
	best, bestScore := Outcome{Milestone: -1}, 0
	try := func(s StageMatch, o Outcome) {
		if s.Provider != provider || (s.Stage == "" && s.Status == "") {
			return
		}
		score := 1
		if s.Pipeline != "" && pipeline != "" {
			if !eq(s.Pipeline, pipeline) {
				return
			}
			score += 2
		}
		if s.Stage != "" {
			if !eq(s.Stage, stage) {
				return
			}
			score++
		}
		if s.Status != "" {
			if !strings.EqualFold(s.Status, status) {
				return
			}
			score += 4
		}
		if score > bestScore {
			best, bestScore = o, score
		}
	}
	for i, m := range p.Milestones {
		for _, s := range m.Stages {
			try(s, Outcome{Milestone: i})
		}
	}
	for _, s := range p.Lost {
		try(s, Outcome{Milestone: -1, Lost: true})
	}
	if bestScore > 0 || !generic || stage == "" {
		return best
	}
	if strings.EqualFold(strings.TrimSpace(stage), LostName) {
		return Outcome{Milestone: -1, Lost: true}
	}
	for i, m := range p.Milestones {
		if strings.EqualFold(strings.TrimSpace(stage), m.Name) {
			return Outcome{Milestone: i}
		}
	}
	return best
}

// Implied returns the milestones that reaching milestone index records: just
// index, or every milestone from 0 to index when LaterImpliesEarlier. It
// returns nil for an index out of range.
func (p *Program) Implied(index int) []int {
	if index < 0 || index >= len(p.Milestones) {
		return nil
	}
	if !p.LaterImpliesEarlier {
		return []int{index}
	}
	out := make([]int, index+1)
	for i := range out {
		out[i] = i
	}
	return out
}

// Fingerprint is a stable SHA-256 (hex) of the program's canonical JSON with
// Version cleared: two programs with the same rules have the same
// fingerprint whatever their version, so publishing an unchanged program can
// be detected. Empty and nil lists hash alike.
func (p *Program) Fingerprint() string {
	c := p.canonical()
	b, err := json.Marshal(c)
	if err != nil {
		// Program has only strings, numbers, bools and slices of them:
		// Marshal cannot fail.
		panic("program: marshal: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// canonical returns a deep copy with Version cleared and empty slices nil.
func (p *Program) canonical() *Program {
	c := *p
	c.Version = 0
	c.SiteOrigins = nilIfEmpty(c.SiteOrigins)
	e := &c.Eligibility
	e.BlockedDomains = nilIfEmpty(e.BlockedDomains)
	e.CustomerDomains = nilIfEmpty(e.CustomerDomains)
	e.Countries = nilIfEmpty(e.Countries)
	e.Industries = nilIfEmpty(e.Industries)
	c.Lost = nilIfEmpty(c.Lost)
	c.Tiers = nilIfEmpty(c.Tiers)
	c.Milestones = nil
	for _, m := range p.Milestones {
		m.Stages = nilIfEmpty(m.Stages)
		m.Rewards = nilIfEmpty(m.Rewards)
		c.Milestones = append(c.Milestones, m)
	}
	return &c
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
