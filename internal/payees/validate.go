package payees

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/referflow/referflow/internal/referral"
)

// MaxName is the longest name (recipient, account holder) accepted.
const MaxName = 200

var (
	stripeAccount  = regexp.MustCompile(`^acct_[A-Za-z0-9]{1,250}$`)
	stripeCustomer = regexp.MustCompile(`^cus_[A-Za-z0-9]{1,250}$`)
	payPalPayerID  = regexp.MustCompile(`^[A-Z0-9]{13}$`)
)

// Check normalizes p (trims every detail, lower-cases emails, upper-cases
// bank codes, removes the spaces and dashes people type in IBANs, account
// numbers and sort codes) and validates it as the payee of whose (Partner
// or Referee). It returns the normalized payee, or an *Invalid naming
// every wrong field; the messages never repeat the values.
func Check(whose string, p Payee) (Payee, error) {
	p = normalize(p)
	errs := referral.FieldErrors{}
	allowed, ok := Methods[whose]
	switch {
	case !ok:
		errs["payee"] = "must be a partner's or a referee's"
	case p.Method == "":
		errs["method"] = "is required"
	case !slices.Contains(allowed, p.Method):
		errs["method"] = "must be one of " + list(allowed)
	default:
		checkDetails(whose, p, errs)
	}
	if len(errs) > 0 {
		return p, &Invalid{Fields: errs}
	}
	return p, nil
}

func list(ms []Method) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

func normalize(p Payee) Payee {
	d := &p.Details
	p.Method = Method(strings.ToLower(strings.TrimSpace(string(p.Method))))
	for _, f := range []*string{&d.Account, &d.Customer, &d.Email, &d.PayerID, &d.Name, &d.AccountHolder,
		&d.IBAN, &d.BIC, &d.AccountNumber, &d.RoutingCode, &d.Country} {
		*f = strings.TrimSpace(*f)
	}
	d.Email = strings.ToLower(d.Email)
	d.PayerID = strings.ToUpper(d.PayerID)
	d.IBAN = strings.ToUpper(compact(d.IBAN))
	d.BIC = strings.ToUpper(strings.ReplaceAll(d.BIC, " ", ""))
	d.AccountNumber = strings.ToUpper(compact(d.AccountNumber))
	d.RoutingCode = strings.ToUpper(compact(d.RoutingCode))
	d.Country = strings.ToUpper(d.Country)
	return p
}

// compact drops the spaces and dashes people write bank numbers with.
func compact(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
}

// checkDetails adds to errs what is wrong with the details of p's method.
func checkDetails(whose string, p Payee, errs referral.FieldErrors) {
	d := p.Details
	var uses []string
	switch p.Method {
	case MethodStripe:
		uses = []string{"account", "customer"}
		checkStripe(whose, d, errs)
	case MethodPayPal:
		uses = []string{"email", "payer_id"}
		switch {
		case d.Email == "" && d.PayerID == "":
			errs["details.email"] = "is required (or details.payer_id)"
		case d.Email != "" && d.PayerID != "":
			errs["details.payer_id"] = "must be empty when details.email is given (one of them)"
		case d.Email != "" && !referral.ValidEmail(d.Email):
			errs["details.email"] = "is not an email address"
		case d.PayerID != "" && !payPalPayerID.MatchString(d.PayerID):
			errs["details.payer_id"] = "must be a PayPal payer id: 13 letters and digits"
		}
	case MethodGiftCard:
		uses = []string{"name", "email"}
		checkName("details.name", d.Name, errs)
		switch {
		case d.Email == "":
			errs["details.email"] = "is required"
		case !referral.ValidEmail(d.Email):
			errs["details.email"] = "is not an email address"
		}
	case MethodManual:
		uses = []string{"account_holder", "iban", "bic", "account_number", "routing_code", "country"}
		checkName("details.account_holder", d.AccountHolder, errs)
		checkBank(d, errs)
	}
	for field, v := range fields(d) {
		if v != "" && !slices.Contains(uses, field) {
			errs["details."+field] = "is not used by method " + string(p.Method)
		}
	}
}

func checkStripe(whose string, d Details, errs referral.FieldErrors) {
	if d.Account != "" && !stripeAccount.MatchString(d.Account) {
		errs["details.account"] = "must be a Stripe connected account id (acct_...)"
	}
	if d.Customer != "" && !stripeCustomer.MatchString(d.Customer) {
		errs["details.customer"] = "must be a Stripe customer id (cus_...)"
	}
	switch {
	case whose == Partner && d.Account == "":
		errs["details.account"] = "is required: the partner's Stripe connected account id (acct_...)"
	case whose == Referee && d.Customer == "":
		errs["details.customer"] = "is required: the new customer's Stripe customer id (cus_...)"
	case whose == Referee && d.Account != "":
		errs["details.account"] = "is not used for a referee (a Stripe customer gets credits and discounts)"
	}
}

func checkName(field, v string, errs referral.FieldErrors) {
	switch {
	case v == "":
		errs[field] = "is required"
	case utf8.RuneCountInString(v) > MaxName:
		errs[field] = "is too long (at most 200 characters)"
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		errs[field] = "must not contain control characters"
	}
}

// fields are the details by their JSON names.
func fields(d Details) map[string]string {
	return map[string]string{
		"account": d.Account, "customer": d.Customer, "email": d.Email, "payer_id": d.PayerID, "name": d.Name,
		"account_holder": d.AccountHolder, "iban": d.IBAN, "bic": d.BIC, "account_number": d.AccountNumber,
		"routing_code": d.RoutingCode, "country": d.Country,
	}
}
