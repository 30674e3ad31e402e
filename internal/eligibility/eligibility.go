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
	e := &p.Eligibility
	pt := partiesOf(c)
	var f findings
	if !e.AllowSelfReferral {
		f.checkSelfReferral(pt)
	}
	f.checkDisposable(pt)
	f.checkDomainLists(e, pt)
	f.checkVelocity(e, counts)
	f.checkICP(e, c)
	return f.decision()
}

// parties is who refers and who is referred, normalized: emails trimmed and
// lower-cased, mail domains taken from them, and company domains defaulting
// to the mail domains. Any field may be empty.
type parties struct {
	refereeEmail, referrerEmail           string
	refereeMailDomain, referrerMailDomain string
	refereeCompany, referrerCompany       string
	// refereeDomains is the referee's company and mail domain, distinct and
	// non-empty, company first.
	refereeDomains []string
}

// partiesOf normalizes the candidate's emails and domains.
func partiesOf(c Candidate) parties {
	var pt parties
	pt.refereeEmail = strings.ToLower(strings.TrimSpace(c.RefereeEmail))
	pt.referrerEmail = strings.ToLower(strings.TrimSpace(c.ReferrerEmail))
	pt.refereeMailDomain = DomainOf(pt.refereeEmail)
	pt.referrerMailDomain = DomainOf(pt.referrerEmail)
	pt.refereeCompany = NormalizeDomain(c.RefereeDomain)
	if pt.refereeCompany == "" {
		pt.refereeCompany = pt.refereeMailDomain
	}
	pt.referrerCompany = NormalizeDomain(c.ReferrerDomain)
	if pt.referrerCompany == "" {
		pt.referrerCompany = pt.referrerMailDomain
	}
	pt.refereeDomains = distinct(pt.refereeCompany, pt.refereeMailDomain)
	return pt
}

// findings collects reasons in the order the checks find them.
type findings struct {
	reasons []Reason
}

// add records one finding with a formatted message.
func (f *findings) add(code Code, o Outcome, format string, args ...any) {
	f.reasons = append(f.reasons, Reason{Code: code, Message: fmt.Sprintf(format, args...), Outcome: o})
}

// policyOutcome maps a program policy to the outcome of a finding it
// governs: Review for program.PolicyReview, Rejected for anything else.
func policyOutcome(s string) Outcome {
	if s == program.PolicyReview {
		return Review
	}
	return Rejected
}

// checkSelfReferral rejects a referee with the referrer's own email, or
// else with a company or mail domain of the referrer's organization; it
// records at most one finding.
func (f *findings) checkSelfReferral(pt parties) {
	if pt.refereeEmail != "" && pt.refereeEmail == pt.referrerEmail {
		f.add(CodeSelfReferral, Rejected, "the referee's email %s is the referrer's own", pt.refereeEmail)
		return
	}
	ref, own, ok := sameOrganization(pt.refereeDomains, distinct(pt.referrerCompany, pt.referrerMailDomain))
	if !ok {
		return
	}
	if ref == own {
		f.add(CodeSelfReferral, Rejected, "the referee's company domain %s is the referrer's own", ref)
	} else {
		f.add(CodeSelfReferral, Rejected, "the referee's company domain %s belongs to the referrer's own organization (%s)", ref, own)
	}
}

// checkDisposable rejects disposable mailbox domains: at most one finding
// for the referee's domains, then one for the referrer's email domain.
func (f *findings) checkDisposable(pt parties) {
	for _, dom := range pt.refereeDomains {
		if IsDisposable(dom) {
			f.add(CodeDisposableDomain, Rejected, "the referee's domain %s is a disposable mailbox service", dom)
			break
		}
	}
	if pt.referrerMailDomain != "" && IsDisposable(pt.referrerMailDomain) {
		f.add(CodeDisposableDomain, Rejected, "the referrer's email domain %s is a disposable mailbox service", pt.referrerMailDomain)
	}
}

// checkDomainLists applies, in this order, RequireCompanyDomain, the
// blocklist and the customer list to the referee's domains.
func (f *findings) checkDomainLists(e *program.Eligibility, pt parties) {
	if e.RequireCompanyDomain && pt.refereeCompany != "" && IsFreeMail(pt.refereeCompany) {
		f.add(CodeFreeMailDomain, Rejected, "the referee's domain %s is a free-mail provider, not a company domain", pt.refereeCompany)
	}
	if dom, parent, ok := firstUnder(pt.refereeDomains, e.BlockedDomains); ok {
		f.add(CodeBlockedDomain, Rejected, "the referee's domain %s is blocked%s", dom, under(dom, parent))
	}
	if dom, parent, ok := firstUnder(pt.refereeDomains, e.CustomerDomains); ok {
		f.add(CodeExistingCustomer, policyOutcome(e.ExistingCustomer), "the referee's domain %s is an existing customer%s", dom, under(dom, parent))
	}
}

// checkVelocity rejects a referrer who has reached the daily or monthly
// limit (a limit of 0 is none); both can be found.
func (f *findings) checkVelocity(e *program.Eligibility, counts Counts) {
	if e.MaxPerReferrerPerDay > 0 && counts.Today >= e.MaxPerReferrerPerDay {
		f.add(CodeVelocityDay, Rejected, "the referrer already made %d referrals today; the limit is %d a day", counts.Today, e.MaxPerReferrerPerDay)
	}
	if e.MaxPerReferrerPerMonth > 0 && counts.ThisMonth >= e.MaxPerReferrerPerMonth {
		f.add(CodeVelocityMonth, Rejected, "the referrer already made %d referrals this month; the limit is %d a month", counts.ThisMonth, e.MaxPerReferrerPerMonth)
	}
}

// checkICP compares the candidate's country, industry and company size,
// each only when the candidate carries it, with the ideal customer profile;
// mismatches follow OnICPMismatch.
func (f *findings) checkICP(e *program.Eligibility, c Candidate) {
	icp := policyOutcome(e.OnICPMismatch)
	if country := strings.ToUpper(strings.TrimSpace(c.Country)); country != "" && len(e.Countries) > 0 && !contains(e.Countries, country, false) {
		f.add(CodeICPCountry, icp, "the referee's country %s is not one of %s", country, strings.Join(e.Countries, ", "))
	}
	if ind := strings.TrimSpace(c.Industry); ind != "" && len(e.Industries) > 0 && !contains(e.Industries, ind, true) {
		f.add(CodeICPIndustry, icp, "the referee's industry %q is not one of %s", ind, strings.Join(e.Industries, ", "))
	}
	if n := c.Employees; n > 0 {
		switch {
		case e.MinEmployees > 0 && n < e.MinEmployees:
			f.add(CodeICPCompanySize, icp, "the referee's company has %d employees, fewer than the minimum of %d", n, e.MinEmployees)
		case e.MaxEmployees > 0 && n > e.MaxEmployees:
			f.add(CodeICPCompanySize, icp, "the referee's company has %d employees, more than the maximum of %d", n, e.MaxEmployees)
		}
	}
}

// decision returns the findings as a Decision: Rejected if any finding
// rejects, else Review if there is any finding, else Approved.
func (f *findings) decision() Decision {
	d := Decision{Outcome: Approved, Reasons: f.reasons}
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
