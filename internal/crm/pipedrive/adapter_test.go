package pipedrive

import (
	"encoding/base64"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/money"
)

const refKey = "dcf558aac1ae4e8c4f849ba5e668430d8df9be12"

func newAdapter(t testing.TB) *Adapter {
	t.Helper()
	a, err := New(Config{
		Credentials:   []Credential{{User: "referflow", Password: "s3cret"}, {User: "rotated", Password: "old-pass"}},
		ReferralField: refKey,
		EmailField:    "emailfieldkey",
	}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthenticate(t *testing.T) {
	a := newAdapter(t)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name string
		auth string
		ok   bool
	}{
		{"valid", BasicAuth("referflow", "s3cret"), true},
		{"previous credential during rotation", BasicAuth("rotated", "old-pass"), true},
		{"lower-case scheme", "basic " + b64("referflow:s3cret"), true},
		{"missing header", "", false},
		{"wrong password", BasicAuth("referflow", "s3cret!"), false},
		{"wrong user", BasicAuth("admin", "s3cret"), false},
		{"user and password of different credentials", BasicAuth("referflow", "old-pass"), false},
		{"empty password", BasicAuth("referflow", ""), false},
		{"no colon", "Basic " + b64("referflows3cret"), false},
		{"bad base64", "Basic %%%", false},
		{"bearer", "Bearer s3cret", false},
		{"scheme only", "Basic", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.auth != "" {
				h.Set("Authorization", tt.auth)
			}
			err := a.Authenticate(crm.Request{Method: "POST", Headers: h, Body: []byte(`{}`)})
			if tt.ok && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !tt.ok && !errors.Is(err, crm.ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
		})
	}
	// Passwords may contain colons: only the first one separates.
	c, err := New(Config{Credentials: []Credential{{User: "u", Password: "a:b"}}}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"authorization": {BasicAuth("u", "a:b")}} // raw lower-case key
	if err := c.Authenticate(crm.Request{Headers: h}); err != nil {
		t.Fatalf("colon password: %v", err)
	}
}

func TestParse(t *testing.T) {
	ts := time.Unix(1727447128, 0).UTC()
	tests := []struct {
		name string
		body string
		want crm.Event
	}{
		{
			name: "v2 won (documented shape)",
			body: `{"meta":{"action":"change","entity":"deal","version":"2.0","company_id":12882925,"id":"b4ef1a1c-6c38-4a0e-9f9b-0a7d0c1c2d3e","entity_id":1,"webhook_id":"99","attempt":1,"host":"company.pipedrive.com","timestamp":1727447128,"change_source":"app"},"data":{"id":1,"title":"test deal","value":12500.5,"currency":"EUR","status":"won","stage_id":4,"pipeline_id":1,"person_id":3,"org_id":2,"custom_fields":{"` + refKey + `":{"type":"varchar","value":"ref_42"},"emailfieldkey":"Ann@Example.com"},"update_time":"2024-09-27T14:25:28Z"},"previous":{"status":"open"}}`,
			want: crm.Event{ID: "b4ef1a1c-6c38-4a0e-9f9b-0a7d0c1c2d3e", Kind: crm.KindStageChanged, RecordID: "1", Pipeline: "1", Stage: "4", Status: crm.StatusWon, Amount: &money.Money{Minor: 1250050, Currency: "EUR"}, OccurredAt: ts, ReferralID: "ref_42", Email: "ann@example.com"},
		},
		{
			name: "v2 numeric meta.id, plain custom field, no previous",
			body: `{"meta":{"action":"create","entity":"deal","version":"2.0","id":7,"timestamp":"1727447128"},"data":{"id":9,"value":0,"currency":"JPY","status":"open","stage_id":1,"pipeline_id":2,"custom_fields":{"` + refKey + `":"ref_9"}},"previous":null}`,
			want: crm.Event{ID: "7", Kind: crm.KindCreated, RecordID: "9", Pipeline: "2", Stage: "1", Status: crm.StatusOpen, Amount: &money.Money{Currency: "JPY"}, OccurredAt: ts, ReferralID: "ref_9"},
		},
		{
			name: "v2 amount-only change",
			body: `{"meta":{"action":"change","entity":"deal","version":"2.0","id":"e1","timestamp":1727447128},"data":{"id":9,"value":"100","currency":"USD","status":"open","stage_id":1,"pipeline_id":2},"previous":{"value":50}}`,
			want: crm.Event{ID: "e1", Kind: crm.KindAmountChanged, RecordID: "9", Pipeline: "2", Stage: "1", Status: crm.StatusOpen, Amount: &money.Money{Minor: 10000, Currency: "USD"}, OccurredAt: ts},
		},
		{
			name: "v2 delete carries the deal in previous",
			body: `{"meta":{"action":"delete","entity":"deal","version":"2.0","id":"e2","entity_id":"9","timestamp":1727447128},"data":null,"previous":{"id":9,"status":"open","stage_id":1,"pipeline_id":2,"value":null}}`,
			want: crm.Event{ID: "e2", Kind: crm.KindDeleted, RecordID: "9", Pipeline: "2", Stage: "1", Status: crm.StatusOpen, OccurredAt: ts},
		},
		{
			name: "v2 status deleted",
			body: `{"meta":{"action":"change","entity":"deal","version":"2.0","id":"e3","timestamp":1727447128},"data":{"id":9,"status":"deleted","stage_id":1,"pipeline_id":2}}`,
			want: crm.Event{ID: "e3", Kind: crm.KindDeleted, RecordID: "9", Pipeline: "2", Stage: "1", OccurredAt: ts},
		},
		{
			name: "v2 person is ignored",
			body: `{"meta":{"action":"change","entity":"person","version":"2.0","id":"e4","entity_id":3,"timestamp":1727447128},"data":{"id":3,"name":"Ann"}}`,
			want: crm.Event{ID: "e4", Kind: crm.KindIgnored, OccurredAt: ts},
		},
		{
			name: "legacy v1 updated.deal",
			body: `{"v":1,"matches_filters":{"current":[]},"meta":{"v":1,"action":"updated","object":"deal","id":9,"company_id":1,"user_id":2,"host":"acme.pipedrive.com","timestamp":1727447128,"timestamp_micro":1727447128384700,"permitted_user_ids":[2],"trans_pending":false,"is_bulk_update":false,"webhook_id":"12"},"current":{"id":9,"status":"lost","stage_id":5,"pipeline_id":1,"value":1999.99,"currency":"GBP","` + refKey + `":"ref_v1","update_time":"2024-09-27 14:25:28"},"previous":{"status":"open","stage_id":4},"event":"updated.deal","retry":0}`,
			want: crm.Event{ID: "v1:deal:9:updated:1727447128384700", Kind: crm.KindStageChanged, RecordID: "9", Pipeline: "1", Stage: "5", Status: crm.StatusLost, Amount: &money.Money{Minor: 199999, Currency: "GBP"}, OccurredAt: ts, ReferralID: "ref_v1"},
		},
		{
			name: "legacy v1 deleted.deal",
			body: `{"v":1,"meta":{"v":1,"action":"deleted","object":"deal","id":9,"timestamp":1727447128},"current":null,"previous":{"id":9,"status":"open","stage_id":4,"pipeline_id":1},"event":"deleted.deal"}`,
			want: crm.Event{ID: "v1:deal:9:deleted:1727447128", Kind: crm.KindDeleted, RecordID: "9", Pipeline: "1", Stage: "4", Status: crm.StatusOpen, OccurredAt: ts},
		},
		{
			name: "legacy v1 other object ignored",
			body: `{"meta":{"action":"added","object":"note","id":5,"timestamp":1727447128},"current":{"id":5},"event":"added.note"}`,
			want: crm.Event{ID: "v1:note:5:added:1727447128", Kind: crm.KindIgnored, OccurredAt: ts},
		},
	}
	a := newAdapter(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Parse(crm.Request{Body: []byte(tt.body)})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Provider = "pipedrive"
			if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
	}
	// No meta.id: a hash of the body, stable across calls.
	body := []byte(`{"meta":{"action":"change","entity":"deal","version":"2.0"},"data":{"id":1,"stage_id":2}}`)
	e1, err := a.Parse(crm.Request{Body: body})
	if err != nil {
		t.Fatal(err)
	}
	e2, _ := a.Parse(crm.Request{Body: body})
	if e1[0].ID == "" || e1[0].ID != e2[0].ID || e1[0].ID[:12] != "body-sha256:" {
		t.Fatalf("ids %q %q", e1[0].ID, e2[0].ID)
	}
}

func TestParseMalformed(t *testing.T) {
	a := newAdapter(t)
	tests := map[string]string{
		"empty":          ``,
		"array":          `[{"meta":{}}]`,
		"string":         `"x"`,
		"no action":      `{"meta":{"entity":"deal"},"data":{"id":1}}`,
		"broken":         `{"meta":`,
		"trailing data":  `{"meta":{"action":"change","entity":"deal"}} {}`,
		"bad value":      `{"meta":{"action":"change","entity":"deal","version":"2.0","id":"x"},"data":{"id":1,"value":"lots"}}`,
		"data not deal":  `{"meta":{"action":"change","entity":"deal","version":"2.0","id":"x"},"data":[1]}`,
		"non-numeric id": `{"meta":{"action":"change","entity":"deal","version":"2.0","id":"x"},"data":{"id":"abc"}}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := a.Parse(crm.Request{Body: []byte(body)}); !errors.Is(err, crm.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Config{}, time.Now); err == nil {
		t.Error("no credentials accepted")
	}
	if _, err := New(Config{Credentials: []Credential{{User: "u"}}}, time.Now); err == nil {
		t.Error("empty password accepted")
	}
	if _, err := New(Config{Credentials: []Credential{{User: "u", Password: "p"}}}, nil); err == nil {
		t.Error("nil clock accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"meta":{"action":"change","entity":"deal","version":"2.0","id":"b4ef","entity_id":1,"timestamp":1727447128},"data":{"id":1,"value":2,"currency":"USD","status":"won","stage_id":4,"pipeline_id":1,"custom_fields":{"` + refKey + `":{"type":"varchar","value":"r"}}},"previous":{"status":"open"}}`))
	f.Add([]byte(`{"v":1,"meta":{"action":"updated","object":"deal","id":9,"timestamp":1},"current":{"id":9,"` + refKey + `":"x"},"event":"updated.deal"}`))
	f.Add([]byte(`{"meta":{"action":"delete","entity":"deal"},"data":null,"previous":{"id":1}}`))
	a := newAdapter(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := a.Parse(crm.Request{Body: body})
		if err == nil && (len(events) != 1 || events[0].ID == "") {
			t.Fatalf("events %+v", events)
		}
	})
}

func FuzzVerifyBasic(f *testing.F) {
	f.Add(BasicAuth("referflow", "s3cret"))
	f.Add("Basic ")
	f.Add("Basic Og==")
	a := newAdapter(f)
	f.Fuzz(func(t *testing.T, auth string) {
		h := http.Header{}
		h.Set("Authorization", auth)
		_ = a.Authenticate(crm.Request{Headers: h})
	})
}
