package eligibility

import (
	"reflect"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/program"
)

func testProgram(mod func(e *program.Eligibility)) *program.Program {
	p := &program.Program{Schema: 1, ID: "t", Milestones: []program.Milestone{{Name: "won", DeadlineSeconds: 1}}}
	p.SetDefaults()
	if mod != nil {
		mod(&p.Eligibility)
	}
	return p
}

func TestCheck(t *testing.T) {
	strict := func(e *program.Eligibility) {
		e.RequireCompanyDomain = true
		e.BlockedDomains = []string{"competitor.com"}
		e.CustomerDomains = []string{"bigco.com"}
		e.MaxPerReferrerPerDay = 3
		e.MaxPerReferrerPerMonth = 20
		e.Countries = []string{"US", "GB"}
		e.Industries = []string{"Software", "Financial Services"}
		e.MinEmployees = 50
		e.MaxEmployees = 5000
	}
	referrer := Candidate{ReferrerEmail: "ann@partner.io"}
	with := func(c Candidate) Candidate {
		c.ReferrerEmail = referrer.ReferrerEmail
		return c
	}
	for _, c := range []struct {
		name    string
		mod     func(e *program.Eligibility)
		cand    Candidate
		counts  Counts
		want    Outcome
		codes   []Code
		message string // a substring of the first message
	}{
		{"clean", strict, with(Candidate{RefereeEmail: "bob@acme.com", Country: "us", Employees: 200, Industry: "software"}), Counts{}, Approved, nil, ""},
		{"same email", nil, Candidate{RefereeEmail: "Ann@Partner.io", ReferrerEmail: "ann@partner.io"}, Counts{}, Rejected, []Code{CodeSelfReferral}, "the referee's email ann@partner.io is the referrer's own"},
		{"same company domain", nil, Candidate{RefereeEmail: "bob@acme.com", ReferrerEmail: "ann@acme.com"}, Counts{}, Rejected, []Code{CodeSelfReferral}, "the referee's company domain acme.com is the referrer's own"},
		{"subsidiary domain", nil, Candidate{RefereeEmail: "bob@eu.acme.com", ReferrerEmail: "ann@acme.com"}, Counts{}, Rejected, []Code{CodeSelfReferral}, "eu.acme.com belongs to the referrer's own organization (acme.com)"},
		{"sibling subdomains", nil, Candidate{RefereeEmail: "bob@eu.acme.co.uk", ReferrerEmail: "ann@us.acme.co.uk"}, Counts{}, Rejected, []Code{CodeSelfReferral}, ""},
		{"company field names referrer's company", nil, Candidate{RefereeEmail: "bob@gmail.com", RefereeDomain: "https://www.acme.com/", ReferrerEmail: "ann@acme.com"}, Counts{}, Rejected, []Code{CodeSelfReferral}, ""},
		{"referrer company domain given", nil, Candidate{RefereeEmail: "bob@acme.com", ReferrerEmail: "ann@gmail.com", ReferrerDomain: "acme.com"}, Counts{}, Rejected, []Code{CodeSelfReferral}, ""},
		{"two gmail users are not one company", nil, Candidate{RefereeEmail: "bob@gmail.com", ReferrerEmail: "ann@gmail.com"}, Counts{}, Approved, nil, ""},
		{"self referral allowed", func(e *program.Eligibility) { e.AllowSelfReferral = true }, Candidate{RefereeEmail: "bob@acme.com", ReferrerEmail: "ann@acme.com"}, Counts{}, Approved, nil, ""},
		{"different companies", nil, Candidate{RefereeEmail: "bob@acme.com", ReferrerEmail: "ann@notacme.com"}, Counts{}, Approved, nil, ""},
		{"free mail with company required", strict, with(Candidate{RefereeEmail: "bob@gmail.com"}), Counts{}, Rejected, []Code{CodeFreeMailDomain}, "gmail.com is a free-mail provider"},
		{"free mail with company domain given", strict, with(Candidate{RefereeEmail: "bob@gmail.com", RefereeDomain: "acme.com"}), Counts{}, Approved, nil, ""},
		{"free mail allowed", nil, Candidate{RefereeEmail: "bob@outlook.com"}, Counts{}, Approved, nil, ""},
		{"disposable always rejected", nil, Candidate{RefereeEmail: "bob@mailinator.com"}, Counts{}, Rejected, []Code{CodeDisposableDomain}, "mailinator.com is a disposable"},
		{"disposable referrer", nil, Candidate{RefereeEmail: "bob@acme.com", ReferrerEmail: "x@yopmail.com"}, Counts{}, Rejected, []Code{CodeDisposableDomain}, "the referrer's email domain yopmail.com"},
		{"blocked parent domain", strict, with(Candidate{RefereeEmail: "bob@eu.competitor.com"}), Counts{}, Rejected, []Code{CodeBlockedDomain}, "eu.competitor.com is blocked (under competitor.com)"},
		{"blocked is not a suffix match", strict, with(Candidate{RefereeEmail: "bob@notcompetitor.com"}), Counts{}, Approved, nil, ""},
		{"existing customer rejected", strict, with(Candidate{RefereeEmail: "bob@bigco.com"}), Counts{}, Rejected, []Code{CodeExistingCustomer}, "bigco.com is an existing customer"},
		{"existing customer reviewed", func(e *program.Eligibility) { strict(e); e.ExistingCustomer = program.PolicyReview }, with(Candidate{RefereeEmail: "bob@bigco.com"}), Counts{}, Review, []Code{CodeExistingCustomer}, ""},
		{"velocity day", strict, with(Candidate{RefereeEmail: "bob@acme.com"}), Counts{Today: 3, ThisMonth: 3}, Rejected, []Code{CodeVelocityDay}, "already made 3 referrals today; the limit is 3 a day"},
		{"under velocity", strict, with(Candidate{RefereeEmail: "bob@acme.com"}), Counts{Today: 2, ThisMonth: 19}, Approved, nil, ""},
		{"velocity month", strict, with(Candidate{RefereeEmail: "bob@acme.com"}), Counts{Today: 0, ThisMonth: 20}, Rejected, []Code{CodeVelocityMonth}, ""},
		{"icp country reviewed", strict, with(Candidate{RefereeEmail: "bob@acme.com", Country: "fr"}), Counts{}, Review, []Code{CodeICPCountry}, "country FR is not one of US, GB"},
		{"icp industry", strict, with(Candidate{RefereeEmail: "bob@acme.com", Industry: "Retail"}), Counts{}, Review, []Code{CodeICPIndustry}, ""},
		{"icp too small", strict, with(Candidate{RefereeEmail: "bob@acme.com", Employees: 10}), Counts{}, Review, []Code{CodeICPCompanySize}, "10 employees, fewer than the minimum of 50"},
		{"icp too big", strict, with(Candidate{RefereeEmail: "bob@acme.com", Employees: 10000}), Counts{}, Review, []Code{CodeICPCompanySize}, ""},
		{"icp rejected by policy", func(e *program.Eligibility) { strict(e); e.OnICPMismatch = program.PolicyReject }, with(Candidate{RefereeEmail: "bob@acme.com", Country: "DE"}), Counts{}, Rejected, []Code{CodeICPCountry}, ""},
		{"rejection wins over review", strict, with(Candidate{RefereeEmail: "bob@competitor.com", Country: "DE", Employees: 1}), Counts{}, Rejected, []Code{CodeBlockedDomain, CodeICPCountry, CodeICPCompanySize}, ""},
		{"all findings reported", func(e *program.Eligibility) {
			strict(e)
			e.CustomerDomains = []string{"acme.com"}
			e.ExistingCustomer = program.PolicyReview
		},
			Candidate{RefereeEmail: "bob@acme.com", ReferrerEmail: "ann@acme.com", Country: "DE"}, Counts{Today: 9, ThisMonth: 99}, Rejected,
			[]Code{CodeSelfReferral, CodeExistingCustomer, CodeVelocityDay, CodeVelocityMonth, CodeICPCountry}, ""},
		{"missing fields skip checks", strict, Candidate{}, Counts{}, Approved, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := Check(testProgram(c.mod), c.cand, c.counts)
			if d.Outcome != c.want {
				t.Errorf("outcome %s, want %s (%+v)", d.Outcome, c.want, d.Reasons)
			}
			if got := d.Codes(); !reflect.DeepEqual(got, c.codes) && !(len(got) == 0 && len(c.codes) == 0) {
				t.Errorf("codes %v, want %v", got, c.codes)
			}
			if c.message != "" && (len(d.Reasons) == 0 || !strings.Contains(d.Reasons[0].Message, c.message)) {
				t.Errorf("message %+v, want it to contain %q", d.Reasons, c.message)
			}
			if (d.Outcome == Approved) != (len(d.Reasons) == 0) {
				t.Error("approved must mean no reasons")
			}
		})
	}
}

func TestDomainOf(t *testing.T) {
	for in, want := range map[string]string{
		"bob@acme.com":            "acme.com",
		" Bob@EU.Acme.COM ":       "eu.acme.com",
		"Bob <bob@acme.com>":      "acme.com",
		"bob@acme.com.":           "acme.com",
		"a@b@acme.com":            "acme.com",
		"bob":                     "",
		"bob@":                    "",
		"@acme.com":               "",
		"bob@localhost":           "",
		"":                        "",
		"bob@www.acme.com":        "acme.com",
		"\"odd name\"@acme.co.uk": "acme.co.uk",
		"bob@exa mple.com":        "",
		"bob@acme.com/evil":       "acme.com",
	} {
		if got := DomainOf(in); got != want {
			t.Errorf("DomainOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeAndOrganization(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.Acme.com/about?x": "acme.com",
		"acme.com.":                    "acme.com",
		"http://acme.com:8080":         "acme.com",
		"ACME.COM":                     "acme.com",
	} {
		if got := NormalizeDomain(in); got != want {
			t.Errorf("NormalizeDomain(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"eu.acme.com":       "acme.com",
		"acme.com":          "acme.com",
		"shop.acme.co.uk":   "acme.co.uk",
		"acme.co.uk":        "acme.co.uk",
		"alice.github.io":   "alice.github.io",
		"a.b.c.acme.com.au": "acme.com.au",
		"localhost":         "localhost",
	} {
		if got := Organization(in); got != want {
			t.Errorf("Organization(%q) = %q, want %q", in, got, want)
		}
	}
	if !Under("eu.acme.com", "acme.com") || Under("notacme.com", "acme.com") || !Under("acme.com", "acme.com") || Under("", "acme.com") {
		t.Error("Under")
	}
}

func TestLists(t *testing.T) {
	for _, d := range []string{"gmail.com", "GMAIL.COM", "outlook.com", "yahoo.co.uk", "icloud.com", "proton.me", "mail.gmail.com"} {
		if !IsFreeMail(d) {
			t.Errorf("IsFreeMail(%q) = false", d)
		}
	}
	for _, d := range []string{"acme.com", "notgmail.com", "gmail.co", ""} {
		if IsFreeMail(d) {
			t.Errorf("IsFreeMail(%q) = true", d)
		}
	}
	for _, d := range []string{"mailinator.com", "guerrillamail.com", "10minutemail.com", "yopmail.com", "x.mailinator.com", "temp-mail.org"} {
		if !IsDisposable(d) {
			t.Errorf("IsDisposable(%q) = false", d)
		}
	}
	for _, d := range []string{"acme.com", "gmail.com", ""} {
		if IsDisposable(d) {
			t.Errorf("IsDisposable(%q) = true", d)
		}
	}
	if len(freeMailDomains) < 100 || len(disposableDomains) < 300 {
		t.Errorf("lists too short: %d free-mail, %d disposable", len(freeMailDomains), len(disposableDomains))
	}
	for d := range disposableDomains {
		if freeMailDomains[d] {
			t.Errorf("%s is in both lists", d)
		}
	}
}
