package program

import (
	"net/url"
	"strings"
)

// SetDefaults fills the fields a program leaves empty: currency USD, payout
// ledger, review default reject with a 7-day deadline, existing customers
// rejected, ICP mismatches reviewed, caps period month and exhausted caps
// reviewed, earned rewards kept on a loss, tier period month and tiers counted on the last milestone, reward
// currency the program's. Load applies it; call it on programs built in code.
func (p *Program) SetDefaults() { p.setDefaults(true) }

func (p *Program) setDefaults(reviewDeadline bool) {
	if p.Currency == "" {
		p.Currency = DefaultCurrency
	}
	if p.Payout.Method == "" {
		p.Payout.Method = PayoutLedger
	}
	if p.Payout.Schedule == "" {
		p.Payout.Schedule = ScheduleAtOnce
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
	if p.RewardsOnLoss == "" {
		p.RewardsOnLoss = RewardsOnLossKeep
	}
	last := ""
	if n := len(p.Milestones); n > 0 {
		last = p.Milestones[n-1].Name
	}
	defaultTiers(p.Tiers, last)
	p.Experiment.setDefaults(last)
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
