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

	"github.com/referflow/referflow/internal/money"
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
	Links               fileLinks       `json:"links" yaml:"links"`
	Eligibility         fileEligibility `json:"eligibility" yaml:"eligibility"`
	Review              fileReview      `json:"review" yaml:"review"`
	Milestones          []fileMilestone `json:"milestones" yaml:"milestones"`
	Lost                []StageMatch    `json:"lost" yaml:"lost"`
	LaterImpliesEarlier bool            `json:"later_implies_earlier" yaml:"later_implies_earlier"`
	Tiers               []fileTier      `json:"tiers" yaml:"tiers"`
	Experiment          *fileExperiment `json:"experiment" yaml:"experiment"` // experiment.go
	Caps                fileCaps        `json:"caps" yaml:"caps"`
	Approval            fileApproval    `json:"approval" yaml:"approval"`
	Payout              Payout          `json:"payout" yaml:"payout"`
	RewardsOnLoss       string          `json:"rewards_on_loss" yaml:"rewards_on_loss"`
	Subscription        *Subscription   `json:"subscription" yaml:"subscription"` // subscription.go

	// Deals in other currencies and events about unlinked deals (deals.go).
	CurrencyRates     map[string]scalar `json:"currency_rates" yaml:"currency_rates"`
	UnlinkedEventsTTL scalar            `json:"unlinked_events_ttl" yaml:"unlinked_events_ttl"`

	Emails fileEmails `json:"emails" yaml:"emails"` // emails.go

	Partners filePartners `json:"partners" yaml:"partners"` // partners.go
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

// LoadFile reads a program file (YAML or JSON) and returns the validated
// program, as Load does.
func LoadFile(path string, opts ...Option) (*Program, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("program: %w", err)
	}
	p, err := Load(data, opts...)
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
// *ValidationError whose paths use the file's field names. Options add
// checks (Providers: the providers stage matches may name).
func Load(data []byte, opts ...Option) (*Program, error) {
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
	for _, pr := range p.validate(newRules(opts)) {
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
	cv := &converter{probs: probs, bad: map[string]bool{}}
	p := f.plainFields()

	p.Review.DeadlineSeconds = DefaultReviewDeadlineSeconds
	if f.Review.Deadline.Set {
		p.Review.DeadlineSeconds = 0
		cv.duration(f.Review.Deadline, "review.deadline", &p.Review.DeadlineSeconds)
	}
	for i, fm := range f.Milestones {
		p.Milestones = append(p.Milestones, cv.milestone(fm, fmt.Sprintf("milestones[%d]", i), p.Currency))
	}
	for i, ft := range f.Tiers {
		p.Tiers = append(p.Tiers, cv.tier(ft, fmt.Sprintf("tiers[%d]", i)))
	}
	p.Experiment = cv.experiment(f.Experiment)
	cv.amount(f.Caps.PerReferrer, p.Currency, "caps.per_referrer", &p.Caps.PerReferrerMinor)
	cv.amount(f.Caps.Budget, p.Currency, "caps.budget", &p.Caps.BudgetMinor)
	cv.amount(f.Approval.AutoBelow, p.Currency, "approval.auto_below", &p.Approval.AutoBelowMinor)
	cv.deals(f, p)
	p.normalize()
	p.setDefaults(false)
	return p, cv.bad
}

// plainFields returns a Program holding every field that is copied from the
// file as written, with the currency trimmed, upper-cased and defaulted to
// DefaultCurrency. Durations, amounts, percents, milestones and tiers are
// left for convert.
func (f *fileProgram) plainFields() *Program {
	p := &Program{
		Schema:              f.Schema,
		ID:                  f.ID,
		Version:             f.Version,
		Name:                f.Name,
		Currency:            strings.ToUpper(strings.TrimSpace(f.Currency)),
		SiteOrigins:         f.SiteOrigins,
		ThankYouURL:         f.ThankYouURL,
		Links:               f.Links.convert(),
		Lost:                f.Lost,
		LaterImpliesEarlier: f.LaterImpliesEarlier,
		Payout:              f.Payout,
		RewardsOnLoss:       f.RewardsOnLoss,
		Subscription:        f.Subscription.normalized(),
		Review:              Review{Default: f.Review.Default},
		Eligibility:         f.Eligibility.convert(),
		Caps:                Caps{Period: f.Caps.Period, OnExhausted: f.Caps.OnExhausted},
		Emails:              f.Emails.convert(),
		Partners:            f.Partners.convert(),
	}
	if p.Currency == "" {
		p.Currency = DefaultCurrency
	}
	return p
}

// convert copies the eligibility rules; none needs parsing.
func (fe fileEligibility) convert() Eligibility {
	return Eligibility{
		AllowSelfReferral:      fe.AllowSelfReferral,
		RequireCompanyDomain:   fe.RequireCompanyDomain,
		BlockedDomains:         fe.BlockedDomains,
		CustomerDomains:        fe.CustomerDomains,
		ExistingCustomer:       fe.ExistingCustomer,
		MaxPerReferrerPerDay:   fe.MaxPerReferrerPerDay,
		MaxPerReferrerPerMonth: fe.MaxPerReferrerPerMonth,
		Countries:              fe.Countries,
		Industries:             fe.Industries,
		MinEmployees:           fe.MinEmployees,
		MaxEmployees:           fe.MaxEmployees,
		OnICPMismatch:          fe.OnICPMismatch,
	}
}

// converter reads the scalar values of a file: every value that cannot be
// read is added to probs with its path, and the path is marked in bad.
type converter struct {
	probs *problems
	bad   map[string]bool
}

// fail records that the value at path cannot be read.
func (cv *converter) fail(path string, err error) {
	cv.probs.add(path, "%v", err)
	cv.bad[path] = true
}

// duration parses s, when set, into *dst in seconds; on error *dst is left
// unchanged.
func (cv *converter) duration(s scalar, path string, dst *int64) {
	if !s.Set {
		return
	}
	v, err := parseDuration(s.Text)
	if err != nil {
		cv.fail(path, err)
		return
	}
	*dst = v
}

// amount parses s, when set, into *dst in minor units of currency; on error
// *dst is left unchanged. An unknown currency is read as DefaultCurrency.
func (cv *converter) amount(s scalar, currency, path string, dst *int64) {
	if !s.Set {
		return
	}
	if _, ok := money.Exponent(currency); !ok {
		// Validation reports the currency; read the amount as if it had
		// cents so that its own rules are still checked.
		currency = DefaultCurrency
	}
	v, err := money.ParseAmount(s.Text, currency)
	if err != nil {
		cv.fail(path, err)
		return
	}
	*dst = v
}

// milestone converts the milestone at path mp; its rewards default to the
// program's currency.
func (cv *converter) milestone(fm fileMilestone, mp, currency string) Milestone {
	m := Milestone{Name: fm.Name, Stages: fm.Stages}
	cv.duration(fm.Deadline, mp+".deadline", &m.DeadlineSeconds)
	cv.duration(fm.Hold, mp+".hold", &m.HoldSeconds)
	for j, fr := range fm.Rewards {
		m.Rewards = append(m.Rewards, cv.reward(fr, fmt.Sprintf("%s.rewards[%d]", mp, j), currency))
	}
	return m
}

// reward converts the reward at path rp, its currency defaulting to
// currency. It also reports a reward that gives neither or both of amount
// and percent.
func (cv *converter) reward(fr fileReward, rp, currency string) Reward {
	r := Reward{
		Party:       fr.Party,
		Kind:        fr.Kind,
		Currency:    strings.ToUpper(strings.TrimSpace(fr.Currency)),
		Description: fr.Description,
	}
	if r.Currency == "" {
		r.Currency = currency
	}
	cv.amount(fr.Amount, r.Currency, rp+".amount", &r.AmountMinor)
	cv.amount(fr.Floor, r.Currency, rp+".floor", &r.FloorMinor)
	cv.amount(fr.Ceiling, r.Currency, rp+".ceiling", &r.CeilingMinor)
	if fr.Percent.Set {
		v, err := parsePercent(fr.Percent.Text)
		if err != nil {
			cv.fail(rp+".percent", err)
		}
		r.PercentBasisPoints = v
	}
	switch {
	case !fr.Amount.Set && !fr.Percent.Set:
		cv.probs.add(rp, "give amount (a fixed reward) or percent (a share of the deal)")
		cv.bad[rp+".amount"] = true
	case fr.Amount.Set && fr.Percent.Set:
		cv.probs.add(rp, "give either amount or percent, not both")
		cv.bad[rp], cv.bad[rp+".amount"], cv.bad[rp+".percent"] = true, true, true
	}
	return r
}

// tier converts the tier at path tp.
func (cv *converter) tier(ft fileTier, tp string) Tier {
	t := Tier{From: ft.From, Period: ft.Period, CountsMilestone: ft.CountsMilestone}
	if ft.Multiplier.Set {
		v, err := parseMultiplier(ft.Multiplier.Text)
		if err != nil {
			cv.fail(tp+".multiplier", err)
		}
		t.MultiplierBP = v
	}
	return t
}
