package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/finance"
	"github.com/referflow/referflow/internal/logging"
)

// Finance is the ledger as finance reads it (internal/finance; the
// operator CLI calls the same).
type Finance interface {
	PartnerBalance(ctx context.Context, programID, code string) ([]finance.Balance, error)
	ProgramBalance(ctx context.Context, programID, from, to string) (*finance.ProgramBalance, error)
	CreateBatch(ctx context.Context, programID, currency, from, actor string) (*finance.Batch, error)
	Batch(ctx context.Context, id string) (*finance.Batch, error)
	WriteCSV(ctx context.Context, id string, out io.Writer) error
	MarkPaid(ctx context.Context, id, ref, actor string) (*finance.Batch, bool, error)
	Reconcile(ctx context.Context, period string) (*finance.Report, error)
}

// BatchRequest is the body of POST /admin/payout-batches.
type BatchRequest struct {
	Program  string `json:"program"`
	Currency string `json:"currency"`
	From     string `json:"from,omitempty"` // YYYY-MM; default finance.GatherMonths back
}

// PaidRequest is the body of POST /admin/payout-batches/{id}/paid.
type PaidRequest struct {
	RemittanceReference string `json:"remittance_reference"`
}

// PartnerBalanceView is the answer of GET /admin/partners/{program}/{code}/balance.
type PartnerBalanceView struct {
	Program  string            `json:"program"`
	Code     string            `json:"code"`
	Balances []finance.Balance `json:"balances"`
}

// PaidView is a batch marked paid: Changed is false for a repeat.
type PaidView struct {
	*finance.Batch
	Changed bool `json:"changed"`
}

// finance routes the finance routes:
//
//	GET  /admin/programs/{program}/balances         ?from=YYYY-MM&to=YYYY-MM
//	GET  /admin/partners/{program}/{code}/balance
//	POST /admin/payout-batches                      {program, currency[, from]}
//	GET  /admin/payout-batches/{id}                 ?format=csv for finance's CSV
//	POST /admin/payout-batches/{id}/paid            {remittance_reference}
//	GET  /admin/reconciliation                      ?period=YYYY-MM
//
// Only ids and counts are logged: the CSV's payee details never are.
func (h *Handler) finance(ctx context.Context, req apigw.Request) apigw.Response {
	log := logging.From(ctx, h.Log).With("route", "finance")
	if h.Finance == nil {
		log.Error("finance: no finance operations configured")
		return apigw.Unavailable()
	}
	p, q := req.PathParameters, req.QueryStringParameters
	program := strings.ToLower(strings.TrimSpace(p["program"]))
	get := req.RequestContext.HTTP.Method == http.MethodGet
	switch route := req.RouteKey[strings.Index(req.RouteKey, " ")+1:]; {
	case get && route == "/admin/programs/{program}/balances":
		b, err := h.Finance.ProgramBalance(ctx, program, q["from"], q["to"])
		return financeAnswer(http.StatusOK, b, err, "program", log)
	case get && route == "/admin/partners/{program}/{code}/balance":
		b, err := h.Finance.PartnerBalance(ctx, program, p["code"])
		return financeAnswer(http.StatusOK, PartnerBalanceView{Program: program, Code: p["code"], Balances: b}, err, "partner in this program", log)
	case !get && route == "/admin/payout-batches":
		var in BatchRequest
		if resp, ok := readJSON(&req, &in, "a JSON object with program and currency"); !ok {
			return resp
		}
		b, err := h.Finance.CreateBatch(ctx, strings.ToLower(strings.TrimSpace(in.Program)), strings.TrimSpace(in.Currency), in.From, events.ActorAdmin)
		if err == nil {
			log.Info("payout batch created", "batch_id", b.ID, "program", b.ProgramID, "entries", len(b.Lines))
		}
		return financeAnswer(http.StatusCreated, b, err, "batch", log)
	case get && route == "/admin/payout-batches/{id}":
		return h.batch(ctx, p["id"], q["format"], log)
	case !get && route == "/admin/payout-batches/{id}/paid":
		var in PaidRequest
		if resp, ok := readJSON(&req, &in, "a JSON object with remittance_reference"); !ok {
			return resp
		}
		b, changed, err := h.Finance.MarkPaid(ctx, p["id"], in.RemittanceReference, events.ActorAdmin)
		if err == nil && changed {
			log.Info("payout batch paid", "batch_id", b.ID, "entries", len(b.Lines))
		}
		return financeAnswer(http.StatusOK, PaidView{Batch: b, Changed: changed}, err, "batch", log)
	case get && route == "/admin/reconciliation":
		r, err := h.Finance.Reconcile(ctx, q["period"])
		if err == nil {
			log.Info("reconciliation", "period", r.Period, "checked", r.Checked, "differences", len(r.Differences))
		}
		return financeAnswer(http.StatusOK, r, err, "", log)
	}
	return apigw.Error(http.StatusNotFound, "not_found", "no such admin route", nil)
}

// batch serves GET /admin/payout-batches/{id}: JSON, or finance's CSV
// (with the payees' details) for format=csv.
func (h *Handler) batch(ctx context.Context, id, format string, log *slog.Logger) apigw.Response {
	switch format {
	case "", "json":
		b, err := h.Finance.Batch(ctx, id)
		return financeAnswer(http.StatusOK, b, err, "batch", log)
	case "csv":
		var buf bytes.Buffer
		if err := h.Finance.WriteCSV(ctx, id, &buf); err != nil {
			return financeAnswer(http.StatusOK, nil, err, "batch", log)
		}
		return apigw.Response{StatusCode: http.StatusOK, Body: buf.String(), Headers: map[string]string{
			"content-type": "text/csv; charset=utf-8", "cache-control": "no-store",
			"content-disposition": `attachment; filename="` + id + `.csv"`}}
	}
	return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid", map[string]string{"format": "must be json or csv"})
}

// financeAnswer answers a finance operation: v with status, or the error's
// answer (only errors that are not the caller's are logged; they name ids
// only).
func financeAnswer(status int, v any, err error, what string, log *slog.Logger) apigw.Response {
	var inv *finance.Invalid
	switch {
	case err == nil:
		return apigw.JSON(status, v)
	case errors.As(err, &inv):
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid", inv.Fields)
	case errors.Is(err, finance.ErrNothingToBatch):
		return apigw.Error(http.StatusConflict, "nothing_to_batch", "no payable manual entry of this program and currency is waiting for a batch", nil)
	case errors.Is(err, finance.ErrAlreadyPaid):
		return apigw.Error(http.StatusConflict, "batch_already_paid", "the batch was marked paid with another remittance reference", nil)
	case errors.Is(err, finance.ErrNotFound) && what != "":
		return apigw.Error(http.StatusNotFound, "not_found", "no such "+what, nil)
	}
	log.Error("finance operation failed", "error", err)
	return apigw.Unavailable()
}

// isFinanceRoute reports whether routeKey is one of finance's routes.
func isFinanceRoute(routeKey string) bool {
	return strings.HasSuffix(routeKey, "/balances") || strings.HasSuffix(routeKey, "/balance") ||
		strings.Contains(routeKey, " /admin/payout-batches") || strings.HasSuffix(routeKey, " /admin/reconciliation")
}
