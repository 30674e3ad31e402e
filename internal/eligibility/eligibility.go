// Package eligibility decides whether a referral may enter a program: self
// referrals, existing customers, free-mail and disposable addresses,
// blocklists, velocity limits and the ideal customer profile. Check is pure:
// the store supplies the counts it needs, and nothing here reads a clock.
package eligibility

import (
	"fmt"
	"strings"

	"github.com/referflow/referflow/internal/program"
)

// Outcome is the verdict on a referral.
type Outcome string

// Outcomes, from best to worst. Rejected wins over Review, which wins over
// Approved.
const (
	Approved Outcome = "approved"
	Review   Outcome = "review"
	Rejected Outcome = "rejected"
)

// Code names why a referral is not simply approved. Codes are stable: they
// are stored, counted in metrics and safe to put in workflow payloads.
type Code string

// Reason codes.
const (
	CodeSelfReferral     Code = "self_referral"
	CodeExistingCustomer Code = "existing_customer"
	CodeFreeMailDomain   Code = "free_mail_domain"
	CodeDisposableDomain Code = "disposable_domain"
	CodeBlockedDomain    Code = "blocked_domain"
	CodeVelocityDay      Code = "velocity_day"
	CodeVelocityMonth    Code = "velocity_month"
	CodeICPCountry       Code = "icp_country"
	CodeICPIndustry      Code = "icp_industry"
	CodeICPCompanySize   Code = "icp_company_size"
)

// Candidate is what is known about a referral when it arrives. Every field
// is optional; a check whose field is empty is skipped.
type Candidate struct {
	RefereeEmail   string
	RefereeDomain  string // the referee's company domain or website; defaults to the email's domain
	ReferrerEmail  string
	ReferrerDomain string // the referrer's company domain; defaults to the email's domain
	Country        string // ISO 3166 alpha-2, any case
	Employees      int    // company size; 0 = unknown
	Industry       string // free text, compared without case
}

// Counts are the referrer's referrals already accepted, not counting this
// one, in the current UTC day and month. The store supplies them.
type Counts struct {
	Today     int
	ThisMonth int
}

// Reason is one finding. Message is for a person (a reviewer, an admin) and
// names emails and domains: keep it out of Step Functions payloads and pass
// Code instead.
type Reason struct {
	Code    Code    `json:"code"`
	Message string  `json:"message"`
	Outcome Outcome `json:"outcome"` // what this finding alone leads to: Rejected or Review
}

// Decision is the verdict and every finding behind it, in the order the
// checks ran. Outcome is Approved exactly when Reasons is empty.
type Decision struct {
	Outcome Outcome  `json:"outcome"`
	Reasons []Reason `json:"reasons,omitempty"`
}

// Codes returns the codes of the reasons, in order.
func (d Decision) Codes() []Code {
	out := make([]Code, 0, len(d.Reasons))
	for _, r := range d.Reasons {
		out = append(out, r.Code)
	}
	return out
}

// Check applies the program's eligibility rules to a candidate. It runs
// every check and reports every finding; the outcome is Rejected if any
// finding rejects, else Review if any asks for review, else Approved.
//
// Rules: a referee with the referrer's email, or a company domain of the same
// organization as the referrer's (eu.acme.com and acme.com), is a self
// referral unless the program allows it (free-mail domains never count as a
// company); disposable mailboxes are always rejected; with
// RequireCompanyDomain, a referee whose company domain is a free-mail
// provider is rejected; blocked domains (and their subdomains) are rejected;
// customer domains follow ExistingCustomer; reaching a velocity limit is
// rejected; ICP mismatches (when the candidate carries the field) follow
// OnICPMismatch.
func Check(p *program.Program, c Candidate, counts Counts) Decision {
	e := p.Eligibility
	var d Decision
	add := func(code Code, o Outcome, format string, args ...any) {
		d.Reasons = append(d.Reasons, Reason{Code: code, Message: fmt.Sprintf(format, args...), Outcome: o})
	}
	policy := func(s string) Outcome {
		if s == program.PolicyReview {
			return Review
		}
		return Rejected
	}

	refereeEmail := strings.ToLower(strings.TrimSpace(c.RefereeEmail))
	referrerEmail := strings.ToLower(strings.TrimSpace(c.ReferrerEmail))
	refereeMailDomain := DomainOf(refereeEmail)
	referrerMailDomain := DomainOf(referrerEmail)
	refereeCompany := NormalizeDomain(c.RefereeDomain)
	if refereeCompany == "" {
		refereeCompany = refereeMailDomain
	}
	referrerCompany := NormalizeDomain(c.ReferrerDomain)
	if referrerCompany == "" {
		referrerCompany = referrerMailDomain
	}
	refereeDomains := distinct(refereeCompany, refereeMailDomain)

	// Self referral.
	if !e.AllowSelfReferral {
		if refereeEmail != "" && refereeEmail == referrerEmail {
			add(CodeSelfReferral, Rejected, "the referee's email %s is the referrer's own", refereeEmail)
		} else if ref, own, ok := sameOrganization(refereeDomains, distinct(referrerCompany, referrerMailDomain)); ok {
			if ref == own {
				add(CodeSelfReferral, Rejected, "the referee's company domain %s is the referrer's own", ref)
			} else {
				add(CodeSelfReferral, Rejected, "the referee's company domain %s belongs to the referrer's own organization (%s)", ref, own)
			}
		}
	}

	// Disposable mailboxes, referee and referrer.
	for _, dom := range refereeDomains {
		if IsDisposable(dom) {
			add(CodeDisposableDomain, Rejected, "the referee's domain %s is a disposable mailbox service", dom)
			break
		}
	}
	if referrerMailDomain != "" && IsDisposable(referrerMailDomain) {
		add(CodeDisposableDomain, Rejected, "the referrer's email domain %s is a disposable mailbox service", referrerMailDomain)
	}

	// Company domain required.
	if e.RequireCompanyDomain && refereeCompany != "" && IsFreeMail(refereeCompany) {
		add(CodeFreeMailDomain, Rejected, "the referee's domain %s is a free-mail provider, not a company domain", refereeCompany)
	}

	// Blocklist.
	if dom, parent, ok := firstUnder(refereeDomains, e.BlockedDomains); ok {
		add(CodeBlockedDomain, Rejected, "the referee's domain %s is blocked%s", dom, under(dom, parent))
	}

	// Existing customers.
	if dom, parent, ok := firstUnder(refereeDomains, e.CustomerDomains); ok {
		add(CodeExistingCustomer, policy(e.ExistingCustomer), "the referee's domain %s is an existing customer%s", dom, under(dom, parent))
	}

	// Velocity.
	if e.MaxPerReferrerPerDay > 0 && counts.Today >= e.MaxPerReferrerPerDay {
		add(CodeVelocityDay, Rejected, "the referrer already made %d referrals today; the limit is %d a day", counts.Today, e.MaxPerReferrerPerDay)
	}
	if e.MaxPerReferrerPerMonth > 0 && counts.ThisMonth >= e.MaxPerReferrerPerMonth {
		add(CodeVelocityMonth, Rejected, "the referrer already made %d referrals this month; the limit is %d a month", counts.ThisMonth, e.MaxPerReferrerPerMonth)
	}

	// Ideal customer profile.
	icp := policy(e.OnICPMismatch)
	if country := strings.ToUpper(strings.TrimSpace(c.Country)); country != "" && len(e.Countries) > 0 && !contains(e.Countries, country, false) {
		add(CodeICPCountry, icp, "the referee's country %s is not one of %s", country, strings.Join(e.Countries, ", "))
	}
	if ind := strings.TrimSpace(c.Industry); ind != "" && len(e.Industries) > 0 && !contains(e.Industries, ind, true) {
		add(CodeICPIndustry, icp, "the referee's industry %q is not one of %s", ind, strings.Join(e.Industries, ", "))
	}
	if n := c.Employees; n > 0 {
		switch {
		case e.MinEmployees > 0 && n < e.MinEmployees:
			add(CodeICPCompanySize, icp, "the referee's company has %d employees, fewer than the minimum of %d", n, e.MinEmployees)
		case e.MaxEmployees > 0 && n > e.MaxEmployees:
			add(CodeICPCompanySize, icp, "the referee's company has %d employees, more than the maximum of %d", n, e.MaxEmployees)
		}
	}

	d.Outcome = Approved
	for _, r := range d.Reasons {
		if r.Outcome == Rejected {
			d.Outcome = Rejected
			break
		}
		d.Outcome = Review
	}
	return d
}

// distinct returns the non-empty values, without repeats, in order.
func distinct(vals ...string) []string {
	var out []string
	for _, v := range vals {
		if v != "" && !contains(out, v, false) {
			out = append(out, v)
		}
	}
	return out
}

func contains(list []string, v string, fold bool) bool {
	for _, s := range list {
		if s == v || (fold && strings.EqualFold(strings.TrimSpace(s), v)) {
			return true
		}
	}
	return false
}

// sameOrganization finds a referee domain of the same organization as a
// referrer domain. Free-mail domains are never an organization.
func sameOrganization(referee, referrer []string) (string, string, bool) {
	for _, a := range referee {
		if IsFreeMail(a) {
			continue
		}
		for _, b := range referrer {
			if IsFreeMail(b) {
				continue
			}
			if Under(a, b) || Under(b, a) || Organization(a) == Organization(b) {
				return a, b, true
			}
		}
	}
	return "", "", false
}

// firstUnder finds the first domain that is, or is under, an entry of list.
func firstUnder(domains, list []string) (domain, entry string, ok bool) {
	for _, d := range domains {
		for _, l := range list {
			if Under(d, NormalizeDomain(l)) {
				return d, NormalizeDomain(l), true
			}
		}
	}
	return "", "", false
}

// under explains a parent-domain match: "" for an exact match.
func under(domain, entry string) string {
	if domain == entry {
		return ""
	}
	return " (under " + entry + ")"
}
