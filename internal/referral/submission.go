package referral

import (
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Submission is a referral as posted by a marketing site (docs/api.md): the same
// flat field names in JSON and form-encoded bodies.
type Submission struct {
	Program        string `json:"program"`
	ReferrerCode   string `json:"referrer_code"`
	RefereeEmail   string `json:"referee_email"`
	RefereeName    string `json:"referee_name"`
	RefereeCompany string `json:"referee_company"`
	RefereeDomain  string `json:"referee_domain"`
	RefereePhone   string `json:"referee_phone"`
	Message        string `json:"message"`
	// Optional ICP facts a form may collect.
	Country   string `json:"referee_country"`
	Industry  string `json:"industry"`
	Employees string `json:"company_size"`
	// Honeypot: a filled value means a bot; answer as if accepted, store nothing.
	Gotcha string `json:"_gotcha"`
}

// Fields lists the accepted field names (form decoding ignores others).
var Fields = []string{"program", "referrer_code", "referee_email", "referee_name",
	"referee_company", "referee_domain", "referee_phone", "message",
	"referee_country", "industry", "company_size", "_gotcha"}

// Field length limits.
const (
	maxShort   = 200
	maxEmail   = 254
	maxMessage = 2000
)

// FieldErrors maps a field name to what is wrong with it.
type FieldErrors map[string]string

// Normalize trims every field and lower-cases email, domain and program.
func (s *Submission) Normalize() {
	for _, p := range []*string{&s.Program, &s.ReferrerCode, &s.RefereeEmail, &s.RefereeName,
		&s.RefereeCompany, &s.RefereeDomain, &s.RefereePhone, &s.Message,
		&s.Country, &s.Industry, &s.Employees} {
		*p = strings.TrimSpace(*p)
	}
	s.RefereeEmail = strings.ToLower(s.RefereeEmail)
	s.Program = strings.ToLower(s.Program)
	d := strings.ToLower(s.RefereeDomain)
	d = strings.TrimPrefix(strings.TrimPrefix(d, "https://"), "http://")
	d = strings.TrimPrefix(d, "www.")
	if i := strings.IndexAny(d, "/?#"); i >= 0 {
		d = d[:i]
	}
	s.RefereeDomain = strings.TrimSuffix(d, ".")
	s.Country = strings.ToUpper(s.Country)
}

// Validate returns every problem with the submission, by field; nil when
// it is valid. Call Normalize first.
func (s *Submission) Validate() FieldErrors {
	errs := FieldErrors{}
	need := func(field, v string) bool {
		if v == "" {
			errs[field] = "is required"
			return false
		}
		return true
	}
	tooLong := func(field, v string, n int) {
		if utf8.RuneCountInString(v) > n {
			errs[field] = "is too long (at most " + strconv.Itoa(n) + " characters)"
		}
	}
	if need("referrer_code", s.ReferrerCode) {
		if len(s.ReferrerCode) > 64 || strings.ContainsAny(s.ReferrerCode, " \t\r\n/") {
			errs["referrer_code"] = "is not a referral code"
		}
	}
	if need("referee_email", s.RefereeEmail) {
		if !ValidEmail(s.RefereeEmail) {
			errs["referee_email"] = "is not an email address"
		}
	}
	if need("referee_company", s.RefereeCompany) {
		tooLong("referee_company", s.RefereeCompany, maxShort)
	}
	if s.RefereeDomain != "" && !ValidDomain(s.RefereeDomain) {
		errs["referee_domain"] = "is not a domain name"
	}
	if s.Program != "" && !validProgramID(s.Program) {
		errs["program"] = "is not a program id"
	}
	tooLong("referee_name", s.RefereeName, maxShort)
	tooLong("referee_phone", s.RefereePhone, 40)
	tooLong("message", s.Message, maxMessage)
	tooLong("industry", s.Industry, maxShort)
	if s.Country != "" && (len(s.Country) != 2 || !isUpperAlpha(s.Country)) {
		errs["referee_country"] = "must be a two-letter country code"
	}
	if s.Employees != "" {
		if n, err := strconv.Atoi(s.Employees); err != nil || n < 1 {
			errs["company_size"] = "must be a whole number of employees"
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// EmployeeCount is the parsed company size (0 when absent or invalid).
func (s *Submission) EmployeeCount() int {
	n, _ := strconv.Atoi(s.Employees)
	return n
}

// ValidEmail reports whether s is a plain address (no display name) with a
// dotted domain.
func ValidEmail(s string) bool {
	if len(s) > maxEmail {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && ValidDomain(s[at+1:])
}

// ValidDomain reports whether s is a DNS name with at least two labels.
func ValidDomain(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// EmailDomain returns the domain part of an email address.
func EmailDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(email[at+1:])
}

func validProgramID(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isUpperAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
