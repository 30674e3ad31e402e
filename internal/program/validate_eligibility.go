package program

import (
	"fmt"
	"strings"
)

// validateEligibility checks the eligibility rules: domain lists, policies,
// velocity limits and the ideal customer profile.
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

// validateReview checks the review default and deadline; a deadline of 0 is
// refused only when some rule can send a referral or reward to a person.
func (p *Program) validateReview(ps *problems) {
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
