package notify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/eligibility"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// partnerSafe says each verification reason code in words a partner may
// read: about the program's rules, never about the referee beyond what
// the partner submitted (the recorded reason messages name emails and
// domains: they never leave the admin view).
var partnerSafe = map[eligibility.Code]string{
	eligibility.CodeSelfReferral:     "Partners cannot refer themselves or their own company.",
	eligibility.CodeExistingCustomer: "This company is already a customer.",
	eligibility.CodeFreeMailDomain:   "The program needs a company email address, not a free-mail one.",
	eligibility.CodeDisposableDomain: "The email address given belongs to a disposable mailbox service.",
	eligibility.CodeBlockedDomain:    "This company is not eligible for the program.",
	eligibility.CodeVelocityDay:      "You reached the program's limit of referrals per day.",
	eligibility.CodeVelocityMonth:    "You reached the program's limit of referrals per month.",
	eligibility.CodeICPCountry:       "The company is outside the countries the program serves.",
	eligibility.CodeICPIndustry:      "The company's industry is outside the program's focus.",
	eligibility.CodeICPCompanySize:   "The company's size is outside the range the program serves.",
}

// ReasonUnknown is said for a reason code without a sentence, and for a
// referral rejected in review without a recorded reason.
const ReasonUnknown = "The referral did not meet the program's criteria."

// PartnerReasons are the partner-safe sentences for r's verification
// reasons, each once, in order; ReasonUnknown when none is recorded.
func PartnerReasons(r *referral.Referral) []string {
	var out []string
	for _, rs := range r.Reasons {
		s, ok := partnerSafe[eligibility.Code(rs.Code)]
		if !ok {
			s = ReasonUnknown
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = []string{ReasonUnknown}
	}
	return out
}

// Incentives describe the referee's rewards in p, one line each: the
// reward's description when the program writes one, else its amount and
// kind, with the milestone that earns it.
func Incentives(p *program.Program) []string {
	var out []string
	for _, m := range p.Milestones {
		for _, rw := range m.Rewards {
			if rw.Party != program.PartyReferee {
				continue
			}
			what := rw.Description
			switch {
			case what != "":
			case rw.PercentBasisPoints > 0:
				what = fmt.Sprintf("a %s of %s of the deal", words(rw.Kind), percent(rw.PercentBasisPoints))
			default:
				what = fmt.Sprintf("a %s of %s", words(rw.Kind), money.Format(rw.AmountMinor, rw.Currency))
			}
			out = append(out, fmt.Sprintf("%s (once you reach %s)", what, label(m.Name)))
		}
	}
	return out
}

// percent says basis points as a percent: 1000 -> "10%", 1250 -> "12.5%".
func percent(bp int64) string {
	s := strconv.FormatInt(bp/100, 10)
	if r := bp % 100; r != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", r), "0")
	}
	return s + "%"
}

// words says an identifier in lower-case words: "gift_card" -> "gift card".
func words(id string) string { return strings.ReplaceAll(id, "_", " ") }

// durationSeconds says a number of seconds for a person ("7 days").
func durationSeconds(s int64) string { return Duration(time.Duration(s) * time.Second) }
