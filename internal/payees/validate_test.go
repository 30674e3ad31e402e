package payees

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestValidIBAN(t *testing.T) {
	for _, c := range []struct {
		iban string
		ok   bool
	}{
		{"DE89370400440532013000", true},
		{"GB82WEST12345698765432", true},
		{"FR1420041010050500013M02606", true},
		{"NL91ABNA0417164300", true},
		{"BE68539007547034", true},
		{"NO9386011117947", true},
		{"MT84MALT011000012345MTLCAST001S", true},
		{"DE89370400440532013001", false}, // one digit off: the check digits fail
		{"DE88370400440532013000", false}, // wrong check digits
		{"GB82WEST1234569876543", false},  // one character short for GB
		{"DE8937040044053201300", false},  // one character short for DE
		{"XX12ABCD", false},               // too short
		{"D589370400440532013000", false}, // no country
		{"de89370400440532013000", false}, // not normalized
		{"", false},
	} {
		if got := ValidIBAN(c.iban); got != c.ok {
			t.Errorf("ValidIBAN(%q) = %v, want %v", c.iban, got, c.ok)
		}
	}
}

func TestValidBIC(t *testing.T) {
	for _, c := range []struct {
		bic string
		ok  bool
	}{
		{"DEUTDEFF", true}, {"DEUTDEFF500", true}, {"COBADEFFXXX", true}, {"NWBKGB2L", true},
		{"DEUTDEF", false}, {"DEUTDEFF50", false}, {"DEU1DEFF", false}, {"DEUTD1FF", false}, {"DEUTDEFF5000", false}, {"", false},
	} {
		if got := ValidBIC(c.bic); got != c.ok {
			t.Errorf("ValidBIC(%q) = %v, want %v", c.bic, got, c.ok)
		}
	}
}

func TestValidRoutingNumber(t *testing.T) {
	for _, c := range []struct {
		n  string
		ok bool
	}{
		{"011000015", true}, {"021000021", true}, {"121000358", true},
		{"021000022", false}, {"02100002", false}, {"0210000211", false}, {"02100002A", false},
	} {
		if got := ValidRoutingNumber(c.n); got != c.ok {
			t.Errorf("ValidRoutingNumber(%q) = %v, want %v", c.n, got, c.ok)
		}
	}
}

// Check normalizes a valid payee and names every wrong field of an
// invalid one, never echoing the values.
func TestCheck(t *testing.T) {
	cases := []struct {
		name  string
		whose string
		in    Payee
		want  Payee             // the normalized payee, when valid
		errs  map[string]string // the fields named, with "" for any message
	}{
		{name: "stripe account", whose: Partner, in: Payee{Method: " Stripe ", Details: Details{Account: " acct_1AbCdEfGh "}},
			want: Payee{Method: MethodStripe, Details: Details{Account: "acct_1AbCdEfGh"}}},
		{name: "stripe account and customer", whose: Partner, in: Payee{Method: "stripe", Details: Details{Account: "acct_1", Customer: "cus_2"}},
			want: Payee{Method: MethodStripe, Details: Details{Account: "acct_1", Customer: "cus_2"}}},
		{name: "stripe without account", whose: Partner, in: Payee{Method: "stripe", Details: Details{Customer: "cus_2"}},
			errs: map[string]string{"details.account": ""}},
		{name: "stripe account malformed", whose: Partner, in: Payee{Method: "stripe", Details: Details{Account: "acc_1AbC"}},
			errs: map[string]string{"details.account": ""}},
		{name: "stripe account with a space", whose: Partner, in: Payee{Method: "stripe", Details: Details{Account: "acct_1 AbC"}},
			errs: map[string]string{"details.account": ""}},
		{name: "referee customer", whose: Referee, in: Payee{Method: "stripe", Details: Details{Customer: "cus_NffrFeUfNV2Hib"}},
			want: Payee{Method: MethodStripe, Details: Details{Customer: "cus_NffrFeUfNV2Hib"}}},
		{name: "referee without customer", whose: Referee, in: Payee{Method: "stripe"},
			errs: map[string]string{"details.customer": ""}},
		{name: "referee with an account", whose: Referee, in: Payee{Method: "stripe", Details: Details{Customer: "cus_1", Account: "acct_1"}},
			errs: map[string]string{"details.account": ""}},
		{name: "referee customer malformed", whose: Referee, in: Payee{Method: "stripe", Details: Details{Customer: "acct_1"}},
			errs: map[string]string{"details.customer": ""}},
		{name: "referee manual", whose: Referee, in: Payee{Method: "manual"}, errs: map[string]string{"method": ""}},
		{name: "paypal email", whose: Partner, in: Payee{Method: "paypal", Details: Details{Email: " Ann@Agency.Example "}},
			want: Payee{Method: MethodPayPal, Details: Details{Email: "ann@agency.example"}}},
		{name: "paypal payer id", whose: Partner, in: Payee{Method: "paypal", Details: Details{PayerID: "lhemvbz8gewjn"}},
			want: Payee{Method: MethodPayPal, Details: Details{PayerID: "LHEMVBZ8GEWJN"}}},
		{name: "paypal neither", whose: Partner, in: Payee{Method: "paypal"}, errs: map[string]string{"details.email": ""}},
		{name: "paypal both", whose: Partner, in: Payee{Method: "paypal", Details: Details{Email: "a@b.example", PayerID: "LHEMVBZ8GEWJN"}},
			errs: map[string]string{"details.payer_id": ""}},
		{name: "paypal bad email", whose: Partner, in: Payee{Method: "paypal", Details: Details{Email: "ann@"}}, errs: map[string]string{"details.email": ""}},
		{name: "paypal bad payer id", whose: Partner, in: Payee{Method: "paypal", Details: Details{PayerID: "LHEMVBZ8GEWJ"}}, errs: map[string]string{"details.payer_id": ""}},
		{name: "gift card", whose: Partner, in: Payee{Method: "gift_card", Details: Details{Name: " Ann Lee ", Email: "ANN@agency.example"}},
			want: Payee{Method: MethodGiftCard, Details: Details{Name: "Ann Lee", Email: "ann@agency.example"}}},
		{name: "gift card without name or email", whose: Partner, in: Payee{Method: "gift_card"},
			errs: map[string]string{"details.name": "", "details.email": ""}},
		{name: "gift card with an account", whose: Partner, in: Payee{Method: "gift_card", Details: Details{Name: "Ann", Email: "a@b.example", Account: "acct_1"}},
			errs: map[string]string{"details.account": ""}},
		{name: "gift card name with a control character", whose: Partner, in: Payee{Method: "gift_card", Details: Details{Name: "Ann\x00", Email: "a@b.example"}},
			errs: map[string]string{"details.name": ""}},
		{name: "iban", whose: Partner, in: Payee{Method: "manual", Details: Details{AccountHolder: "Ann Lee", IBAN: "de89 3704 0044 0532 0130 00", BIC: "cobadeffxxx"}},
			want: Payee{Method: MethodManual, Details: Details{AccountHolder: "Ann Lee", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"}}},
		{name: "iban with its country", whose: Partner, in: Payee{Method: "manual", Details: Details{AccountHolder: "Ann", IBAN: "DE89370400440532013000", BIC: "COBADEFF", Country: "de"}},
			want: Payee{Method: MethodManual, Details: Details{AccountHolder: "Ann", IBAN: "DE89370400440532013000", BIC: "COBADEFF", Country: "DE"}}},
		{name: "iban with another country", whose: Partner, in: Payee{Method: "manual", Details: Details{AccountHolder: "Ann", IBAN: "DE89370400440532013000", BIC: "COBADEFF", Country: "FR"}},
			errs: map[string]string{"details.country": ""}},
		{name: "iban checksum", whose: Partner, in: Payee{Method: "manual", Details: Details{AccountHolder: "Ann", IBAN: "DE89370400440532013001", BIC: "COBADEFF"}},
			errs: map[string]string{"details.iban": ""}},
		{name: "iban without bic", whose: Partner, in: Payee{Method: "manual", Details: Details{AccountHolder: "Ann", IBAN: "DE89370400440532013000"}},
			errs: map[string]string{"details.bic": ""}},
		{name: "iban bad bic", whose: Partner, in: Payee{Method: "manual", Details: Details{AccountHolder: "Ann", IBAN: "DE89370400440532013000", BIC: "COBADEF"}},
			errs: map[string]string{"details.bic": ""}},
		{name: "iban and account number", whose: Partner, in: Payee{Method: "manual", Details: Details{AccountHolder: "Ann", IBAN: "DE89370400440532013000", BIC: "COBADEFF", AccountNumber: "12345678"}},
			errs: map[string]string{"details.account_number": ""}},
		{name: "no holder", whose: Partner, in: Payee{Method: "manual", Details: Details{IBAN: "DE89370400440532013000", BIC: "COBADEFF"}},
			errs: map[string]string{"details.account_holder": ""}},
		{name: "us account", whose: Partner, in: Payee{Method: "manual", Details: Details{AccountHolder: "Ann", AccountNumber: "000123456789", RoutingCode: "021000021", Country: "us"}},
			want: Payee{Method: MethodManual, Details: Details{AccountHolder: "Ann", AccountNumber: "000123456789", RoutingCode: "021000021", Country: "US"}}},
		{name: "us routing checksum", whose: Partner, in: Payee{Method: "manual", Details: Details{AccountHolder: "Ann", AccountNumber: "000123456789", RoutingCode: "021000022", Country: "US"}},
			errs: map[string]string{"details.routing_code": ""}},
		{name: "uk sort code", whose: Partner, in: Payee{Method: "manual", Details: Details{AccountHolder: "Ann", AccountNumber: "31926819", RoutingCode: "60-16-13", Country: "GB"}},
			want: Payee{Method: MethodManual, Details: Details{AccountHolder: "Ann", AccountNumber: "31926819", RoutingCode: "601613", Country: "GB"}}},
		{name: "uk sort code too long", whose: Partner, in: Payee{Method: "manual", Details: Details{AccountHolder: "Ann", AccountNumber: "31926819", RoutingCode: "6016131", Country: "GB"}},
			errs: map[string]string{"details.routing_code": ""}},
		{name: "account without routing or country", whose: Partner, in: Payee{Method: "manual", Details: Details{AccountHolder: "Ann", AccountNumber: "12"}},
			errs: map[string]string{"details.account_number": "", "details.routing_code": "", "details.country": ""}},
		{name: "no bank details", whose: Partner, in: Payee{Method: "manual", Details: Details{AccountHolder: "Ann"}},
			errs: map[string]string{"details.iban": ""}},
		{name: "no method", whose: Partner, in: Payee{}, errs: map[string]string{"method": ""}},
		{name: "unknown method", whose: Partner, in: Payee{Method: "wire"}, errs: map[string]string{"method": ""}},
		{name: "unknown owner", whose: "someone", in: Payee{Method: "stripe"}, errs: map[string]string{"payee": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Check(c.whose, c.in)
			if c.errs == nil {
				if err != nil || got != c.want {
					t.Fatalf("Check = %+v, %v; want %+v", got, err, c.want)
				}
				return
			}
			var inv *Invalid
			if !errors.As(err, &inv) {
				t.Fatalf("Check = %v, want *Invalid", err)
			}
			names := map[string]string{}
			for f, msg := range inv.Fields {
				names[f] = ""
				for _, v := range fields(c.in.Details) {
					if len(v) > 3 && strings.Contains(msg, v) {
						t.Errorf("the message of %s repeats a value: %q", f, msg)
					}
				}
			}
			if !reflect.DeepEqual(names, c.errs) {
				t.Fatalf("fields %v, want %v", inv.Fields, c.errs)
			}
		})
	}
}

func TestInvalidErrorListsFieldsInOrder(t *testing.T) {
	err := &Invalid{Fields: map[string]string{"details.name": "is required", "details.email": "is required"}}
	if got := err.Error(); got != "payees: invalid: details.email is required; details.name is required" {
		t.Fatalf("Error() = %q", got)
	}
}
