package payees

import (
	"regexp"

	"github.com/referflow/referflow/internal/referral"
)

// ibanLength is the length of an IBAN in the countries of the SWIFT IBAN
// registry Referflow checks exactly; an IBAN of another country is checked
// for its form (15 to 34 characters) and checksum.
var ibanLength = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
	"BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
	"ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
	"HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
	"LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27,
	"MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24,
	"RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23,
	"TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

var (
	ibanForm    = regexp.MustCompile(`^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$`)
	bicForm     = regexp.MustCompile(`^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$`)
	countryForm = regexp.MustCompile(`^[A-Z]{2}$`)
	accountForm = regexp.MustCompile(`^[A-Z0-9]{4,34}$`)
	routingForm = regexp.MustCompile(`^[A-Z0-9]{3,20}$`)
	digits      = regexp.MustCompile(`^[0-9]+$`)
)

// ValidIBAN reports whether s (upper case, no spaces) is an IBAN: its
// form, its country's length where known, and its ISO 7064 mod-97 check
// digits.
func ValidIBAN(s string) bool {
	if !ibanForm.MatchString(s) {
		return false
	}
	if n, ok := ibanLength[s[:2]]; ok && len(s) != n {
		return false
	}
	// Move the first four characters to the end, read letters as 10-35,
	// and the whole number must leave 1 when divided by 97.
	rem := 0
	for _, c := range s[4:] + s[:4] {
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		default:
			rem = (rem*100 + int(c-'A') + 10) % 97
		}
	}
	return rem == 1
}

// ValidBIC reports whether s (upper case) is a BIC (ISO 9362): a 4-letter
// institution, a 2-letter country, a 2-character location and an
// optional 3-character branch: 8 or 11 characters.
func ValidBIC(s string) bool { return bicForm.MatchString(s) }

// ValidRoutingNumber reports whether s is a US ABA routing number: nine
// digits whose weighted sum (3, 7, 1) is a multiple of 10.
func ValidRoutingNumber(s string) bool {
	if len(s) != 9 || !digits.MatchString(s) {
		return false
	}
	sum := 0
	for i, c := range s {
		sum += int(c-'0') * [3]int{3, 7, 1}[i%3]
	}
	return sum%10 == 0
}

// checkBank adds to errs what is wrong with manual bank details: an IBAN
// and a BIC, or an account number, a routing code and a country.
func checkBank(d Details, errs referral.FieldErrors) {
	if d.IBAN != "" {
		if d.AccountNumber != "" || d.RoutingCode != "" {
			errs["details.account_number"] = "must be empty when details.iban is given (an IBAN, or an account number and routing code)"
		}
		if !ValidIBAN(d.IBAN) {
			errs["details.iban"] = "is not a valid IBAN (its length or check digits are wrong)"
		} else if d.Country != "" && d.Country != d.IBAN[:2] {
			errs["details.country"] = "must be the IBAN's country"
		}
		switch {
		case d.BIC == "":
			errs["details.bic"] = "is required with an IBAN"
		case !ValidBIC(d.BIC):
			errs["details.bic"] = "must be a BIC of 8 or 11 letters and digits"
		}
		return
	}
	if d.AccountNumber == "" {
		errs["details.iban"] = "is required (or details.account_number, details.routing_code and details.country)"
		return
	}
	if !accountForm.MatchString(d.AccountNumber) {
		errs["details.account_number"] = "must be 4 to 34 letters and digits"
	}
	if d.BIC != "" && !ValidBIC(d.BIC) {
		errs["details.bic"] = "must be a BIC of 8 or 11 letters and digits"
	}
	if !countryForm.MatchString(d.Country) {
		errs["details.country"] = "must be the bank's two-letter country code"
	}
	checkRouting(d, errs)
}

// checkRouting checks the routing code where the country's form is known:
// a US ABA routing number, a GB sort code.
func checkRouting(d Details, errs referral.FieldErrors) {
	const field = "details.routing_code"
	switch {
	case d.RoutingCode == "":
		errs[field] = "is required with an account number (routing number, sort code, bank code)"
	case d.Country == "US" && !ValidRoutingNumber(d.RoutingCode):
		errs[field] = "must be a US routing number: 9 digits with a valid checksum"
	case d.Country == "GB" && (len(d.RoutingCode) != 6 || !digits.MatchString(d.RoutingCode)):
		errs[field] = "must be a UK sort code: 6 digits"
	case !routingForm.MatchString(d.RoutingCode):
		errs[field] = "must be 3 to 20 letters and digits"
	}
}
