package main

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/store"
)

// EndExperimentRequest is the body of POST
// /admin/programs/{program}/experiment/end: the variant to keep and,
// optionally, the program version the caller looked at.
type EndExperimentRequest struct {
	Keep    string `json:"keep"`
	Version int    `json:"version"`
}

// EndedExperiment is its answer: the program's new version, the
// experiment ended and the variant whose tiers are now the rule.
type EndedExperiment struct {
	Program    string `json:"program"`
	Version    int    `json:"version"`
	Experiment string `json:"experiment"`
	Kept       string `json:"kept"`
}

// isExperimentRoute reports the experiment routes (this file).
func isExperimentRoute(routeKey string) bool {
	return strings.HasSuffix(routeKey, "POST /admin/programs/{program}/experiment/end")
}

// endExperiment serves POST /admin/programs/{program}/experiment/end
// {"keep":"B"}: the same operation as the console's "End and keep this
// variant" (program.EndExperiment). 200 the new version; 400
// invalid_request (fields.keep, fields.version); 404 not_found; 409
// no_experiment (none runs) or program_changed (another version is
// current than the one given, or was published meanwhile).
func (h *Handler) endExperiment(ctx context.Context, req apigw.Request) apigw.Response {
	id := strings.ToLower(req.PathParameters["program"])
	log := logging.From(ctx, h.Log).With("program", id, "route", "end_experiment")
	var in EndExperimentRequest
	if resp, ok := readJSON(&req, &in, `a JSON object with keep (a variant's name)`); !ok {
		return resp
	}
	in.Keep = strings.TrimSpace(in.Keep)
	switch {
	case in.Keep == "":
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid", map[string]string{"keep": "is required: the name of the variant to keep"})
	case in.Version < 0:
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid", map[string]string{"version": "must be a version number"})
	}
	next, ended, err := program.EndExperiment(ctx, h.Programs, id, in.Keep, in.Version, h.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apigw.Error(http.StatusNotFound, "not_found", "no such program", nil)
	case errors.Is(err, program.ErrUnknownVariant):
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the request is not valid", map[string]string{"keep": strings.TrimPrefix(err.Error(), "program: ")})
	case errors.Is(err, program.ErrNoExperiment):
		return apigw.Error(http.StatusConflict, "no_experiment", "the program's current version runs no experiment", nil)
	case errors.Is(err, program.ErrVersionMoved), errors.Is(err, store.ErrConflict):
		return apigw.Error(http.StatusConflict, "program_changed", "another version of the program is current: read it and try again", nil)
	case err != nil:
		log.Error("end experiment failed", "error", err)
		return apigw.Unavailable()
	}
	log.Info("experiment ended", "experiment", ended.ID, "kept", in.Keep, "version", next.Version)
	return apigw.JSON(http.StatusOK, EndedExperiment{Program: id, Version: next.Version, Experiment: ended.ID, Kept: in.Keep})
}
