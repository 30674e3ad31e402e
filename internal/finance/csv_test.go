package finance

import (
	"bytes"
	"context"
	"encoding/csv"
	"testing"

	"github.com/referflow/referflow/internal/payees"
)

func TestSafeCell(t *testing.T) {
	tests := map[string]string{
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1": "'+1", "-2+3": "'-2+3", "@SUM(A1)": "'@SUM(A1)",
		"\tx": "'\tx", "\rx": "'\rx", "Ann Lee": "Ann Lee", "": "", "a=b": "a=b", "DE89370400440532013000": "DE89370400440532013000",
	}
	for in, want := range tests {
		if got := SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// The CSV has one line per entry with the payee's name, email, method and
// details, the amount with its currency's decimals, and the reference; a
// payee without a payout method still gets its line; formulas are
// defused.
func TestBatchCSV(t *testing.T) {
	for _, tc := range []struct {
		currency string
		minor    int64
		amount   string
	}{{"USD", 12345, "123.45"}, {"JPY", 5000, "5000"}, {"BHD", 1250, "1.250"}, {"USD", 5, "0.05"}} {
		t.Run(tc.currency+tc.amount, func(t *testing.T) {
			m := newMem()
			m.add(entry("rw_bank", "p1", tc.currency, "manual", "cash", tc.minor, "2026-11"))
			m.add(entry("rw_us", "p1", tc.currency, "manual", "cash", tc.minor, "2026-11"))
			m.add(entry("rw_pp", "p1", tc.currency, "ledger", "cash", tc.minor, "2026-11"))
			m.add(entry("rw_none", "p1", tc.currency, "manual", "cash", tc.minor, "2026-11"))
			s := newService(m)
			s.Payees = memPayees{
				payees: map[string]payees.Payee{
					"ref_rw_bank": {Method: payees.MethodManual, Details: payees.Details{AccountHolder: "=cmd|' /C calc'!A0", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"}},
					"ref_rw_us":   {Method: payees.MethodManual, Details: payees.Details{AccountHolder: "Bob Roe", AccountNumber: "000123456789", RoutingCode: "011000015", Country: "US"}},
					"ref_rw_pp":   {Method: payees.MethodPayPal, Details: payees.Details{Email: "cat@pay.example"}},
				},
				contacts: map[string]Contact{"ref_rw_bank": {Name: "Ann", Email: "@ann@x.example"}, "ref_rw_us": {Name: "Bob", Email: "bob@x.example"},
					"ref_rw_pp": {Name: "+Cat", Email: "cat@x.example"}, "ref_rw_none": {Name: "Dee", Email: "dee@x.example"}},
			}
			b, err := s.CreateBatch(context.Background(), "p1", tc.currency, "", "admin")
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := s.WriteCSV(context.Background(), b.ID, &out); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(&out).ReadAll()
			if err != nil || len(rows) != 5 {
				t.Fatalf("rows %v, %v", rows, err)
			}
			col := map[string]int{}
			for i, h := range rows[0] {
				col[h] = i
			}
			byRef := map[string][]string{}
			for _, r := range rows[1:] {
				byRef[r[col["reference"]]] = r
				if r[col["amount"]] != tc.amount || r[col["currency"]] != tc.currency || r[col["batch_id"]] != b.ID {
					t.Errorf("amount %q %q in %v", r[col["amount"]], r[col["currency"]], r)
				}
			}
			check := func(ref, field, want string) {
				t.Helper()
				if got := byRef[ref][col[field]]; got != want {
					t.Errorf("%s %s = %q, want %q", ref, field, got, want)
				}
			}
			check("rw_bank", "payee_name", "'=cmd|' /C calc'!A0")
			check("rw_bank", "account_holder", "'=cmd|' /C calc'!A0")
			check("rw_bank", "payee_email", "'@ann@x.example")
			check("rw_bank", "iban", "DE89370400440532013000")
			check("rw_bank", "bic", "COBADEFFXXX")
			check("rw_bank", "method", "manual")
			check("rw_bank", "payout_method_status", "")
			check("rw_us", "account_number", "000123456789")
			check("rw_us", "routing_code", "011000015")
			check("rw_us", "country", "US")
			check("rw_pp", "method", "paypal")
			check("rw_pp", "paypal_email", "cat@pay.example")
			check("rw_pp", "payee_name", "'+Cat")
			check("rw_pp", "entry_id", "rw_pp:payable")
			check("rw_none", "payee_name", "Dee")
			check("rw_none", "method", "")
			check("rw_none", "iban", "")
			check("rw_none", "payout_method_status", NoPayoutMethod)
		})
	}
}
