package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/finance"
)

const batchID = "pb_0123456789abcdef01234567"

// fakeFinance answers the finance routes from fixed values and records
// what it was asked.
type fakeFinance struct {
	err   error
	calls []string
}

func (f *fakeFinance) call(s string, args ...any) {
	f.calls = append(f.calls, fmt.Sprint(append([]any{s}, args...)...))
}

func (f *fakeFinance) PartnerBalance(_ context.Context, p, code string) ([]finance.Balance, error) {
	f.call("partner ", p, " ", code)
	return []finance.Balance{{Currency: "USD", PaidMinor: 500, Paid: "5.00"}}, f.err
}
func (f *fakeFinance) ProgramBalance(_ context.Context, p, from, to string) (*finance.ProgramBalance, error) {
	f.call("program ", p, " ", from, " ", to)
	return &finance.ProgramBalance{Program: p, From: "2026-01", To: "2026-11", Balances: []finance.Balance{{Currency: "JPY"}}}, f.err
}
func (f *fakeFinance) CreateBatch(_ context.Context, p, currency, from, actor string) (*finance.Batch, error) {
	f.call("create ", p, " ", currency, " ", from, " ", actor)
	return &finance.Batch{ID: batchID, ProgramID: p, Currency: currency, Status: finance.BatchOpen, Lines: []finance.Line{{EntryID: "e1"}}}, f.err
}
func (f *fakeFinance) Batch(_ context.Context, id string) (*finance.Batch, error) {
	f.call("batch ", id)
	return &finance.Batch{ID: id, Status: finance.BatchOpen, Lines: []finance.Line{}}, f.err
}
func (f *fakeFinance) WriteCSV(_ context.Context, id string, out io.Writer) error {
	f.call("csv ", id)
	if f.err != nil {
		return f.err
	}
	_, err := io.WriteString(out, "batch_id,payee_name,iban\n"+id+",Ann Lee,DE89370400440532013000\n")
	return err
}
func (f *fakeFinance) MarkPaid(_ context.Context, id, ref, actor string) (*finance.Batch, bool, error) {
	f.call("paid ", id, " ", ref, " ", actor)
	return &finance.Batch{ID: id, Status: finance.BatchPaid, RemittanceReference: ref}, ref == "FIRST", f.err
}
func (f *fakeFinance) Reconcile(_ context.Context, period string) (*finance.Report, error) {
	f.call("reconcile ", period)
	return &finance.Report{Period: period, Checked: 2, Differences: []finance.Difference{{Kind: finance.MissingAtRail, RewardID: "rw_1"}}}, f.err
}

func TestFinanceRoutes(t *testing.T) {
	tests := []struct {
		name, method, route string
		params, query       map[string]string
		body                string
		err                 error
		status              int
		code, call          string
	}{
		{"program balances", "GET", "/admin/programs/{program}/balances", map[string]string{"program": " P1 "}, map[string]string{"from": "2026-01"}, "", nil, 200, "", "program p1 2026-01 "},
		{"program balances, bad month", "GET", "/admin/programs/{program}/balances", map[string]string{"program": "p1"}, map[string]string{"to": "x"},
			"", &finance.Invalid{Fields: map[string]string{"to": "must be a month, YYYY-MM"}}, 400, "invalid_request", "program p1  x"},
		{"partner balance", "GET", "/admin/partners/{program}/{code}/balance", map[string]string{"program": "p1", "code": "ANN42"}, nil, "", nil, 200, "", "partner p1 ANN42"},
		{"partner balance, no partner", "GET", "/admin/partners/{program}/{code}/balance", map[string]string{"program": "p1", "code": "NOPE"}, nil, "", finance.ErrNotFound, 404, "not_found", "partner p1 NOPE"},
		{"create batch", "POST", "/admin/payout-batches", nil, nil, `{"program":"P1","currency":"USD"}`, nil, 201, "", "create p1 USD  admin"},
		{"create batch, nothing waiting", "POST", "/admin/payout-batches", nil, nil, `{"program":"p1","currency":"USD","from":"2026-01"}`, finance.ErrNothingToBatch, 409, "nothing_to_batch", "create p1 USD 2026-01 admin"},
		{"create batch, not JSON", "POST", "/admin/payout-batches", nil, nil, `[1]`, nil, 400, "invalid_request", ""},
		{"create batch, store down", "POST", "/admin/payout-batches", nil, nil, `{"program":"p1","currency":"USD"}`, errors.New("throttled"), 503, "temporarily_unavailable", "create p1 USD  admin"},
		{"show batch", "GET", "/admin/payout-batches/{id}", map[string]string{"id": batchID}, nil, "", nil, 200, "", "batch " + batchID},
		{"show batch, unknown", "GET", "/admin/payout-batches/{id}", map[string]string{"id": batchID}, nil, "", finance.ErrNotFound, 404, "not_found", "batch " + batchID},
		{"show batch, bad format", "GET", "/admin/payout-batches/{id}", map[string]string{"id": batchID}, map[string]string{"format": "xls"}, "", nil, 400, "invalid_request", ""},
		{"mark paid", "POST", "/admin/payout-batches/{id}/paid", map[string]string{"id": batchID}, nil, `{"remittance_reference":"FIRST"}`, nil, 200, "", "paid " + batchID + " FIRST admin"},
		{"mark paid, another reference", "POST", "/admin/payout-batches/{id}/paid", map[string]string{"id": batchID}, nil, `{"remittance_reference":"OTHER"}`, finance.ErrAlreadyPaid, 409, "batch_already_paid", "paid " + batchID + " OTHER admin"},
		{"reconciliation", "GET", "/admin/reconciliation", nil, map[string]string{"period": "2026-11"}, "", nil, 200, "", "reconcile 2026-11"},
		{"reconciliation, no period", "GET", "/admin/reconciliation", nil, nil, "", &finance.Invalid{Fields: map[string]string{"period": "must be a month, YYYY-MM"}}, 400, "invalid_request", "reconcile "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeFinance{err: tt.err}
			h := &Handler{Finance: f, Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			req := request(tt.method, tt.route, tt.params, tt.body)
			req.QueryStringParameters = tt.query
			a := call(t, h, req)
			if a.status != tt.status || errCode(a) != tt.code {
				t.Fatalf("answer %d %q, want %d %q: %v", a.status, errCode(a), tt.status, tt.code, a.body)
			}
			if got := strings.Join(f.calls, ";"); got != tt.call {
				t.Fatalf("calls %q, want %q", got, tt.call)
			}
		})
	}
}

// The CSV is served as a file, and neither it nor the payee details reach
// the logs.
func TestFinanceBatchCSV(t *testing.T) {
	var logs bytes.Buffer
	h := &Handler{Finance: &fakeFinance{}, Now: func() time.Time { return now }, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	req := request(http.MethodGet, "/admin/payout-batches/{id}", map[string]string{"id": batchID}, "")
	req.QueryStringParameters = map[string]string{"format": "csv"}
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Headers["content-type"], "text/csv") ||
		!strings.Contains(resp.Headers["content-disposition"], batchID+".csv") || !strings.Contains(resp.Body, "Ann Lee,DE89370400440532013000") {
		t.Fatalf("csv answer %d %v %q", resp.StatusCode, resp.Headers, resp.Body)
	}
	paid := request(http.MethodPost, "/admin/payout-batches/{id}/paid", map[string]string{"id": batchID}, `{"remittance_reference":"FIRST"}`)
	if a := call(t, h, paid); a.status != 200 || a.body["changed"] != true || a.body["remittance_reference"] != "FIRST" {
		t.Fatalf("paid: %v", a.body)
	}
	again := request(http.MethodPost, "/admin/payout-batches/{id}/paid", map[string]string{"id": batchID}, `{"remittance_reference":"SAME"}`)
	if a := call(t, h, again); a.status != 200 || a.body["changed"] != false {
		t.Fatalf("repeat: %v", a.body)
	}
	if strings.Contains(logs.String(), "Ann") || strings.Contains(logs.String(), "DE89") {
		t.Fatalf("personal data logged: %s", logs.String())
	}
}

// Without finance configured the routes answer 503, and other routes are
// not taken for finance's.
func TestFinanceRoutesAreTheirOwn(t *testing.T) {
	for route, want := range map[string]bool{
		"GET /admin/programs/{program}/balances": true, "GET /admin/partners/{program}/{code}/balance": true,
		"POST /admin/payout-batches": true, "GET /admin/payout-batches/{id}": true, "POST /admin/payout-batches/{id}/paid": true,
		"GET /admin/reconciliation": true, "GET /admin/partners/{program}/{code}/payee": false, "GET /admin/partners": false,
	} {
		if isFinanceRoute(route) != want {
			t.Errorf("isFinanceRoute(%q) = %v", route, !want)
		}
	}
	h := &Handler{Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if a := call(t, h, request("GET", "/admin/reconciliation", nil, "")); a.status != 503 {
		t.Fatalf("unconfigured: %d", a.status)
	}
}
