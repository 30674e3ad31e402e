package crm

import (
	"reflect"
	"strings"
	"testing"
)

// Amounts are exact: no float64 on the way (0.29 is 28.999... in float64).
func TestParseMoney(t *testing.T) {
	tests := []struct {
		amount, currency string
		want             *Money
		wantErr          bool
	}{
		{"12500.50", "", &Money{Minor: 1250050}, false},
		{"12500.5", "usd", &Money{Minor: 1250050, Currency: "USD"}, false},
		{"0.1", "", &Money{Minor: 10}, false},
		{"0.29", "", &Money{Minor: 29}, false}, // 0.29*100 is 28.999... in float64
		{"1.005", "", &Money{Minor: 101}, false},
		{"-1.005", "", &Money{Minor: -101}, false},
		{"1.004", "", &Money{Minor: 100}, false},
		{"120000.0", "", &Money{Minor: 12000000}, false},
		{"1.5E+3", "", &Money{Minor: 150000}, false},
		{"1e-2", "", &Money{Minor: 1}, false},
		{"1234", "JPY", &Money{Minor: 1234, Currency: "JPY"}, false},
		{"1.2345", "KWD", &Money{Minor: 1235, Currency: "KWD"}, false},
		{".5", "", &Money{Minor: 50}, false},
		{"5.", "", &Money{Minor: 500}, false},
		{"", "", nil, false},
		{"92233720368547758.07", "", &Money{Minor: 9223372036854775807}, false},
		{"92233720368547758.08", "", nil, true},
		{"1e40", "", nil, true},
		{"1e999", "", nil, true},
		{"12,50", "", nil, true},
		{"abc", "", nil, true},
		{"-", "", nil, true},
		{".", "", nil, true},
		{"1e", "", nil, true},
		{"1.2.3", "", nil, true},
		{"NaN", "", nil, true},
		{strings.Repeat("9", 41), "", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseMoney(tt.amount, tt.currency)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseMoney(%q, %q) = %+v, %v; want %+v, err %v", tt.amount, tt.currency, got, err, tt.want, tt.wantErr)
		}
	}
}
