package salesforce

import (
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/money"
)

const (
	testToken = "tok_9f8e7d"
	testOrg   = "00D5w000004qGTOEA2"
	testURL   = "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/salesforce?token=" + testToken
)

func fixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/outbound_opportunity.xml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newAdapter(t testing.TB, cfg Config) *Adapter {
	t.Helper()
	if cfg.Tokens == nil {
		cfg.Tokens = []string{testToken, "tok_old"}
	}
	if cfg.OrgIDs == nil {
		cfg.OrgIDs = []string{"00D000000000062", testOrg}
	}
	a, err := New(cfg, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// message builds an Outbound Message with n Opportunity notifications.
func message(org string, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>%s</OrganizationId><ActionId>04k000000000001AAA</ActionId><SessionId xsi:nil="true"/>`, org)
	for i := range n {
		fmt.Fprintf(&b, `<Notification><Id>04l00000000%04dAAA</Id><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>00600000000%04dAAA</sf:Id><sf:Amount>1250.5</sf:Amount><sf:IsClosed>false</sf:IsClosed><sf:IsWon>false</sf:IsWon><sf:LastModifiedDate>2024-05-01T10:00:00.000Z</sf:LastModifiedDate><sf:Referral_Id__c>ref_%d</sf:Referral_Id__c><sf:StageName>Negotiation</sf:StageName></sObject></Notification>`, i, i, i)
	}
	b.WriteString(`</notifications></soapenv:Body></soapenv:Envelope>`)
	return []byte(b.String())
}

func TestAuthenticate(t *testing.T) {
	a := newAdapter(t, Config{})
	body := fixture(t)
	tests := []struct {
		name string
		url  string
		body []byte
		want error // nil, crm.ErrUnauthorized or crm.ErrMalformed
	}{
		{"valid (18-char org, fixture)", testURL, body, nil},
		{"previous token during rotation", strings.Replace(testURL, testToken, "tok_old", 1), body, nil},
		{"15-char org id in the message", testURL, message("00D000000000062", 1), nil},
		{"18-char form of an allowed 15-char id", testURL, message("00D000000000062EAA", 1), nil},
		{"missing token", strings.Split(testURL, "?")[0], body, crm.ErrUnauthorized},
		{"empty token", strings.Split(testURL, "?")[0] + "?token=", body, crm.ErrUnauthorized},
		{"wrong token", strings.Replace(testURL, testToken, "tok_nope", 1), body, crm.ErrUnauthorized},
		{"token prefix", strings.Replace(testURL, testToken, testToken[:4], 1), body, crm.ErrUnauthorized},
		{"org not allowed", testURL, message("00D999999999999XXX", 1), crm.ErrUnauthorized},
		{"org differs only in case", testURL, message("00d000000000062", 1), crm.ErrUnauthorized},
		{"org wrong length", testURL, message("00D00000000006", 1), crm.ErrUnauthorized},
		{"org missing", testURL, []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><Notification/></notifications></soapenv:Body></soapenv:Envelope>`), crm.ErrMalformed},
		{"org in the wrong namespace", testURL, []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notifications><OrganizationId>` + testOrg + `</OrganizationId></notifications></soapenv:Body></soapenv:Envelope>`), crm.ErrMalformed},
		{"not XML", testURL, []byte(`{"OrganizationId":"` + testOrg + `"}`), crm.ErrMalformed},
		{"DOCTYPE (XXE)", testURL, []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + string(message(testOrg, 1))[len(`<?xml version="1.0" encoding="UTF-8"?>`):]), crm.ErrMalformed},
		{"bad URL", "://x?token=" + testToken, body, crm.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.Authenticate(crm.Request{Method: "POST", URL: tt.url, Body: tt.body})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseFixture(t *testing.T) {
	a := newAdapter(t, Config{EmailField: "Referee_Email__c", PipelineField: "RecordTypeId"})
	got, err := a.Parse(crm.Request{URL: testURL, Body: fixture(t)})
	if err != nil {
		t.Fatal(err)
	}
	want := []crm.Event{
		{Provider: "salesforce", ID: "04l5w00005286hAAAQ", Kind: crm.KindStageChanged, RecordID: "0065w000023STAmAAO", Pipeline: "0125w000000AbCdAAK",
			Stage: "Closed Won", Status: crm.StatusWon, Amount: &money.Money{Minor: 4500000, Currency: "EUR"},
			OccurredAt: time.Date(2020, 5, 8, 13, 40, 22, 0, time.UTC), ReferralID: "ref_01HXYZ", Email: "jane.doe@example.com"},
		{Provider: "salesforce", ID: "04l5w00005286hBAAQ", Kind: crm.KindStageChanged, RecordID: "0065w000023STAnAAO", Stage: "Closed Lost", Status: crm.StatusLost},
		{Provider: "salesforce", ID: "04l5w00005286hCAAQ", Kind: crm.KindStageChanged, RecordID: "0065w000023STAoAAO", Stage: "Perception Analysis", Status: crm.StatusOpen, Amount: &money.Money{Minor: 12000050}},
		{Provider: "salesforce", ID: "04l5w00005286hDAAQ", Kind: crm.KindIgnored, RecordID: "00Q5w00001xyzAAA"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseEntries(t *testing.T) {
	a := newAdapter(t, Config{})
	wrap := func(notifs string) []byte {
		return []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>` + testOrg + `</OrganizationId>` + notifs + `</notifications></soapenv:Body></soapenv:Envelope>`)
	}
	tests := []struct {
		name   string
		notifs string
		want   []crm.Event
	}{
		{
			name:   "no IsWon/IsClosed: status unknown",
			notifs: `<Notification><Id>N1</Id><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>O1</sf:Id><sf:StageName>Prospecting</sf:StageName></sObject></Notification>`,
			want:   []crm.Event{{Provider: "salesforce", ID: "N1", Kind: crm.KindStageChanged, RecordID: "O1", Stage: "Prospecting"}},
		},
		{
			name: "a bad entry does not fail the others",
			notifs: `<Notification><Id>N1</Id><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>O1</sf:Id><sf:Amount>lots</sf:Amount></sObject></Notification>` +
				`<Notification><Id>N2</Id></Notification>` +
				`<Notification><Id>N3</Id><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:StageName>x</sf:StageName></sObject></Notification>` +
				`<Notification><Id>N4</Id><sObject xsi:type="sf:Opportunity" xmlns:other="urn:other"><other:Id>O4</other:Id></sObject></Notification>` +
				`<Notification><Id>N5</Id><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>O5</sf:Id><sf:IsWon>true</sf:IsWon><sf:StageName>Won</sf:StageName></sObject></Notification>`,
			want: []crm.Event{
				{Provider: "salesforce", ID: "N1", Kind: crm.KindIgnored, RecordID: "O1"},
				{Provider: "salesforce", ID: "N2", Kind: crm.KindIgnored},
				{Provider: "salesforce", ID: "N3", Kind: crm.KindIgnored},
				{Provider: "salesforce", ID: "N4", Kind: crm.KindIgnored},
				{Provider: "salesforce", ID: "N5", Kind: crm.KindStageChanged, RecordID: "O5", Stage: "Won", Status: crm.StatusWon},
			},
		},
		{name: "no notifications", notifs: ``, want: []crm.Event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Parse(crm.Request{Body: wrap(tt.notifs)})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	// A notification without Id still gets a deterministic, unique id.
	body := wrap(`<Notification><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>O1</sf:Id></sObject></Notification>`)
	got, err := a.Parse(crm.Request{Body: body})
	if err != nil || len(got) != 1 || got[0].Kind != crm.KindIgnored || !strings.HasPrefix(got[0].ID, "body-sha256:") {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestParseMalformed(t *testing.T) {
	a := newAdapter(t, Config{})
	tests := map[string][]byte{
		"empty":               nil,
		"json":                []byte(`{}`),
		"truncated":           fixture(t)[:300],
		"no notifications":    []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>`),
		"not a SOAP envelope": []byte(`<notifications xmlns="http://soap.sforce.com/2005/09/outbound"/>`),
		"101 notifications":   message(testOrg, MaxNotifications+1),
		"DOCTYPE":             []byte(`<!DOCTYPE soapenv:Envelope><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"/>`),
		"entity declaration":  []byte(`<!doctype x [<!entity a "b">]><x>&a;</x>`),
		"undefined entity":    []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">&xxe;</soapenv:Envelope>`),
		"non-UTF-8 encoding":  []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"/>`),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := a.Parse(crm.Request{Body: body}); !errors.Is(err, crm.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
	if got, err := a.Parse(crm.Request{Body: message(testOrg, MaxNotifications)}); err != nil || len(got) != MaxNotifications {
		t.Fatalf("100 notifications: %d events, %v", len(got), err)
	}
}

func TestAckNack(t *testing.T) {
	a := newAdapter(t, Config{})
	ct, body := a.Ack()
	if ct != "text/xml; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	const want = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>`
	if string(body) != want {
		t.Errorf("Ack = %s", body)
	}
	ct, body = a.Nack(`store <unavailable> & "busy"`)
	if ct != ContentType {
		t.Errorf("content type %q", ct)
	}
	var fault struct {
		Body struct {
			Fault struct {
				Code   string `xml:"faultcode"`
				String string `xml:"faultstring"`
			} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := xml.Unmarshal(body, &fault); err != nil {
		t.Fatalf("Nack is not XML: %v\n%s", err, body)
	}
	if fault.Body.Fault.Code != "soapenv:Server" || fault.Body.Fault.String != `store <unavailable> & "busy"` {
		t.Errorf("fault = %+v", fault.Body.Fault)
	}
}

func TestNewValidates(t *testing.T) {
	bad := []Config{
		{OrgIDs: []string{testOrg}},
		{Tokens: []string{"t"}},
		{Tokens: []string{"t"}, OrgIDs: []string{"short"}},
		{Tokens: []string{"t"}, OrgIDs: []string{"00D000000000062EA!"}},
	}
	for _, cfg := range bad {
		if _, err := New(cfg, time.Now); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := New(Config{Tokens: []string{"t"}, OrgIDs: []string{testOrg}}, nil); err == nil {
		t.Error("nil clock accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(fixture(f))
	f.Add(message(testOrg, 2))
	f.Add([]byte(`<!DOCTYPE x><x/>`))
	f.Add([]byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><Notification><Id/></Notification></notifications></soapenv:Body></soapenv:Envelope>`))
	a := newAdapter(f, Config{EmailField: "Referee_Email__c", PipelineField: "RecordTypeId"})
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := a.Parse(crm.Request{Body: body})
		if err != nil {
			return
		}
		if len(events) > MaxNotifications {
			t.Fatalf("%d events", len(events))
		}
		for _, ev := range events {
			if ev.ID == "" {
				t.Fatalf("event without id: %+v", ev)
			}
		}
	})
}

func FuzzVerifyToken(f *testing.F) {
	f.Add(testURL, fixture(f))
	f.Add("https://x/webhooks/salesforce?token=%zz", []byte(`<a/>`))
	f.Add("?token="+testToken+"&token=x", message("00D000000000062", 0))
	a := newAdapter(f, Config{})
	f.Fuzz(func(t *testing.T, url string, body []byte) {
		_ = a.Authenticate(crm.Request{Method: "POST", URL: url, Body: body})
	})
}

// BenchmarkVerifyParse100 authenticates and parses a 100-notification message.
func BenchmarkVerifyParse100(b *testing.B) {
	a := newAdapter(b, Config{})
	r := crm.Request{Method: "POST", URL: testURL, Body: message(testOrg, MaxNotifications)}
	b.ReportAllocs()
	b.SetBytes(int64(len(r.Body)))
	for b.Loop() {
		if err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
		events, err := a.Parse(r)
		if err != nil || len(events) != MaxNotifications {
			b.Fatal(err)
		}
	}
}
