package referral

import (
	"reflect"
	"strings"
	"testing"
)

// valid returns a submission that passes Validate; cases change one field.
func valid() Submission {
	return Submission{
		ReferrerCode:   "ann-42",
		RefereeEmail:   "bob@acme.io",
		RefereeCompany: "Acme",
	}
}

func TestNormalize(t *testing.T) {
	s := Submission{
		Program:        "  B2B-Partners ",
		ReferrerCode:   " ann-42\t",
		RefereeEmail:   "  Bob@ACME.io ",
		RefereeName:    " Bob Smith ",
		RefereeCompany: " Acme Inc. ",
		RefereeDomain:  " HTTPS://www.Acme.IO/about?x=1 ",
		RefereePhone:   " +1 555 0100 ",
		Message:        "  hello  ",
		Country:        " us ",
		Industry:       " SaaS ",
		Employees:      " 250 ",
		Gotcha:         "",
	}
	s.Normalize()
	want := Submission{
		Program:        "b2b-partners",
		ReferrerCode:   "ann-42", // codes keep their case
		RefereeEmail:   "bob@acme.io",
		RefereeName:    "Bob Smith",
		RefereeCompany: "Acme Inc.",
		RefereeDomain:  "acme.io",
		RefereePhone:   "+1 555 0100",
		Message:        "hello",
		Country:        "US",
		Industry:       "SaaS",
		Employees:      "250",
	}
	if s != want {
		t.Fatalf("Normalize:\n got %+v\nwant %+v", s, want)
	}
}

func TestNormalizeDomain(t *testing.T) {
	for in, want := range map[string]string{
		"acme.io":                  "acme.io",
		"ACME.IO.":                 "acme.io",
		"http://acme.io":           "acme.io",
		"https://www.acme.io/":     "acme.io",
		"www.acme.io#top":          "acme.io",
		"eu.acme.io/path/to?q=1":   "eu.acme.io",
		"https://WWW.Eu.Acme.io/x": "eu.acme.io",
		"":                         "",
	} {
		s := Submission{RefereeDomain: in}
		s.Normalize()
		if s.RefereeDomain != want {
			t.Errorf("domain %q normalised to %q, want %q", in, s.RefereeDomain, want)
		}
	}
}

func TestValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name string
		mod  func(s *Submission)
		want FieldErrors // nil: valid
	}{
		{"minimal valid", func(s *Submission) {}, nil},
		{"every optional field valid", func(s *Submission) {
			s.Program, s.RefereeName, s.RefereeDomain, s.RefereePhone = "b2b-partners", "Bob", "acme.io", "+1 555"
			s.Message, s.Country, s.Industry, s.Employees = "hi", "DE", "SaaS", "1"
		}, nil},
		{"all required missing", func(s *Submission) { *s = Submission{} }, FieldErrors{
			"referrer_code": "is required", "referee_email": "is required", "referee_company": "is required"}},
		{"referrer code with space", func(s *Submission) { s.ReferrerCode = "ann 42" }, FieldErrors{"referrer_code": "is not a referral code"}},
		{"referrer code with slash", func(s *Submission) { s.ReferrerCode = "ann/42" }, FieldErrors{"referrer_code": "is not a referral code"}},
		{"referrer code 64 chars", func(s *Submission) { s.ReferrerCode = long(64) }, nil},
		{"referrer code 65 chars", func(s *Submission) { s.ReferrerCode = long(65) }, FieldErrors{"referrer_code": "is not a referral code"}},
		{"email without at", func(s *Submission) { s.RefereeEmail = "bob.acme.io" }, FieldErrors{"referee_email": "is not an email address"}},
		{"email without dotted domain", func(s *Submission) { s.RefereeEmail = "bob@localhost" }, FieldErrors{"referee_email": "is not an email address"}},
		{"email with display name", func(s *Submission) { s.RefereeEmail = "Bob <bob@acme.io>" }, FieldErrors{"referee_email": "is not an email address"}},
		{"email two addresses", func(s *Submission) { s.RefereeEmail = "bob@acme.io, eve@acme.io" }, FieldErrors{"referee_email": "is not an email address"}},
		{"email bad domain label", func(s *Submission) { s.RefereeEmail = "bob@-acme.io" }, FieldErrors{"referee_email": "is not an email address"}},
		{"email too long", func(s *Submission) { s.RefereeEmail = long(250) + "@a.io" }, FieldErrors{"referee_email": "is not an email address"}},
		{"email plus tag ok", func(s *Submission) { s.RefereeEmail = "bob+ref@mail.acme.io" }, nil},
		{"company 200 runes ok", func(s *Submission) { s.RefereeCompany = strings.Repeat("é", 200) }, nil},
		{"company 201 runes", func(s *Submission) { s.RefereeCompany = strings.Repeat("é", 201) }, FieldErrors{"referee_company": "is too long (at most 200 characters)"}},
		{"domain single label", func(s *Submission) { s.RefereeDomain = "acme" }, FieldErrors{"referee_domain": "is not a domain name"}},
		{"domain underscore", func(s *Submission) { s.RefereeDomain = "ac_me.io" }, FieldErrors{"referee_domain": "is not a domain name"}},
		{"domain empty label", func(s *Submission) { s.RefereeDomain = "acme..io" }, FieldErrors{"referee_domain": "is not a domain name"}},
		{"domain trailing hyphen label", func(s *Submission) { s.RefereeDomain = "acme-.io" }, FieldErrors{"referee_domain": "is not a domain name"}},
		{"domain with port", func(s *Submission) { s.RefereeDomain = "acme.io:8080" }, FieldErrors{"referee_domain": "is not a domain name"}},
		{"domain label 64 chars", func(s *Submission) { s.RefereeDomain = long(64) + ".io" }, FieldErrors{"referee_domain": "is not a domain name"}},
		{"domain label 63 chars", func(s *Submission) { s.RefereeDomain = long(63) + ".io" }, nil},
		{"program upper case (not normalised)", func(s *Submission) { s.Program = "B2B" }, FieldErrors{"program": "is not a program id"}},
		{"program with underscore", func(s *Submission) { s.Program = "b2b_partners" }, FieldErrors{"program": "is not a program id"}},
		{"program 64 chars", func(s *Submission) { s.Program = long(64) }, FieldErrors{"program": "is not a program id"}},
		{"program 63 chars", func(s *Submission) { s.Program = long(63) }, nil},
		{"name 201", func(s *Submission) { s.RefereeName = long(201) }, FieldErrors{"referee_name": "is too long (at most 200 characters)"}},
		{"phone 41", func(s *Submission) { s.RefereePhone = long(41) }, FieldErrors{"referee_phone": "is too long (at most 40 characters)"}},
		{"phone 40", func(s *Submission) { s.RefereePhone = long(40) }, nil},
		{"message 2001", func(s *Submission) { s.Message = long(2001) }, FieldErrors{"message": "is too long (at most 2000 characters)"}},
		{"message 2000", func(s *Submission) { s.Message = long(2000) }, nil},
		{"industry 201", func(s *Submission) { s.Industry = long(201) }, FieldErrors{"industry": "is too long (at most 200 characters)"}},
		{"country three letters", func(s *Submission) { s.Country = "USA" }, FieldErrors{"referee_country": "must be a two-letter country code"}},
		{"country digits", func(s *Submission) { s.Country = "U1" }, FieldErrors{"referee_country": "must be a two-letter country code"}},
		{"country lower (not normalised)", func(s *Submission) { s.Country = "us" }, FieldErrors{"referee_country": "must be a two-letter country code"}},
		{"company size zero", func(s *Submission) { s.Employees = "0" }, FieldErrors{"company_size": "must be a whole number of employees"}},
		{"company size negative", func(s *Submission) { s.Employees = "-5" }, FieldErrors{"company_size": "must be a whole number of employees"}},
		{"company size decimal", func(s *Submission) { s.Employees = "10.5" }, FieldErrors{"company_size": "must be a whole number of employees"}},
		{"company size text", func(s *Submission) { s.Employees = "many" }, FieldErrors{"company_size": "must be a whole number of employees"}},
		{"several problems at once", func(s *Submission) {
			s.RefereeEmail, s.Country, s.Employees = "nope", "X", "0"
		}, FieldErrors{"referee_email": "is not an email address", "referee_country": "must be a two-letter country code", "company_size": "must be a whole number of employees"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := valid()
			c.mod(&s)
			got := s.Validate()
			if c.want == nil {
				if got != nil {
					t.Fatalf("Validate() = %v, want nil", got)
				}
				return
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Validate() = %v, want %v", got, c.want)
			}
		})
	}
}

func TestNormalizeThenValidate(t *testing.T) {
	s := Submission{ReferrerCode: " ann ", RefereeEmail: " BOB@Acme.IO ", RefereeCompany: " Acme ", Country: "de", Program: "B2B-Partners", RefereeDomain: "https://www.acme.io/"}
	s.Normalize()
	if errs := s.Validate(); errs != nil {
		t.Fatalf("normalised submission invalid: %v", errs)
	}
}

func TestEmployeeCountAndEmailDomain(t *testing.T) {
	for in, want := range map[string]int{"": 0, "12": 12, "x": 0} {
		s := Submission{Employees: in}
		if got := s.EmployeeCount(); got != want {
			t.Errorf("EmployeeCount(%q) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]string{"bob@ACME.io": "acme.io", "a@b@c.io": "c.io", "nobody": ""} {
		if got := EmailDomain(in); got != want {
			t.Errorf("EmailDomain(%q) = %q, want %q", in, got, want)
		}
	}
}
