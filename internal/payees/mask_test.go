package payees

import "testing"

func TestMaskShowsOnlyTheLastCharacters(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"acct_1AbCdEfGh", "**********EfGh"},
		{"DE89370400440532013000", "******************3000"},
		{"ann@agency.example", "**************mple"},
		{"Ann Lee", "****Lee"}, // short: at most half shown
		{"Ann", "**n"},
		{"A", "*"},
		{"", ""},
		{"Zoë Ünal", "****Ünal"}, // characters, not bytes
	} {
		if got := maskValue(c.in); got != c.want {
			t.Errorf("maskValue(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	p := Mask(Payee{Method: MethodManual, Details: Details{AccountHolder: "Ann Lee", AccountNumber: "000123456789", RoutingCode: "021000021", Country: "US"}})
	want := Payee{Method: MethodManual, Details: Details{AccountHolder: "****Lee", AccountNumber: "********6789", RoutingCode: "*****0021", Country: "US"}}
	if p != want {
		t.Fatalf("Mask = %+v, want %+v", p, want)
	}
	every := Details{Account: "acct_12345678", Customer: "cus_12345678", Email: "a@bcdefgh.io", PayerID: "LHEMVBZ8GEWJN", Name: "Ann Lee-Smith",
		AccountHolder: "Ann Lee-Smith", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX", AccountNumber: "000123456789", RoutingCode: "021000021"}
	masked := fields(Mask(Payee{Details: every}).Details)
	for f, orig := range fields(every) {
		if v := masked[f]; f != "country" && (v == orig || len([]rune(v)) != len([]rune(orig))) {
			t.Errorf("%s masked %q from %q", f, v, orig)
		}
	}
}
