package program

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Experiment runs two or more reward variants side by side: each new
// referral is assigned one variant, deterministically, and keeps it (it is
// recorded on the referral). A variant differs from the others by its
// tiers (the referrer's multipliers); everything else is the program's.
type Experiment struct {
	// ID names the experiment in the KPI counters (EXP#<id>#<variant>):
	// give each experiment a new one.
	ID string `json:"id"`
	// Assign is what is assigned a variant: AssignPartner (the default:
	// every referral of a partner gets the partner's variant) or
	// AssignReferral (each referral on its own).
	Assign string `json:"assign"`
	// Variants in order; the first is the control the others are compared
	// with.
	Variants []Variant `json:"variants"`
}

// Variant is one arm of an experiment.
type Variant struct {
	Name string `json:"name"`
	// Weight is the variant's share of assignments relative to the
	// others' (1 and 1: half each).
	Weight int `json:"weight"`
	// Tiers replace the program's tiers for referrals of this variant;
	// none: every referral earns the rewards as written (1x).
	Tiers []Tier `json:"tiers"`
}

// What Experiment.Assign may say.
const (
	AssignPartner  = "partner"
	AssignReferral = "referral"
)

// MaxVariantWeight bounds a variant's weight.
const MaxVariantWeight = 10000

var (
	assigns        = []string{AssignPartner, AssignReferral}
	variantPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)
)

// Errors of EndExperiment; callers match them with errors.Is.
var (
	// ErrNoExperiment: the program's current version runs no experiment.
	ErrNoExperiment = errors.New("program: no experiment is running")
	// ErrUnknownVariant: the experiment has no variant of that name.
	ErrUnknownVariant = errors.New("program: no such variant")
	// ErrVersionMoved: the current version is not the one the caller saw.
	ErrVersionMoved = errors.New("program: another version was published meanwhile")
)

// TiersFor is the tiers a referral of variant earns under p: the
// variant's when p's experiment has it, else p's own tiers (a referral
// without a variant, or of a program without an experiment).
func (p *Program) TiersFor(variant string) []Tier {
	if v := p.Experiment.variant(variant); v != nil {
		return v.Tiers
	}
	return p.Tiers
}

// Assign returns the experiment and variant a new referral of the partner
// with key partnerKey gets under p ("" and "" without an experiment). It is
// deterministic: a hash of the experiment id and the partner's key (or the
// referral id, when the experiment assigns referrals) mapped onto the
// variants' weights, so a partner stays in their variant while the
// variants and weights stay the same.
func (p *Program) Assign(partnerKey, referralID string) (experiment, variant string) {
	e := p.Experiment
	if e == nil || len(e.Variants) == 0 {
		return "", ""
	}
	unit := partnerKey
	if e.Assign == AssignReferral {
		unit = referralID
	}
	total := 0
	for _, v := range e.Variants {
		total += max(v.Weight, 0)
	}
	if total == 0 {
		return e.ID, e.Variants[0].Name
	}
	sum := sha256.Sum256([]byte(e.ID + "\x00" + unit))
	at := int(binary.BigEndian.Uint64(sum[:8]) % uint64(total))
	for _, v := range e.Variants {
		if at < max(v.Weight, 0) {
			return e.ID, v.Name
		}
		at -= max(v.Weight, 0)
	}
	return e.ID, e.Variants[len(e.Variants)-1].Name
}

// VariantNames lists the experiment's variants in order (nil: none).
func (e *Experiment) VariantNames() []string {
	if e == nil {
		return nil
	}
	out := make([]string, len(e.Variants))
	for i, v := range e.Variants {
		out[i] = v.Name
	}
	return out
}

func (e *Experiment) variant(name string) *Variant {
	if e == nil || name == "" {
		return nil
	}
	for i := range e.Variants {
		if e.Variants[i].Name == name {
			return &e.Variants[i]
		}
	}
	return nil
}

// Ended returns the program that keeps variant keep of p's experiment as
// its rule: the variant's tiers become the program's tiers and the
// experiment is gone (Version 0: PublishProgram numbers it).
// ErrNoExperiment, ErrUnknownVariant.
func (p *Program) Ended(keep string) (*Program, error) {
	if p.Experiment == nil {
		return nil, fmt.Errorf("%w in %s v%d", ErrNoExperiment, p.ID, p.Version)
	}
	v := p.Experiment.variant(keep)
	if v == nil {
		return nil, fmt.Errorf("%w %q in experiment %s (variants: %s)", ErrUnknownVariant, keep, p.Experiment.ID, strings.Join(p.Experiment.VariantNames(), ", "))
	}
	c := *p
	c.Version, c.Experiment, c.Tiers = 0, nil, slices.Clone(v.Tiers)
	return &c, nil
}

// Publisher reads a program's current version and publishes a new one
// (store.Store).
type Publisher interface {
	CurrentProgram(ctx context.Context, id string) (*Program, error)
	PublishProgram(ctx context.Context, p *Program, now time.Time) (int, error)
}

// EndExperiment ends the experiment of program id's current version,
// keeping variant keep: it publishes the next version with that variant's
// tiers as the program's and no experiment, and returns it with the
// experiment it ended. Referrals accepted before keep their version and
// variant (and its rewards); new ones get the kept rule. version, when not
// 0, is the version the caller saw: another one current is
// ErrVersionMoved, and nothing is published. The one implementation
// behind the console, the admin API and the CLI.
func EndExperiment(ctx context.Context, pub Publisher, id, keep string, version int, now time.Time) (*Program, *Experiment, error) {
	cur, err := pub.CurrentProgram(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if version != 0 && cur.Version != version {
		return nil, nil, fmt.Errorf("%w: %s is at version %d, not %d", ErrVersionMoved, id, cur.Version, version)
	}
	next, err := cur.Ended(keep)
	if err != nil {
		return nil, nil, err
	}
	v, err := pub.PublishProgram(ctx, next, now)
	if err != nil {
		return nil, nil, err
	}
	next.Version = v
	return next, cur.Experiment, nil
}

// fileExperiment is the experiment as a program file writes it.
type fileExperiment struct {
	ID       string        `json:"id" yaml:"id"`
	Assign   string        `json:"assign" yaml:"assign"`
	Variants []fileVariant `json:"variants" yaml:"variants"`
}

type fileVariant struct {
	Name   string     `json:"name" yaml:"name"`
	Weight *int       `json:"weight" yaml:"weight"`
	Tiers  []fileTier `json:"tiers" yaml:"tiers"`
}

// experiment converts the file's experiment (nil: none); a variant's
// weight defaults to 1, its tiers read as the program's.
func (cv *converter) experiment(fe *fileExperiment) *Experiment {
	if fe == nil {
		return nil
	}
	e := &Experiment{ID: strings.TrimSpace(fe.ID), Assign: fe.Assign}
	for i, fv := range fe.Variants {
		v := Variant{Name: strings.TrimSpace(fv.Name), Weight: 1}
		if fv.Weight != nil {
			v.Weight = *fv.Weight
		}
		for j, ft := range fv.Tiers {
			v.Tiers = append(v.Tiers, cv.tier(ft, fmt.Sprintf("experiment.variants[%d].tiers[%d]", i, j)))
		}
		e.Variants = append(e.Variants, v)
	}
	return e
}

// setDefaults assigns per partner by default, and defaults each variant's
// tiers as the program's (period month, counted on the last milestone).
func (e *Experiment) setDefaults(last string) {
	if e == nil {
		return
	}
	if e.Assign == "" {
		e.Assign = AssignPartner
	}
	for i := range e.Variants {
		defaultTiers(e.Variants[i].Tiers, last)
	}
}

// defaultTiers gives tiers without a period the month and tiers without
// a counted milestone last.
func defaultTiers(tiers []Tier, last string) {
	for i := range tiers {
		if tiers[i].Period == "" {
			tiers[i].Period = PeriodMonth
		}
		if tiers[i].CountsMilestone == "" {
			tiers[i].CountsMilestone = last
		}
	}
}

// validateExperiment checks the experiment: an id, how it assigns, two
// or more variants with distinct names and positive weights, and each
// variant's tiers by the rules of the program's (names: the milestones).
func (p *Program) validateExperiment(names map[string]int, ps *problems) {
	e := p.Experiment
	if e == nil {
		return
	}
	if !idPattern.MatchString(e.ID) {
		ps.add("experiment.id", "%q must be 1-63 characters of a-z, 0-9 and -, starting with a letter or digit", e.ID)
	}
	if !oneOf(e.Assign, assigns) {
		ps.add("experiment.assign", "unknown value %q (want %s)", e.Assign, want(assigns))
	}
	if len(e.Variants) < 2 {
		ps.add("experiment.variants", "an experiment needs two or more variants (got %d)", len(e.Variants))
	}
	seen := map[string]int{}
	for i, v := range e.Variants {
		vp := fmt.Sprintf("experiment.variants[%d]", i)
		if !variantPattern.MatchString(v.Name) {
			ps.add(vp+".name", "%q must be 1-32 letters, digits, - or _, starting with a letter or digit", v.Name)
		} else if k, dup := seen[strings.ToLower(v.Name)]; dup {
			ps.add(vp+".name", "%q is the name of experiment.variants[%d] already", v.Name, k)
		} else {
			seen[strings.ToLower(v.Name)] = i
		}
		if v.Weight < 1 || v.Weight > MaxVariantWeight {
			ps.add(vp+".weight", "must be a whole number from 1 to %d", MaxVariantWeight)
		}
		validateTierList(v.Tiers, vp+".tiers", names, ps)
	}
}
