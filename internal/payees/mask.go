package payees

import "strings"

// Shown is how many characters at most Mask leaves visible at the end of
// a detail.
const Shown = 4

// Mask returns p with every detail masked but its last characters (Shown
// at most, and never more than half of the value), so an operator can
// recognise a payee without reading it: "acct_1AbCdEfGh" is
// "**********EfGh". The country is shown whole: it names no one.
func Mask(p Payee) Payee {
	d := &p.Details
	for _, f := range []*string{&d.Account, &d.Customer, &d.Email, &d.PayerID, &d.Name, &d.AccountHolder,
		&d.IBAN, &d.BIC, &d.AccountNumber, &d.RoutingCode} {
		*f = maskValue(*f)
	}
	return p
}

// maskValue hides all of v but its last min(Shown, len/2) characters,
// keeping its length.
func maskValue(v string) string {
	r := []rune(v)
	keep := min(Shown, len(r)/2)
	return strings.Repeat("*", len(r)-keep) + string(r[len(r)-keep:])
}
