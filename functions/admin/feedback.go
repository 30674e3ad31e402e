package main

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/feedback"
	"github.com/referflow/referflow/internal/logging"
)

// FeedbackStore reads partners' answers to the monthly summary's question
// (internal/store feedback.go).
type FeedbackStore = feedback.Source

// feedback answers GET /admin/feedback?program=&from=YYYY-MM&to=YYYY-MM
// (default: the 12 months up to this one, at most feedback.MaxMonths):
// the period's figures, each month's, and the comments, latest months
// first. It reads one counts item per month and the answers of the months
// that have some. Comments are never logged.
func (h *Handler) feedback(ctx context.Context, req apigw.Request) apigw.Response {
	log := logging.From(ctx, h.Log).With("route", "feedback")
	if h.Feedback == nil {
		log.Error("feedback: no feedback store configured")
		return apigw.Unavailable()
	}
	q := req.QueryStringParameters
	program := strings.ToLower(strings.TrimSpace(q["program"]))
	if program == "" {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid", map[string]string{"program": "is required"})
	}
	months, err := feedback.Months(strings.TrimSpace(q["from"]), strings.TrimSpace(q["to"]), h.Now())
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid",
			map[string]string{"from": strings.TrimPrefix(err.Error(), feedback.ErrInvalid.Error()+": ")})
	}
	v, err := feedback.Read(ctx, h.Feedback, program, months)
	if err != nil {
		if errors.Is(err, feedback.ErrInvalid) {
			return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid", map[string]string{"from": "is not a valid period"})
		}
		log.Error("read feedback failed", "program_id", program, "error", err)
		return apigw.Unavailable()
	}
	return apigw.JSON(http.StatusOK, v)
}
