package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/outbound"
)

// Webhooks registers outbound webhook endpoints and replays their
// deliveries (outbound.Service).
type Webhooks interface {
	Add(ctx context.Context, in outbound.Input) (*outbound.Endpoint, string, error)
	List(ctx context.Context) ([]outbound.Endpoint, error)
	Get(ctx context.Context, id string) (*outbound.Endpoint, error)
	Update(ctx context.Context, id string, in outbound.Input) (*outbound.Endpoint, error)
	Remove(ctx context.Context, id string) error
	Rotate(ctx context.Context, id string) (*outbound.Endpoint, string, error)
	Deliveries(ctx context.Context, endpointID string, q outbound.Query) ([]outbound.Delivery, string, error)
	Replay(ctx context.Context, endpointID, deliveryID string) (*outbound.Delivery, error)
	ReplayFailed(ctx context.Context, endpointID string, since time.Time) (outbound.ReplayResult, error)
}

// EndpointWithSecret is an endpoint with its signing secret: the answer to
// its creation and to a rotation, the only times the secret is shown.
type EndpointWithSecret struct {
	outbound.Endpoint
	Secret string `json:"secret"`
}

// DeliveryView is a delivery with the payload it sends.
type DeliveryView struct {
	outbound.Delivery
	Payload json.RawMessage `json:"payload"`
}

func deliveryView(d outbound.Delivery) DeliveryView {
	return DeliveryView{Delivery: d, Payload: json.RawMessage(d.Payload)}
}

// webhooks serves the /admin/webhooks routes:
//
//	POST   /admin/webhooks                      register an endpoint (201, with its secret)
//	GET    /admin/webhooks                      list the endpoints
//	GET    /admin/webhooks/{id}                 one endpoint
//	PATCH  /admin/webhooks/{id}                 change url, types, description, enabled (POST too)
//	DELETE /admin/webhooks/{id}                 remove it
//	POST   /admin/webhooks/{id}/rotate-secret   a new secret (the old one signs beside it for 24 h)
//	GET    /admin/webhooks/{id}/deliveries      its deliveries (?status=&limit=&cursor=)
//	POST   /admin/webhooks/{id}/deliveries/{delivery_id}/replay
//	POST   /admin/webhooks/{id}/replay          its failed deliveries since {"since": RFC 3339}
func (h *Handler) webhooks(ctx context.Context, req apigw.Request) apigw.Response {
	_, path, _ := strings.Cut(req.RouteKey, " ")
	route := req.RequestContext.HTTP.Method + " " + path
	id := req.PathParameters["id"]
	log := logging.From(ctx, h.Log).With("route", route, "endpoint_id", id)
	if h.Webhooks == nil {
		log.Error("webhooks: not configured")
		return apigw.Unavailable()
	}
	switch route {
	case "POST /admin/webhooks":
		return h.addEndpoint(ctx, log, req)
	case "GET /admin/webhooks":
		eps, err := h.Webhooks.List(ctx)
		if err != nil {
			return webhookFailure(log, "list webhook endpoints", err)
		}
		return apigw.JSON(http.StatusOK, map[string]any{"endpoints": eps})
	case "GET /admin/webhooks/{id}":
		ep, err := h.Webhooks.Get(ctx, id)
		if err != nil {
			return webhookFailure(log, "read webhook endpoint", err)
		}
		return apigw.JSON(http.StatusOK, ep)
	case "PATCH /admin/webhooks/{id}", "POST /admin/webhooks/{id}":
		return h.updateEndpoint(ctx, log, req, id)
	case "DELETE /admin/webhooks/{id}":
		if err := h.Webhooks.Remove(ctx, id); err != nil {
			return webhookFailure(log, "remove webhook endpoint", err)
		}
		log.Info("webhook endpoint removed")
		return apigw.JSON(http.StatusOK, map[string]any{"id": id, "deleted": true})
	case "POST /admin/webhooks/{id}/rotate-secret":
		ep, secret, err := h.Webhooks.Rotate(ctx, id)
		if err != nil {
			return webhookFailure(log, "rotate webhook secret", err)
		}
		log.Info("webhook secret rotated")
		return apigw.JSON(http.StatusOK, EndpointWithSecret{Endpoint: *ep, Secret: secret})
	case "GET /admin/webhooks/{id}/deliveries":
		return h.listDeliveries(ctx, log, req, id)
	case "POST /admin/webhooks/{id}/deliveries/{delivery_id}/replay":
		d, err := h.Webhooks.Replay(ctx, id, req.PathParameters["delivery_id"])
		if err != nil {
			return webhookFailure(log, "replay webhook delivery", err)
		}
		return apigw.JSON(http.StatusOK, deliveryView(*d))
	case "POST /admin/webhooks/{id}/replay":
		return h.replayFailed(ctx, log, req, id)
	}
	return apigw.Error(http.StatusNotFound, "not_found", "no such admin route", nil)
}

// webhookFailure answers an error of the outbound service: 404 for an unknown
// endpoint or delivery, 400 for bad input, 409 for a disabled endpoint,
// 503 (logged) for the rest.
func webhookFailure(log *slog.Logger, what string, err error) apigw.Response {
	var invalid *outbound.InvalidError
	switch {
	case errors.As(err, &invalid):
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the endpoint is not valid", invalid.Fields)
	case errors.Is(err, outbound.ErrNotFound):
		return apigw.Error(http.StatusNotFound, "not_found", "no webhook endpoint or delivery with this id", nil)
	case errors.Is(err, outbound.ErrDisabled):
		return apigw.Error(http.StatusConflict, "endpoint_disabled", "the endpoint is disabled: enable it before replaying its deliveries", nil)
	case errors.Is(err, outbound.ErrBusy):
		// An attempt holds the delivery for at most outbound.Lease.
		return apigw.Unavailable()
	}
	log.Error(what+" failed", "error", err)
	return apigw.Unavailable()
}

// webhookBody reads a request body within maxBody.
func webhookBody(req apigw.Request) ([]byte, *apigw.Response) {
	b, err := apigw.Body(&req)
	switch {
	case err != nil:
		r := apigw.Error(http.StatusBadRequest, "invalid_request", err.Error(), nil)
		return nil, &r
	case len(b) > maxBody:
		r := apigw.TooLarge(maxBody)
		return nil, &r
	}
	return b, nil
}

func (h *Handler) addEndpoint(ctx context.Context, log *slog.Logger, req apigw.Request) apigw.Response {
	b, fail := webhookBody(req)
	if fail != nil {
		return *fail
	}
	in, bad := decodeInput(b)
	if bad != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the endpoint is not valid", bad)
	}
	ep, secret, err := h.Webhooks.Add(ctx, in)
	if err != nil {
		return webhookFailure(log, "add webhook endpoint", err)
	}
	log.Info("webhook endpoint added", "endpoint_id", ep.ID, "types", len(ep.Types))
	return apigw.JSON(http.StatusCreated, EndpointWithSecret{Endpoint: *ep, Secret: secret})
}

func (h *Handler) updateEndpoint(ctx context.Context, log *slog.Logger, req apigw.Request, id string) apigw.Response {
	b, fail := webhookBody(req)
	if fail != nil {
		return *fail
	}
	in, bad := decodeInput(b)
	if bad != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the change is not valid", bad)
	}
	ep, err := h.Webhooks.Update(ctx, id, in)
	if err != nil {
		return webhookFailure(log, "update webhook endpoint", err)
	}
	log.Info("webhook endpoint updated", "enabled", ep.Enabled)
	return apigw.JSON(http.StatusOK, ep)
}

// decodeInput reads an endpoint's fields from a JSON object, naming each
// field of the wrong type or unknown.
func decodeInput(b []byte) (outbound.Input, map[string]string) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return outbound.Input{}, map[string]string{"body": "must be a JSON object with url, types, description, enabled"}
	}
	var in outbound.Input
	bad := map[string]string{}
	for k, v := range raw {
		var err error
		switch k {
		case "url":
			err = json.Unmarshal(v, &in.URL)
		case "types":
			err = json.Unmarshal(v, &in.Types)
		case "description":
			err = json.Unmarshal(v, &in.Description)
		case "enabled":
			err = json.Unmarshal(v, &in.Enabled)
		default:
			bad[k] = "is not a field of an endpoint (url, types, description, enabled)"
			continue
		}
		if err != nil {
			bad[k] = map[string]string{"url": "must be a string", "types": "must be a list of strings", "description": "must be a string", "enabled": "must be true or false"}[k]
		}
	}
	if len(bad) > 0 {
		return in, bad
	}
	return in, nil
}

func (h *Handler) listDeliveries(ctx context.Context, log *slog.Logger, req apigw.Request, id string) apigw.Response {
	q, bad := deliveryQuery(req.QueryStringParameters)
	if bad != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the query is not valid", bad)
	}
	ds, next, err := h.Webhooks.Deliveries(ctx, id, q)
	if err != nil {
		return webhookFailure(log, "list webhook deliveries", err)
	}
	views := make([]DeliveryView, len(ds))
	for i, d := range ds {
		views[i] = deliveryView(d)
	}
	return apigw.JSON(http.StatusOK, map[string]any{"deliveries": views, "next_cursor": next})
}

// deliveryQuery reads ?status=, ?limit= (1 to outbound.MaxPage, default
// 50) and ?cursor= (the next_cursor of a previous page).
func deliveryQuery(params map[string]string) (outbound.Query, map[string]string) {
	q := outbound.Query{Limit: 50}
	bad := map[string]string{}
	if s := params["status"]; s != "" {
		if !outbound.ValidStatus(s) {
			bad["status"] = "must be pending, succeeded or failed"
		}
		q.Status = outbound.Status(s)
	}
	if l := params["limit"]; l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > outbound.MaxPage {
			bad["limit"] = fmt.Sprintf("must be a whole number from 1 to %d", outbound.MaxPage)
		}
		q.Limit = n
	}
	if c := params["cursor"]; c != "" {
		if !outbound.ValidDeliveryID(c) {
			bad["cursor"] = "is not a cursor this route returned"
		}
		q.After = c
	}
	if len(bad) > 0 {
		return q, bad
	}
	return q, nil
}

// ReplayRequest is the body of POST /admin/webhooks/{id}/replay.
type ReplayRequest struct {
	Since string `json:"since"` // RFC 3339: failed deliveries of events at or after it
}

func (h *Handler) replayFailed(ctx context.Context, log *slog.Logger, req apigw.Request, id string) apigw.Response {
	b, fail := webhookBody(req)
	if fail != nil {
		return *fail
	}
	var in ReplayRequest
	if err := json.Unmarshal(b, &in); err != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the replay is not valid", map[string]string{"body": "must be a JSON object with since"})
	}
	since, err := time.Parse(time.RFC3339, strings.TrimSpace(in.Since))
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", "the replay is not valid", map[string]string{"since": "must be an RFC 3339 time such as 2026-11-22T09:00:00Z"})
	}
	res, err := h.Webhooks.ReplayFailed(ctx, id, since)
	if err != nil {
		return webhookFailure(log, "replay failed webhook deliveries", err)
	}
	log.Info("failed webhook deliveries replayed", "replayed", res.Replayed, "succeeded", res.Attempts.Succeeded, "queued", res.Attempts.Queued, "more", res.More)
	return apigw.JSON(http.StatusOK, res)
}
