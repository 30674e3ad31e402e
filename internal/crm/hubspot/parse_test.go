package hubspot

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/money"
)

func parse(t *testing.T, body string) ([]crm.Event, error) {
	t.Helper()
	a := newAdapter(t, time.Now(), "x")
	return a.Parse(crm.Request{Method: "POST", Body: []byte(body)})
}

func TestParseBatch(t *testing.T) {
	occurred := time.UnixMilli(1556094637139).UTC()
	tests := []struct {
		name string
		body string
		want []crm.Event
	}{
		{
			name: "dealstage change (documented sample)",
			body: `[{"eventId":802835955,"subscriptionId":92894,"portalId":5799819,"appId":186886,"occurredAt":1556094637139,"subscriptionType":"deal.propertyChange","attemptNumber":0,"objectId":697680835,"propertyName":"dealstage","propertyValue":"closedwon","changeSource":"CRM_UI"}]`,
			want: []crm.Event{{Provider: "hubspot", ID: "802835955", Kind: crm.KindStageChanged, RecordID: "697680835", Stage: "closedwon", OccurredAt: occurred}},
		},
		{
			name: "pipeline change",
			body: `[{"eventId":2,"occurredAt":1556094637139,"subscriptionType":"deal.propertyChange","objectId":7,"propertyName":"pipeline","propertyValue":"12345"}]`,
			want: []crm.Event{{Provider: "hubspot", ID: "2", Kind: crm.KindStageChanged, RecordID: "7", Pipeline: "12345", OccurredAt: occurred}},
		},
		{
			name: "amount change is exact, currency unknown",
			body: `[{"eventId":3,"occurredAt":1556094637139,"subscriptionType":"deal.propertyChange","objectId":7,"propertyName":"amount","propertyValue":"12500.50"}]`,
			want: []crm.Event{{Provider: "hubspot", ID: "3", Kind: crm.KindAmountChanged, RecordID: "7", Amount: &money.Money{Minor: 1250050}, AmountText: "12500.50", OccurredAt: occurred}},
		},
		{
			name: "currency change carries no amount",
			body: `[{"eventId":4,"occurredAt":1556094637139,"subscriptionType":"deal.propertyChange","objectId":7,"propertyName":"deal_currency_code","propertyValue":"EUR"}]`,
			want: []crm.Event{{Provider: "hubspot", ID: "4", Kind: crm.KindAmountChanged, RecordID: "7", OccurredAt: occurred}},
		},
		{
			name: "referral property change gives a linking hint",
			body: `[{"eventId":5,"occurredAt":1556094637139,"subscriptionType":"deal.propertyChange","objectId":7,"propertyName":"referral_id","propertyValue":" ref_123 "}]`,
			want: []crm.Event{{Provider: "hubspot", ID: "5", Kind: crm.KindStageChanged, RecordID: "7", ReferralID: "ref_123", OccurredAt: occurred}},
		},
		{
			name: "creation and deletion",
			body: `[{"eventId":6,"occurredAt":1556094637139,"subscriptionType":"deal.creation","objectId":7},{"eventId":7,"occurredAt":1556094637139,"subscriptionType":"deal.deletion","objectId":7}]`,
			want: []crm.Event{
				{Provider: "hubspot", ID: "6", Kind: crm.KindCreated, RecordID: "7", OccurredAt: occurred},
				{Provider: "hubspot", ID: "7", Kind: crm.KindDeleted, RecordID: "7", OccurredAt: occurred},
			},
		},
		{
			name: "generic object.* subscriptions for deals (objectTypeId 0-3)",
			body: `[{"eventId":8,"occurredAt":1556094637139,"subscriptionType":"object.propertyChange","objectTypeId":"0-3","objectId":9,"propertyName":"dealstage","propertyValue":"appointmentscheduled"},{"eventId":9,"occurredAt":1556094637139,"subscriptionType":"object.creation","objectTypeId":"0-3","objectId":9},{"eventId":10,"occurredAt":1556094637139,"subscriptionType":"object.deletion","objectTypeId":"0-3","objectId":9}]`,
			want: []crm.Event{
				{Provider: "hubspot", ID: "8", Kind: crm.KindStageChanged, RecordID: "9", Stage: "appointmentscheduled", OccurredAt: occurred},
				{Provider: "hubspot", ID: "9", Kind: crm.KindCreated, RecordID: "9", OccurredAt: occurred},
				{Provider: "hubspot", ID: "10", Kind: crm.KindDeleted, RecordID: "9", OccurredAt: occurred},
			},
		},
		{
			name: "other objects and properties are ignored but keep their ids",
			body: `[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1556094637139,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321},{"eventId":11,"occurredAt":1556094637139,"subscriptionType":"object.propertyChange","objectTypeId":"0-1","objectId":5,"propertyName":"dealstage","propertyValue":"x"},{"eventId":12,"occurredAt":1556094637139,"subscriptionType":"deal.propertyChange","objectId":5,"propertyName":"dealname","propertyValue":"x"},{"eventId":13,"occurredAt":1556094637139,"subscriptionType":"deal.merge","objectId":5}]`,
			want: []crm.Event{
				{Provider: "hubspot", ID: "1", Kind: crm.KindIgnored, RecordID: "123", OccurredAt: occurred},
				{Provider: "hubspot", ID: "11", Kind: crm.KindIgnored, RecordID: "5", OccurredAt: occurred},
				{Provider: "hubspot", ID: "12", Kind: crm.KindIgnored, RecordID: "5", OccurredAt: occurred},
				{Provider: "hubspot", ID: "13", Kind: crm.KindIgnored, RecordID: "5", OccurredAt: occurred},
			},
		},
		{
			name: "one bad entry does not fail the others",
			body: `[{"eventId":"x"},{"eventId":20,"occurredAt":1556094637139,"subscriptionType":"deal.propertyChange","objectId":7,"propertyName":"amount","propertyValue":"12,5"},17,{"eventId":21,"occurredAt":1556094637139,"subscriptionType":"deal.propertyChange","objectId":7,"propertyName":"dealstage","propertyValue":"closedlost"}]`,
			want: []crm.Event{
				{Provider: "hubspot", ID: "entry-sha256:" + shortHash([]byte(`{"eventId":"x"}`)) + ":0", Kind: crm.KindIgnored},
				{Provider: "hubspot", ID: "20", Kind: crm.KindIgnored, RecordID: "7", OccurredAt: occurred},
				{Provider: "hubspot", ID: "entry-sha256:" + shortHash([]byte(`17`)) + ":2", Kind: crm.KindIgnored},
				{Provider: "hubspot", ID: "21", Kind: crm.KindStageChanged, RecordID: "7", Stage: "closedlost", OccurredAt: occurred},
			},
		},
		{
			name: "empty batch",
			body: ` [] `,
			want: []crm.Event{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(t, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseWorkflow(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		body string
		want crm.Event
	}{
		{
			name: "legacy workflow shape (properties.X.value)",
			body: `{"objectType":"DEAL","portalId":62515,"objectId":1234,"properties":{"dealstage":{"value":"closedwon","timestamp":1700000000000,"source":"CRM_UI","versions":[]},"pipeline":{"value":"default"},"amount":{"value":"12500.50"},"deal_currency_code":{"value":"eur"},"referral_id":{"value":"ref_9"},"dealname":{"value":"Acme"}},"isDeleted":false}`,
			want: crm.Event{Kind: crm.KindStageChanged, RecordID: "1234", Pipeline: "default", Stage: "closedwon", Amount: &money.Money{Minor: 1250050, Currency: "EUR"}, ReferralID: "ref_9", OccurredAt: time.UnixMilli(1700000000000).UTC()},
		},
		{
			name: "CRM v3 object shape (flat properties) with contact email",
			body: `{"id":"1234","properties":{"dealstage":"123456","pipeline":"987","amount":"99","deal_currency_code":"JPY","referral_id":null,"email":"Ann@Example.COM","hs_lastmodifieddate":"2024-05-01T10:00:00.000Z"}}`,
			want: crm.Event{Kind: crm.KindStageChanged, RecordID: "1234", Pipeline: "987", Stage: "123456", Amount: &money.Money{Minor: 99, Currency: "JPY"}, Email: "ann@example.com", OccurredAt: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		},
		{
			name: "customised flat body, numeric amount, custom property names",
			cfg:  Config{ReferralProperty: "ref_code", EmailProperty: "contact_email"},
			body: `{"hs_object_id":555,"dealstage":"closedwon","amount":1000.5,"ref_code":"R-1","contact_email":"b@c.io"}`,
			want: crm.Event{Kind: crm.KindStageChanged, RecordID: "555", Stage: "closedwon", Amount: &money.Money{Minor: 100050}, AmountText: "1000.5", ReferralID: "R-1", Email: "b@c.io"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.ClientSecrets = []string{"x"}
			a, err := New(cfg, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Parse(crm.Request{Body: []byte(tt.body)})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Provider = "hubspot"
			want.ID = "body-sha256:" + shortHash([]byte(tt.body))
			if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
			// The same body always yields the same dedupe id.
			again, _ := a.Parse(crm.Request{Body: []byte(tt.body)})
			if again[0].ID != got[0].ID {
				t.Fatal("workflow event id is not deterministic")
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	var many strings.Builder
	many.WriteString("[")
	for i := range MaxBatch + 1 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `{"eventId":%d,"subscriptionType":"deal.creation","objectId":1}`, i)
	}
	many.WriteString("]")
	tests := map[string]string{
		"empty":                 "",
		"whitespace":            "  \n",
		"string":                `"hello"`,
		"number":                `42`,
		"broken array":          `[{"eventId":1}`,
		"broken object":         `{"objectId":`,
		"too many events":       many.String(),
		"workflow without id":   `{"properties":{"dealstage":{"value":"x"}}}`,
		"workflow bad amount":   `{"objectId":1,"properties":{"amount":{"value":"12,50"}}}`,
		"properties not object": `{"objectId":1,"properties":[1]}`,
		"xml":                   `<xml/>`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parse(t, body)
			if !errors.Is(err, crm.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}
