package main

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/referral"
)

// KPIs computes a program's KPIs over a period (kpis.Service).
type KPIs interface {
	Report(ctx context.Context, program string, per kpis.Period) (kpis.Report, error)
}

// kpisQuery lists the query parameters GET /admin/kpis takes.
var kpisQuery = map[string]bool{"program": true, "from": true, "to": true, "period": true, "at": true}

// kpis serves GET /admin/kpis?program=ID&from=YYYY-MM-DD&to=YYYY-MM-DD (or
// &period=day|week|month&at=...): the program's KPIs from its counters.
// A bad query is 400 invalid_request naming the fields; an unknown program
// is 404.
func (h *Handler) kpis(ctx context.Context, req apigw.Request) apigw.Response {
	q := req.QueryStringParameters
	bad := map[string]string{}
	for k := range q {
		if !kpisQuery[k] {
			bad[k] = "unknown parameter"
		}
	}
	id := strings.TrimSpace(q["program"])
	if id == "" {
		bad["program"] = "is required"
	}
	per, fields := kpis.ParsePeriod(q, h.Now())
	for k, v := range fields {
		bad[k] = v
	}
	if len(bad) > 0 {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the query is not valid", bad)
	}
	r, err := h.KPIs.Report(ctx, id, per)
	if errors.Is(err, referral.ErrNotFound) {
		return apigw.Error(http.StatusNotFound, "not_found", "no such program", nil)
	}
	if err != nil {
		h.Log.Error("kpis", "program", id, "error", err)
		return apigw.Unavailable()
	}
	return apigw.JSON(http.StatusOK, r)
}
