package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/payees"
)

// memPayees is a payees.Store in memory: partner P1/ANN42 (key ANN42) and
// referral ref_1 exist.
type memPayees struct {
	records map[string]payees.Record
	writes  int
}

func (m *memPayees) PartnerKey(_ context.Context, programID, code string) (string, error) {
	if programID == "p1" && code == "ANN42" {
		return "ANN42", nil
	}
	return "", payees.ErrNotFound
}
func (m *memPayees) put(k string, r payees.Record) error { m.writes++; m.records[k] = r; return nil }
func (m *memPayees) get(k string) (*payees.Record, error) {
	if r, ok := m.records[k]; ok {
		return &r, nil
	}
	return nil, payees.ErrNotFound
}
func (m *memPayees) del(k string) error {
	if _, ok := m.records[k]; !ok {
		return payees.ErrNotFound
	}
	delete(m.records, k)
	return nil
}
func (m *memPayees) PutPartnerPayee(_ context.Context, p, k string, r payees.Record) error {
	return m.put(p+"/"+k, r)
}
func (m *memPayees) PartnerPayee(_ context.Context, p, k string) (*payees.Record, error) {
	return m.get(p + "/" + k)
}
func (m *memPayees) DeletePartnerPayee(_ context.Context, p, k string) error {
	return m.del(p + "/" + k)
}
func (m *memPayees) PutRefereePayee(_ context.Context, id string, r payees.Record) error {
	if id != "ref_1" {
		return payees.ErrNotFound
	}
	return m.put(id, r)
}
func (m *memPayees) RefereePayee(_ context.Context, id string) (*payees.Record, error) {
	return m.get(id)
}
func (m *memPayees) DeleteRefereePayee(_ context.Context, id string) error { return m.del(id) }

func payeesHandler(logs *bytes.Buffer) (*Handler, *memPayees) {
	m := &memPayees{records: map[string]payees.Record{}}
	clock := func() time.Time { return now }
	return &Handler{Payees: &payees.Service{Store: m, Now: clock}, Now: clock, Log: slog.New(slog.NewJSONHandler(logs, nil))}, m
}

const partnerPayeeRoute = "/admin/partners/{program}/{code}/payee"

func partnerPayee(method, program, code, body string) apigw.Request {
	return request(method, partnerPayeeRoute, map[string]string{"program": program, "code": code}, body)
}

// An operator records a partner's bank details, reads them back masked,
// and removes them; the details never reach the logs.
func TestAdminRecordsAPartnersPayee(t *testing.T) {
	var logs bytes.Buffer
	h, m := payeesHandler(&logs)
	a := call(t, h, partnerPayee(http.MethodPut, "P1", "ANN42",
		`{"method":"manual","details":{"account_holder":"Ann Lee","iban":"DE89 3704 0044 0532 0130 00","bic":"COBADEFFXXX"}}`))
	d, _ := a.body["details"].(map[string]any)
	if a.status != http.StatusOK || a.body["method"] != "manual" || a.body["program"] != "p1" || a.body["code"] != "ANN42" ||
		d["iban"] != "******************3000" || d["account_holder"] != "****Lee" || a.body["updated_by"] != "admin" {
		t.Fatalf("put: %d %v", a.status, a.body)
	}
	if got := m.records["p1/ANN42"]; got.Details.IBAN != "DE89370400440532013000" || !got.UpdatedAt.Equal(now) {
		t.Fatalf("stored %+v", got)
	}
	a = call(t, h, partnerPayee(http.MethodGet, "p1", "ANN42", ""))
	if d, _ := a.body["details"].(map[string]any); a.status != http.StatusOK || d["bic"] != "*******FXXX" || d["iban"] != "******************3000" {
		t.Fatalf("get: %d %v", a.status, a.body)
	}
	if a := call(t, h, partnerPayee(http.MethodDelete, "p1", "ANN42", "")); a.status != http.StatusOK || a.body["deleted"] != true {
		t.Fatalf("delete: %d %v", a.status, a.body)
	}
	a = call(t, h, partnerPayee(http.MethodGet, "p1", "ANN42", ""))
	if a.status != http.StatusNotFound || errCode(a) != "not_found" || !strings.Contains(a.body["error"].(map[string]any)["message"].(string), "no payee") {
		t.Fatalf("get after delete: %d %v", a.status, a.body)
	}
	if a := call(t, h, partnerPayee(http.MethodDelete, "p1", "ANN42", "")); a.status != http.StatusNotFound {
		t.Fatalf("second delete: %d %v", a.status, a.body)
	}
	for _, secret := range []string{"DE89", "370400440532013000", "Ann Lee", "COBADEFF"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs hold %q:\n%s", secret, logs.String())
		}
	}
}

// Bad input is a 400 naming the fields, and writes nothing; an unknown
// partner is a 404.
func TestAdminRefusesABadPayeeAndWritesNothing(t *testing.T) {
	for _, c := range []struct {
		name, code, body string
		status           int
		field            string
	}{
		{"iban checksum", "ANN42", `{"method":"manual","details":{"account_holder":"Ann","iban":"DE89370400440532013001","bic":"COBADEFF"}}`, 400, "details.iban"},
		{"bic", "ANN42", `{"method":"manual","details":{"account_holder":"Ann","iban":"DE89370400440532013000","bic":"COBA"}}`, 400, "details.bic"},
		{"stripe account", "ANN42", `{"method":"stripe","details":{"account":"cus_123"}}`, 400, "details.account"},
		{"paypal email", "ANN42", `{"method":"paypal","details":{"email":"ann"}}`, 400, "details.email"},
		{"unknown method", "ANN42", `{"method":"wire","details":{}}`, 400, "method"},
		{"a field of another method", "ANN42", `{"method":"paypal","details":{"email":"a@b.example","iban":"DE89370400440532013000"}}`, 400, "details.iban"},
		{"not an object", "ANN42", `["stripe"]`, 400, "body"},
		{"not JSON", "ANN42", `method=stripe`, 400, "body"},
		{"unknown partner", "NOBODY", `{"method":"stripe","details":{"account":"acct_1"}}`, 404, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			h, m := payeesHandler(&logs)
			a := call(t, h, partnerPayee(http.MethodPut, "p1", c.code, c.body))
			fields, _ := a.body["error"].(map[string]any)["fields"].(map[string]any)
			if a.status != c.status || (c.field != "" && fields[c.field] == nil) || m.writes != 0 {
				t.Fatalf("%d %v, %d writes; want %d naming %q", a.status, a.body, m.writes, c.status, c.field)
			}
		})
	}
}

// A referral's new customer gets its Stripe customer id recorded, for
// credits and discounts; only an existing referral can have one.
func TestAdminRecordsARefereesStripeCustomer(t *testing.T) {
	var logs bytes.Buffer
	h, m := payeesHandler(&logs)
	req := func(method, id, body string) apigw.Request {
		return request(method, "/admin/referrals/{id}/payee", map[string]string{"id": id}, body)
	}
	a := call(t, h, req(http.MethodPut, "ref_1", `{"method":"stripe","details":{"customer":"cus_NffrFeUfNV2Hib"}}`))
	if d, _ := a.body["details"].(map[string]any); a.status != http.StatusOK || a.body["referral_id"] != "ref_1" || d["customer"] != "**************2Hib" {
		t.Fatalf("put: %d %v", a.status, a.body)
	}
	if m.records["ref_1"].Details.Customer != "cus_NffrFeUfNV2Hib" {
		t.Fatalf("stored %+v", m.records["ref_1"])
	}
	if a := call(t, h, req(http.MethodPut, "ref_1", `{"method":"stripe","details":{"account":"acct_1"}}`)); a.status != http.StatusBadRequest || m.writes != 1 {
		t.Fatalf("a connected account for a referee: %d %v", a.status, a.body)
	}
	a = call(t, h, req(http.MethodPut, "ref_404", `{"method":"stripe","details":{"customer":"cus_1"}}`))
	if a.status != http.StatusNotFound || !strings.Contains(a.body["error"].(map[string]any)["message"].(string), "no such referral") {
		t.Fatalf("unknown referral: %d %v", a.status, a.body)
	}
	if a := call(t, h, req(http.MethodGet, "ref_1", "")); a.status != http.StatusOK || a.body["method"] != "stripe" {
		t.Fatalf("get: %d %v", a.status, a.body)
	}
	if a := call(t, h, req(http.MethodDelete, "ref_1", "")); a.status != http.StatusOK || len(m.records) != 0 {
		t.Fatalf("delete: %d %v", a.status, a.body)
	}
}
