package program

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// Problem is one thing wrong with a program: the path of the field as it is
// written in a program file (e.g. "milestones[1].rewards[0].amount") and what
// is wrong with it.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// String renders the problem as "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ValidationError lists every problem found in a program: from Load, first
// unknown fields, then values that cannot be read, then broken rules. It is
// never returned empty.
type ValidationError struct {
	Problems []Problem `json:"problems"`
}

// Error renders all problems, one per line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("invalid program: ")
		b.WriteString(e.Problems[0].String())
		return b.String()
	}
	fmt.Fprintf(&b, "invalid program: %d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

type problems []Problem

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

var (
	idPattern        = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	milestonePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	countryPattern   = regexp.MustCompile(`^[A-Z]{2}$`)
	domainPattern    = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

var (
	providers   = []string{ProviderHubSpot, ProviderSalesforce, ProviderPipedrive, ProviderGeneric}
	parties     = []string{PartyReferrer, PartyReferee}
	kinds       = []string{KindCash, KindCredit, KindDiscount, KindGiftCard}
	statuses    = []string{StatusWon, StatusLost}
	periods     = []string{PeriodMonth, PeriodQuarter, PeriodYear, PeriodAll}
	rejectOrRev = []string{PolicyReject, PolicyReview}
	reviewDefs  = []string{PolicyApprove, PolicyReject}
	exhausted   = []string{PolicyReview, OnExhaustedNextPeriod}
	payouts     = []string{PayoutLedger}
)

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

func want(set []string) string { return strings.Join(set, ", ") }

// SetDefaults fills the fields a program leaves empty: currency USD, payout
// ledger, review default reject with a 7-day deadline, existing customers
// rejected, ICP mismatches reviewed, caps period month and exhausted caps
// reviewed, tier period month and tiers counted on the last milestone, reward
// currency the program's. Load applies it; call it on programs built in code.
func (p *Program) SetDefaults() { p.setDefaults(true) }

func (p *Program) setDefaults(reviewDeadline bool) {
	if p.Currency == "" {
		p.Currency = DefaultCurrency
	}
	if p.Payout.Method == "" {
		p.Payout.Method = PayoutLedger
	}
	if p.Review.Default == "" {
		p.Review.Default = PolicyReject
	}
	if reviewDeadline && p.Review.DeadlineSeconds == 0 {
		p.Review.DeadlineSeconds = DefaultReviewDeadlineSeconds
	}
	if p.Eligibility.ExistingCustomer == "" {
		p.Eligibility.ExistingCustomer = PolicyReject
	}
	if p.Eligibility.OnICPMismatch == "" {
		p.Eligibility.OnICPMismatch = PolicyReview
	}
	if p.Caps.Period == "" {
		p.Caps.Period = PeriodMonth
	}
	if p.Caps.OnExhausted == "" {
		p.Caps.OnExhausted = PolicyReview
	}
	last := ""
	if n := len(p.Milestones); n > 0 {
		last = p.Milestones[n-1].Name
	}
	for i := range p.Tiers {
		if p.Tiers[i].Period == "" {
			p.Tiers[i].Period = PeriodMonth
		}
		if p.Tiers[i].CountsMilestone == "" {
			p.Tiers[i].CountsMilestone = last
		}
	}
	for i := range p.Milestones {
		for j := range p.Milestones[i].Rewards {
			if p.Milestones[i].Rewards[j].Currency == "" {
				p.Milestones[i].Rewards[j].Currency = p.Currency
			}
		}
	}
}

// normalize lower-cases what is compared case-insensitively, so that the
// stored program is canonical.
func (p *Program) normalize() {
	p.ID = strings.TrimSpace(p.ID)
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	for i, o := range p.SiteOrigins {
		p.SiteOrigins[i] = normalizeOrigin(o)
	}
	e := &p.Eligibility
	for i, d := range e.BlockedDomains {
		e.BlockedDomains[i] = normalizeDomain(d)
	}
	for i, d := range e.CustomerDomains {
		e.CustomerDomains[i] = normalizeDomain(d)
	}
	for i, c := range e.Countries {
		e.Countries[i] = strings.ToUpper(strings.TrimSpace(c))
	}
	for i := range p.Milestones {
		for j := range p.Milestones[i].Stages {
			normalizeMatch(&p.Milestones[i].Stages[j])
		}
		for j := range p.Milestones[i].Rewards {
			r := &p.Milestones[i].Rewards[j]
			r.Currency = strings.ToUpper(strings.TrimSpace(r.Currency))
		}
	}
	for i := range p.Lost {
		normalizeMatch(&p.Lost[i])
	}
}

func normalizeMatch(m *StageMatch) {
	m.Provider = strings.ToLower(strings.TrimSpace(m.Provider))
	m.Status = strings.ToLower(strings.TrimSpace(m.Status))
	m.Pipeline = strings.TrimSpace(m.Pipeline)
	m.Stage = strings.TrimSpace(m.Stage)
}

func normalizeDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

func normalizeOrigin(o string) string {
	o = strings.TrimSpace(o)
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return o
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	return u.String()
}

// Validate checks every rule of the program and returns a *ValidationError
// listing all problems, or nil. It expects defaults to be set (Load does;
// programs built in code call SetDefaults first).
func (p *Program) Validate() error {
	if ps := p.validate(); len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

func (p *Program) validate() problems {
	var ps problems
	if p.Schema != SchemaVersion {
		ps.add("schema", "must be %d (got %d)", SchemaVersion, p.Schema)
	}
	if !idPattern.MatchString(p.ID) {
		ps.add("id", "%q must be 1-63 characters of a-z, 0-9 and -, starting with a letter or digit", p.ID)
	}
	if p.Version < 0 {
		ps.add("version", "must not be negative")
	}
	if _, ok := CurrencyExponent(p.Currency); !ok {
		ps.add("currency", "unknown ISO 4217 currency code %q", p.Currency)
	}
	seenOrigin := map[string]bool{}
	for i, o := range p.SiteOrigins {
		path := fmt.Sprintf("site_origins[%d]", i)
		if msg := checkOrigin(o); msg != "" {
			ps.add(path, "%s", msg)
		} else if seenOrigin[o] {
			ps.add(path, "%q is listed twice", o)
		}
		seenOrigin[o] = true
	}
	if p.ThankYouURL != "" {
		u, err := url.Parse(p.ThankYouURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			ps.add("thank_you_url", "%q must be an absolute http(s) URL", p.ThankYouURL)
		}
	}
	p.validateEligibility(&ps)
	if !oneOf(p.Review.Default, reviewDefs) {
		ps.add("review.default", "unknown value %q (want %s)", p.Review.Default, want(reviewDefs))
	}
	if p.Review.DeadlineSeconds < 0 {
		ps.add("review.deadline", "must not be negative")
	} else if p.Review.DeadlineSeconds == 0 {
		if why := p.reviewReason(); why != "" {
			ps.add("review.deadline", "must be greater than 0: %s", why)
		}
	}

	if len(p.Milestones) == 0 {
		ps.add("milestones", "at least one milestone is required")
	}
	names := map[string]int{}
	for i, m := range p.Milestones {
		mp := fmt.Sprintf("milestones[%d]", i)
		switch {
		case m.Name == LostName:
			ps.add(mp+".name", "%q is reserved for lost deals", m.Name)
		case !milestonePattern.MatchString(m.Name):
			ps.add(mp+".name", "%q must be a-z, 0-9 and _, starting with a letter", m.Name)
		default:
			if j, dup := names[m.Name]; dup {
				ps.add(mp+".name", "%q is already the name of milestones[%d]", m.Name, j)
			} else {
				names[m.Name] = i
			}
		}
		if m.DeadlineSeconds <= 0 {
			ps.add(mp+".deadline", "must be greater than 0")
		}
		if m.HoldSeconds < 0 {
			ps.add(mp+".hold", "must not be negative")
		}
		for j, s := range m.Stages {
			validateMatch(s, fmt.Sprintf("%s.stages[%d]", mp, j), &ps)
		}
		partySeen := map[string]int{}
		for j, r := range m.Rewards {
			rp := fmt.Sprintf("%s.rewards[%d]", mp, j)
			p.validateReward(r, rp, &ps)
			if k, dup := partySeen[r.Party]; dup && oneOf(r.Party, parties) {
				ps.add(rp+".party", "the %s already has %s.rewards[%d] for this milestone (one reward per party per milestone)", r.Party, mp, k)
			} else {
				partySeen[r.Party] = j
			}
		}
	}
	for i, s := range p.Lost {
		validateMatch(s, fmt.Sprintf("lost[%d]", i), &ps)
	}
	p.validateOverlaps(&ps)
	p.validateTiers(names, &ps)

	c := p.Caps
	if !oneOf(c.Period, periods) {
		ps.add("caps.period", "unknown period %q (want %s)", c.Period, want(periods))
	}
	if c.PerReferrerMinor < 0 {
		ps.add("caps.per_referrer", "must not be negative")
	}
	if c.BudgetMinor < 0 {
		ps.add("caps.budget", "must not be negative")
	}
	if !oneOf(c.OnExhausted, exhausted) {
		ps.add("caps.on_exhausted", "unknown value %q (want %s)", c.OnExhausted, want(exhausted))
	}
	if c.PerReferrerMinor > 0 || c.BudgetMinor > 0 {
		for i, m := range p.Milestones {
			for j, r := range m.Rewards {
				if r.Currency != p.Currency && r.Currency != "" {
					ps.add(fmt.Sprintf("milestones[%d].rewards[%d].currency", i, j),
						"must be the program currency %s when caps are set (caps are counted in it)", p.Currency)
				}
			}
		}
	}
	if p.Approval.AutoBelowMinor < 0 {
		ps.add("approval.auto_below", "must not be negative")
	}
	if !oneOf(p.Payout.Method, payouts) {
		ps.add("payout.method", "unknown payout method %q (want %s)", p.Payout.Method, want(payouts))
	}
	return ps
}

// reviewReason says which rule can send a referral or reward to a person,
// or "" when none can.
func (p *Program) reviewReason() string {
	e := p.Eligibility
	switch {
	case e.ExistingCustomer == PolicyReview:
		return "eligibility.existing_customer is review"
	case e.OnICPMismatch == PolicyReview && (len(e.Countries) > 0 || len(e.Industries) > 0 || e.MinEmployees > 0 || e.MaxEmployees > 0):
		return "eligibility.on_icp_mismatch is review"
	case p.Caps.OnExhausted == PolicyReview && (p.Caps.PerReferrerMinor > 0 || p.Caps.BudgetMinor > 0):
		return "caps.on_exhausted is review"
	case p.Approval.AutoBelowMinor > 0:
		return "approval.auto_below sends large rewards to a person"
	}
	return ""
}

func checkOrigin(o string) string {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Sprintf("%q is not an origin (want e.g. https://www.example.com)", o)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") {
		return fmt.Sprintf("%q must be an origin: scheme and host only, without path, query or credentials", o)
	}
	if u.Path == "/" {
		return fmt.Sprintf("%q must not end with / (browsers send origins without it)", o)
	}
	switch u.Scheme {
	case "https":
	case "http":
		host := u.Hostname()
		if host != "localhost" && host != "127.0.0.1" && host != "::1" {
			return fmt.Sprintf("%q must use https (http is allowed only for localhost)", o)
		}
	default:
		return fmt.Sprintf("%q must use https", o)
	}
	if _, port, err := net.SplitHostPort(u.Host); err == nil && port == "" {
		return fmt.Sprintf("%q has an empty port", o)
	}
	return ""
}

func (p *Program) validateEligibility(ps *problems) {
	e := p.Eligibility
	for i, d := range e.BlockedDomains {
		if !domainPattern.MatchString(d) {
			ps.add(fmt.Sprintf("eligibility.blocked_domains[%d]", i), "%q is not a domain name", d)
		}
	}
	for i, d := range e.CustomerDomains {
		if !domainPattern.MatchString(d) {
			ps.add(fmt.Sprintf("eligibility.customer_domains[%d]", i), "%q is not a domain name", d)
		}
	}
	if !oneOf(e.ExistingCustomer, rejectOrRev) {
		ps.add("eligibility.existing_customer", "unknown policy %q (want %s)", e.ExistingCustomer, want(rejectOrRev))
	}
	if e.MaxPerReferrerPerDay < 0 {
		ps.add("eligibility.max_per_referrer_per_day", "must not be negative")
	}
	if e.MaxPerReferrerPerMonth < 0 {
		ps.add("eligibility.max_per_referrer_per_month", "must not be negative")
	}
	if e.MaxPerReferrerPerDay > 0 && e.MaxPerReferrerPerMonth > 0 && e.MaxPerReferrerPerDay > e.MaxPerReferrerPerMonth {
		ps.add("eligibility.max_per_referrer_per_day", "must not be above max_per_referrer_per_month")
	}
	for i, c := range e.Countries {
		if !countryPattern.MatchString(c) {
			ps.add(fmt.Sprintf("eligibility.countries[%d]", i), "%q is not an ISO 3166 alpha-2 code (e.g. US, GB, DE)", c)
		}
	}
	for i, s := range e.Industries {
		if strings.TrimSpace(s) == "" {
			ps.add(fmt.Sprintf("eligibility.industries[%d]", i), "must not be empty")
		}
	}
	if e.MinEmployees < 0 {
		ps.add("eligibility.min_employees", "must not be negative")
	}
	if e.MaxEmployees < 0 {
		ps.add("eligibility.max_employees", "must not be negative")
	}
	if e.MinEmployees > 0 && e.MaxEmployees > 0 && e.MinEmployees > e.MaxEmployees {
		ps.add("eligibility.min_employees", "must not be above max_employees")
	}
	if !oneOf(e.OnICPMismatch, rejectOrRev) {
		ps.add("eligibility.on_icp_mismatch", "unknown policy %q (want %s)", e.OnICPMismatch, want(rejectOrRev))
	}
}

func validateMatch(s StageMatch, path string, ps *problems) {
	if !oneOf(s.Provider, providers) {
		ps.add(path+".provider", "unknown provider %q (want %s)", s.Provider, want(providers))
	}
	if s.Stage == "" && s.Status == "" {
		ps.add(path, "give stage or status (or both)")
	}
	if s.Status != "" && !oneOf(s.Status, statuses) {
		ps.add(path+".status", "unknown status %q (want %s)", s.Status, want(statuses))
	}
}

func (p *Program) validateReward(r Reward, rp string, ps *problems) {
	if !oneOf(r.Party, parties) {
		ps.add(rp+".party", "unknown party %q (want %s)", r.Party, want(parties))
	}
	if !oneOf(r.Kind, kinds) {
		ps.add(rp+".kind", "unknown kind %q (want %s)", r.Kind, want(kinds))
	}
	if _, ok := CurrencyExponent(r.Currency); !ok {
		ps.add(rp+".currency", "unknown ISO 4217 currency code %q", r.Currency)
	}
	switch {
	case r.AmountMinor != 0 && r.PercentBasisPoints != 0:
		ps.add(rp, "give either amount or percent, not both")
	case r.PercentBasisPoints == 0:
		if r.AmountMinor <= 0 {
			ps.add(rp+".amount", "must be greater than 0")
		}
		if r.FloorMinor != 0 {
			ps.add(rp+".floor", "applies only to a percent reward")
		}
		if r.CeilingMinor != 0 {
			ps.add(rp+".ceiling", "applies only to a percent reward")
		}
	default:
		if r.PercentBasisPoints < 0 || r.PercentBasisPoints > 10000 {
			ps.add(rp+".percent", "must be greater than 0%% and at most 100%%")
		}
		if r.FloorMinor < 0 {
			ps.add(rp+".floor", "must not be negative")
		}
		if r.CeilingMinor < 0 {
			ps.add(rp+".ceiling", "must not be negative")
		}
		if r.FloorMinor > 0 && r.CeilingMinor > 0 && r.FloorMinor > r.CeilingMinor {
			ps.add(rp+".floor", "%s is above the ceiling %s", FormatAmount(r.FloorMinor, r.Currency), FormatAmount(r.CeilingMinor, r.Currency))
		}
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

func (p *Program) validateTiers(names map[string]int, ps *problems) {
	for i, t := range p.Tiers {
		tp := fmt.Sprintf("tiers[%d]", i)
		if t.From < 1 {
			ps.add(tp+".from", "must be at least 1")
		}
		if t.MultiplierBP <= 0 {
			ps.add(tp+".multiplier", "must be greater than 0")
		}
		if !oneOf(t.Period, periods) {
			ps.add(tp+".period", "unknown period %q (want %s)", t.Period, want(periods))
		}
		if _, ok := names[t.CountsMilestone]; !ok {
			ps.add(tp+".counts_milestone", "no milestone is named %q", t.CountsMilestone)
		}
		if i == 0 {
			if t.From > 1 && t.MultiplierBP > 0 && t.MultiplierBP < 10000 {
				ps.add(tp+".multiplier", "must be at least 1 when the first tier starts after rank 1 (ranks before it earn 1x)")
			}
			continue
		}
		prev := p.Tiers[i-1]
		if t.From <= prev.From {
			ps.add(tp+".from", "tiers must be ordered by from: %d is not above %d", t.From, prev.From)
		}
		if t.MultiplierBP < prev.MultiplierBP && t.MultiplierBP > 0 {
			ps.add(tp+".multiplier", "must not be below the previous tier's (more referrals never earn less)")
		}
		if t.Period != p.Tiers[0].Period {
			ps.add(tp+".period", "all tiers must count in the same period (tiers[0] uses %q)", p.Tiers[0].Period)
		}
		if t.CountsMilestone != p.Tiers[0].CountsMilestone {
			ps.add(tp+".counts_milestone", "all tiers must count the same milestone (tiers[0] counts %q)", p.Tiers[0].CountsMilestone)
		}
	}
}
