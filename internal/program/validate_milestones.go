package program

import (
	"fmt"
	"strings"
)

// validateMilestones checks that there is at least one milestone and each
// milestone's name, deadline, hold, stage matches and rewards. It returns
// the index of each validly named milestone by name (the first, when a
// name repeats).
func (p *Program) validateMilestones(r rules, ps *problems) map[string]int {
	if len(p.Milestones) == 0 {
		ps.add("milestones", "at least one milestone is required")
	}
	names := map[string]int{}
	for i, m := range p.Milestones {
		mp := fmt.Sprintf("milestones[%d]", i)
		validateMilestoneName(m.Name, i, mp, names, ps)
		if m.DeadlineSeconds <= 0 {
			ps.add(mp+".deadline", "must be greater than 0")
		}
		if m.HoldSeconds < 0 {
			ps.add(mp+".hold", "must not be negative")
		}
		for j, s := range m.Stages {
			validateMatch(s, fmt.Sprintf("%s.stages[%d]", mp, j), r, ps)
		}
		p.validateMilestoneRewards(m, mp, ps)
	}
	return names
}

// validateMilestoneName checks the name of milestone i (at path mp): not
// the reserved LostName, well-formed, and not already in names. A valid
// new name is added to names with index i.
func validateMilestoneName(name string, i int, mp string, names map[string]int, ps *problems) {
	switch {
	case name == LostName:
		ps.add(mp+".name", "%q is reserved for lost deals", name)
	case !milestonePattern.MatchString(name):
		ps.add(mp+".name", "%q must be a-z, 0-9 and _, starting with a letter", name)
	default:
		if j, dup := names[name]; dup {
			ps.add(mp+".name", "%q is already the name of milestones[%d]", name, j)
		} else {
			names[name] = i
		}
	}
}

// validateMatch checks one stage match: a provider the rules accept, a
// stage or a status, and a known status.
func validateMatch(s StageMatch, path string, r rules, ps *problems) {
	r.checkProvider(s.Provider, path+".provider", ps)
	if s.Stage == "" && s.Status == "" {
		ps.add(path, "give stage or status (or both)")
	}
	if s.Status != "" && !oneOf(s.Status, statuses) {
		ps.add(path+".status", "unknown status %q (want %s)", s.Status, want(statuses))
	}
}

// matchKey is what makes two stage matches the same: they match exactly the
// same events.
func matchKey(s StageMatch) string {
	pipeline, stage := s.Pipeline, s.Stage
	if s.Provider == ProviderGeneric {
		pipeline, stage = strings.ToLower(pipeline), strings.ToLower(stage)
	}
	return s.Provider + "\x00" + pipeline + "\x00" + stage + "\x00" + s.Status
}

// validateOverlaps rejects a stage matched twice: by two milestones, by a
// milestone and lost, or twice in one list.
func (p *Program) validateOverlaps(ps *problems) {
	seen := map[string]string{}
	check := func(s StageMatch, path string) {
		k := matchKey(s)
		if prev, dup := seen[k]; dup {
			ps.add(path, "the same stage is already matched by %s", prev)
			return
		}
		seen[k] = path
	}
	for i, m := range p.Milestones {
		for j, s := range m.Stages {
			check(s, fmt.Sprintf("milestones[%d].stages[%d]", i, j))
		}
	}
	for i, s := range p.Lost {
		check(s, fmt.Sprintf("lost[%d]", i))
	}
}
