package program

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/referflow/referflow/internal/money"
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
	parties     = []string{PartyReferrer, PartyReferee}
	kinds       = []string{KindCash, KindCredit, KindDiscount, KindGiftCard}
	statuses    = []string{StatusWon, StatusLost}
	periods     = []string{PeriodMonth, PeriodQuarter, PeriodYear, PeriodAll}
	rejectOrRev = []string{PolicyReject, PolicyReview}
	reviewDefs  = []string{PolicyApprove, PolicyReject}
	exhausted   = []string{PolicyReview, OnExhaustedNextPeriod}
	onLoss      = []string{RewardsOnLossKeep, RewardsOnLossVoid}
	payouts     = []string{PayoutLedger, PayoutManual, PayoutStripe, PayoutPayPal, PayoutTremendous}
	schedules   = []string{ScheduleAtOnce, ScheduleWeekly, ScheduleMonthly}
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

// Validate checks every rule of the program and returns a *ValidationError
// listing all problems, or nil. It expects defaults to be set (Load does;
// programs built in code call SetDefaults first). Options are Load's.
func (p *Program) Validate(opts ...Option) error {
	if ps := p.validate(newRules(opts)); len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

// validate checks every rule and returns every problem, in a fixed order:
// top-level fields, eligibility, review, milestones, lost, stage overlaps,
// tiers, caps, approval, payout, currency rates and the unlinked-events TTL,
// links, emails, then partners.
func (p *Program) validate(r rules) problems {
	var ps problems
	p.validateHeader(&ps)
	p.validateEligibility(&ps)
	p.validateReview(&ps)
	names := p.validateMilestones(r, &ps)
	for i, s := range p.Lost {
		validateMatch(s, fmt.Sprintf("lost[%d]", i), r, &ps)
	}
	p.validateOverlaps(&ps)
	p.validateTiers(names, &ps)
	p.validateExperiment(names, &ps)
	p.validateCaps(&ps)
	p.validatePayout(&ps)
	p.validateSubscription(&ps)
	p.validateDeals(&ps)
	p.validateLinks(&ps)
	p.validateEmails(&ps)
	p.validatePartners(&ps)
	return ps
}

// validateHeader checks the program's own top-level fields: schema, id,
// version, currency, site origins and thank-you URL.
func (p *Program) validateHeader(ps *problems) {
	if p.Schema != SchemaVersion {
		ps.add("schema", "must be %d (got %d)", SchemaVersion, p.Schema)
	}
	if !idPattern.MatchString(p.ID) {
		ps.add("id", "%q must be 1-63 characters of a-z, 0-9 and -, starting with a letter or digit", p.ID)
	}
	if p.Version < 0 {
		ps.add("version", "must not be negative")
	}
	if _, ok := money.Exponent(p.Currency); !ok {
		ps.add("currency", "unknown ISO 4217 currency code %q", p.Currency)
	}
	p.validateSiteOrigins(ps)
	if p.ThankYouURL != "" {
		u, err := url.Parse(p.ThankYouURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			ps.add("thank_you_url", "%q must be an absolute http(s) URL", p.ThankYouURL)
		}
	}
}

// validateSiteOrigins reports each site origin that is not a valid origin
// (checkOrigin) and each later repeat of one already listed.
func (p *Program) validateSiteOrigins(ps *problems) {
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
}

// checkOrigin says what is wrong with o as a CORS origin (an https URL, or
// http for localhost, with scheme and host only), or "" when it is one.
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
