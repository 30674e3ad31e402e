package program

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The file form is what people write: amounts in major units, durations such
// as "30d", percents such as "10%". It converts to Program, the validated
// in-memory form. The struct tags are the field names of the file format and
// are also the names Validate uses in problem paths.

type fileProgram struct {
	Schema              int             `json:"schema" yaml:"schema"`
	ID                  string          `json:"id" yaml:"id"`
	Version             int             `json:"version" yaml:"version"`
	Name                string          `json:"name" yaml:"name"`
	Currency            string          `json:"currency" yaml:"currency"`
	SiteOrigins         []string        `json:"site_origins" yaml:"site_origins"`
	ThankYouURL         string          `json:"thank_you_url" yaml:"thank_you_url"`
	Eligibility         fileEligibility `json:"eligibility" yaml:"eligibility"`
	Review              fileReview      `json:"review" yaml:"review"`
	Milestones          []fileMilestone `json:"milestones" yaml:"milestones"`
	Lost                []StageMatch    `json:"lost" yaml:"lost"`
	LaterImpliesEarlier bool            `json:"later_implies_earlier" yaml:"later_implies_earlier"`
	Tiers               []fileTier      `json:"tiers" yaml:"tiers"`
	Caps                fileCaps        `json:"caps" yaml:"caps"`
	Approval            fileApproval    `json:"approval" yaml:"approval"`
	Payout              Payout          `json:"payout" yaml:"payout"`
}

type fileEligibility struct {
	AllowSelfReferral      bool     `json:"allow_self_referral" yaml:"allow_self_referral"`
	RequireCompanyDomain   bool     `json:"require_company_domain" yaml:"require_company_domain"`
	BlockedDomains         []string `json:"blocked_domains" yaml:"blocked_domains"`
	CustomerDomains        []string `json:"customer_domains" yaml:"customer_domains"`
	ExistingCustomer       string   `json:"existing_customer" yaml:"existing_customer"`
	MaxPerReferrerPerDay   int      `json:"max_per_referrer_per_day" yaml:"max_per_referrer_per_day"`
	MaxPerReferrerPerMonth int      `json:"max_per_referrer_per_month" yaml:"max_per_referrer_per_month"`
	Countries              []string `json:"countries" yaml:"countries"`
	Industries             []string `json:"industries" yaml:"industries"`
	MinEmployees           int      `json:"min_employees" yaml:"min_employees"`
	MaxEmployees           int      `json:"max_employees" yaml:"max_employees"`
	OnICPMismatch          string   `json:"on_icp_mismatch" yaml:"on_icp_mismatch"`
}

type fileReview struct {
	Deadline scalar `json:"deadline" yaml:"deadline"`
	Default  string `json:"default" yaml:"default"`
}

type fileMilestone struct {
	Name     string       `json:"name" yaml:"name"`
	Deadline scalar       `json:"deadline" yaml:"deadline"`
	Hold     scalar       `json:"hold" yaml:"hold"`
	Stages   []StageMatch `json:"stages" yaml:"stages"`
	Rewards  []fileReward `json:"rewards" yaml:"rewards"`
}

type fileReward struct {
	Party       string `json:"party" yaml:"party"`
	Kind        string `json:"kind" yaml:"kind"`
	Currency    string `json:"currency" yaml:"currency"`
	Amount      scalar `json:"amount" yaml:"amount"`
	Percent     scalar `json:"percent" yaml:"percent"`
	Floor       scalar `json:"floor" yaml:"floor"`
	Ceiling     scalar `json:"ceiling" yaml:"ceiling"`
	Description string `json:"description" yaml:"description"`
}

type fileTier struct {
	From            int    `json:"from" yaml:"from"`
	Multiplier      scalar `json:"multiplier" yaml:"multiplier"`
	Period          string `json:"period" yaml:"period"`
	CountsMilestone string `json:"counts_milestone" yaml:"counts_milestone"`
}

type fileCaps struct {
	Period      string `json:"period" yaml:"period"`
	PerReferrer scalar `json:"per_referrer" yaml:"per_referrer"`
	Budget      scalar `json:"budget" yaml:"budget"`
	OnExhausted string `json:"on_exhausted" yaml:"on_exhausted"`
}

type fileApproval struct {
	AutoBelow scalar `json:"auto_below" yaml:"auto_below"`
}

// scalar keeps a number or string exactly as written, so that amounts are
// never rounded through a float; it is parsed later with the field's path.
type scalar struct {
	Text string
	Set  bool
}

func (s *scalar) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*s = scalar{}
	case len(b) > 0 && b[0] == '"':
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		*s = scalar{Text: str, Set: true}
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*s = scalar{Text: string(b), Set: true}
	default:
		return fmt.Errorf("want a number or a string, got %s", b)
	}
	return nil
}

func (s *scalar) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a number or a string", n.Line)
	}
	if n.Tag == "!!null" {
		*s = scalar{}
		return nil
	}
	*s = scalar{Text: n.Value, Set: true}
	return nil
}

// LoadFile reads a program file (YAML or JSON) and returns the validated
// program, as Load does.
func LoadFile(path string) (*Program, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("program: %w", err)
	}
	p, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Load parses a program file, YAML or JSON (a document starting with "{" is
// read as JSON), converts it to a Program, fills in defaults and validates
// it. It returns a program only when the file is entirely valid. Syntax
// errors are returned wrapped; every other problem (unknown fields, values
// that cannot be read, broken rules) is reported at once in a
// *ValidationError whose paths use the file's field names.
func Load(data []byte) (*Program, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	isJSON := len(bytes.TrimSpace(data)) > 0 && bytes.TrimSpace(data)[0] == '{'

	var tree any
	var f fileProgram
	if isJSON {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&tree); err != nil {
			return nil, fmt.Errorf("program: parse JSON: %w", err)
		}
		if dec.More() {
			return nil, errors.New("program: parse JSON: data after the top-level object")
		}
	} else {
		if err := yaml.Unmarshal(data, &tree); err != nil {
			return nil, fmt.Errorf("program: parse YAML: %w", err)
		}
	}
	if tree == nil {
		return nil, errors.New("program: empty file")
	}
	var probs problems
	checkKeys(tree, reflect.TypeOf(f), "", &probs)
	if isJSON {
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("program: read JSON: %w", err)
		}
	} else {
		if err := yaml.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("program: read YAML: %w", err)
		}
	}
	p, bad := f.convert(&probs)
	for _, pr := range p.validate() {
		if !bad[pr.Path] {
			probs.add(pr.Path, "%s", pr.Message)
		}
	}
	if len(probs) > 0 {
		return nil, &ValidationError{Problems: probs}
	}
	return p, nil
}

// checkKeys reports every mapping key in tree that the file form does not
// define, with its path.
func checkKeys(tree any, t reflect.Type, path string, probs *problems) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeOf(scalar{}) {
			return
		}
		m, ok := asMap(tree)
		if !ok {
			return // type errors are reported by the decoder
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			fields[name] = t.Field(i).Type
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, known := fields[k]
			if !known {
				probs.add(join(path, k), "unknown field")
				continue
			}
			checkKeys(m[k], ft, join(path, k), probs)
		}
	case reflect.Slice:
		if l, ok := tree.([]any); ok {
			for i, v := range l {
				checkKeys(v, t.Elem(), path+"["+strconv.Itoa(i)+"]", probs)
			}
		}
	}
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// convert turns the file form into a Program with defaults applied. Values
// that cannot be read are added to probs; bad holds their paths so that
// validation does not report them twice.
func (f *fileProgram) convert(probs *problems) (*Program, map[string]bool) {
	bad := map[string]bool{}
	p := &Program{
		Schema:              f.Schema,
		ID:                  f.ID,
		Version:             f.Version,
		Name:                f.Name,
		Currency:            strings.ToUpper(strings.TrimSpace(f.Currency)),
		SiteOrigins:         f.SiteOrigins,
		ThankYouURL:         f.ThankYouURL,
		Lost:                f.Lost,
		LaterImpliesEarlier: f.LaterImpliesEarlier,
		Payout:              f.Payout,
		Review:              Review{Default: f.Review.Default},
		Eligibility: Eligibility{
			AllowSelfReferral:      f.Eligibility.AllowSelfReferral,
			RequireCompanyDomain:   f.Eligibility.RequireCompanyDomain,
			BlockedDomains:         f.Eligibility.BlockedDomains,
			CustomerDomains:        f.Eligibility.CustomerDomains,
			ExistingCustomer:       f.Eligibility.ExistingCustomer,
			MaxPerReferrerPerDay:   f.Eligibility.MaxPerReferrerPerDay,
			MaxPerReferrerPerMonth: f.Eligibility.MaxPerReferrerPerMonth,
			Countries:              f.Eligibility.Countries,
			Industries:             f.Eligibility.Industries,
			MinEmployees:           f.Eligibility.MinEmployees,
			MaxEmployees:           f.Eligibility.MaxEmployees,
			OnICPMismatch:          f.Eligibility.OnICPMismatch,
		},
		Caps: Caps{Period: f.Caps.Period, OnExhausted: f.Caps.OnExhausted},
	}
	if p.Currency == "" {
		p.Currency = DefaultCurrency
	}
	currencyOK := func(c string) bool { _, ok := CurrencyExponent(c); return ok }

	dur := func(s scalar, path string, dst *int64) {
		if !s.Set {
			return
		}
		v, err := parseDuration(s.Text)
		if err != nil {
			probs.add(path, "%v", err)
			bad[path] = true
			return
		}
		*dst = v
	}
	money := func(s scalar, currency, path string, dst *int64) {
		if !s.Set {
			return
		}
		if !currencyOK(currency) {
			// Validation reports the currency; read the amount as if it had
			// cents so that its own rules are still checked.
			currency = DefaultCurrency
		}
		v, err := parseAmount(s.Text, currency)
		if err != nil {
			probs.add(path, "%v", err)
			bad[path] = true
			return
		}
		*dst = v
	}

	p.Review.DeadlineSeconds = DefaultReviewDeadlineSeconds
	if f.Review.Deadline.Set {
		p.Review.DeadlineSeconds = 0
		dur(f.Review.Deadline, "review.deadline", &p.Review.DeadlineSeconds)
	}

	for i, fm := range f.Milestones {
		mp := fmt.Sprintf("milestones[%d]", i)
		m := Milestone{Name: fm.Name, Stages: fm.Stages}
		dur(fm.Deadline, mp+".deadline", &m.DeadlineSeconds)
		dur(fm.Hold, mp+".hold", &m.HoldSeconds)
		for j, fr := range fm.Rewards {
			rp := fmt.Sprintf("%s.rewards[%d]", mp, j)
			r := Reward{
				Party:       fr.Party,
				Kind:        fr.Kind,
				Currency:    strings.ToUpper(strings.TrimSpace(fr.Currency)),
				Description: fr.Description,
			}
			if r.Currency == "" {
				r.Currency = p.Currency
			}
			money(fr.Amount, r.Currency, rp+".amount", &r.AmountMinor)
			money(fr.Floor, r.Currency, rp+".floor", &r.FloorMinor)
			money(fr.Ceiling, r.Currency, rp+".ceiling", &r.CeilingMinor)
			if fr.Percent.Set {
				v, err := parsePercent(fr.Percent.Text)
				if err != nil {
					probs.add(rp+".percent", "%v", err)
					bad[rp+".percent"] = true
				}
				r.PercentBasisPoints = v
			}
			switch {
			case !fr.Amount.Set && !fr.Percent.Set:
				probs.add(rp, "give amount (a fixed reward) or percent (a share of the deal)")
				bad[rp+".amount"] = true
			case fr.Amount.Set && fr.Percent.Set:
				probs.add(rp, "give either amount or percent, not both")
				bad[rp], bad[rp+".amount"], bad[rp+".percent"] = true, true, true
			}
			m.Rewards = append(m.Rewards, r)
		}
		p.Milestones = append(p.Milestones, m)
	}

	for i, ft := range f.Tiers {
		tp := fmt.Sprintf("tiers[%d]", i)
		t := Tier{From: ft.From, Period: ft.Period, CountsMilestone: ft.CountsMilestone}
		if ft.Multiplier.Set {
			v, err := parseMultiplier(ft.Multiplier.Text)
			if err != nil {
				probs.add(tp+".multiplier", "%v", err)
				bad[tp+".multiplier"] = true
			}
			t.MultiplierBP = v
		}
		p.Tiers = append(p.Tiers, t)
	}

	money(f.Caps.PerReferrer, p.Currency, "caps.per_referrer", &p.Caps.PerReferrerMinor)
	money(f.Caps.Budget, p.Currency, "caps.budget", &p.Caps.BudgetMinor)
	money(f.Approval.AutoBelow, p.Currency, "approval.auto_below", &p.Approval.AutoBelowMinor)
	p.normalize()
	p.setDefaults(false)
	return p, bad
}
