// Package apigw holds the helpers every HTTP function shares for API
// Gateway HTTP API (payload format 2.0) events: raw bodies, size limits,
// media types, and the JSON error shape of docs/api.md.
package apigw

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Request is an HTTP API request event.
type Request = events.APIGatewayV2HTTPRequest

// Response is an HTTP API response.
type Response = events.APIGatewayV2HTTPResponse

// Body returns the raw request body, decoding API Gateway's base64 form.
func Body(r *Request) ([]byte, error) {
	if !r.IsBase64Encoded {
		return []byte(r.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(r.Body)
	if err != nil {
		return nil, fmt.Errorf("apigw: body is not valid base64: %w", err)
	}
	return b, nil
}

// Header returns a request header (API Gateway lower-cases names).
func Header(r *Request, name string) string {
	if v, ok := r.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Headers returns the request headers as an http.Header.
func Headers(r *Request) http.Header {
	h := make(http.Header, len(r.Headers))
	for k, v := range r.Headers {
		h.Set(k, v)
	}
	return h
}

// MediaType returns the request's media type, lower-cased, without parameters.
func MediaType(r *Request) string {
	mt, _, err := mime.ParseMediaType(Header(r, "content-type"))
	if err != nil {
		return ""
	}
	return mt
}

// URL reconstructs the URL the client called: public base URL (when the
// API sits behind a custom domain or base path, configure it) or
// https://<host>, then the raw path and query.
func URL(r *Request, publicBase string) string {
	base := strings.TrimSuffix(publicBase, "/")
	if base == "" {
		host := Header(r, "x-forwarded-host")
		if host == "" {
			host = Header(r, "host")
		}
		if host == "" {
			host = r.RequestContext.DomainName
		}
		proto := Header(r, "x-forwarded-proto")
		if proto == "" {
			proto = "https"
		}
		base = proto + "://" + host
	}
	u := base + r.RawPath
	if r.RawQueryString != "" {
		u += "?" + r.RawQueryString
	}
	return u
}

// ErrorBody is the JSON error shape of docs/api.md.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong; Fields names the fields at fault.
type ErrorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// JSON answers status with v encoded as JSON.
func JSON(status int, v any) Response {
	b, err := json.Marshal(v)
	if err != nil {
		return Error(http.StatusInternalServerError, "internal_error", "could not encode the answer", nil)
	}
	return Response{
		StatusCode: status,
		Headers:    map[string]string{"content-type": "application/json", "cache-control": "no-store"},
		Body:       string(b),
	}
}

// Error answers status with the docs/api.md error body. Every code passed
// here must be in docs/api.md "Error codes" (docs/contract_test.go checks).
func Error(status int, code, message string, fields map[string]string) Response {
	b, _ := json.Marshal(ErrorBody{Error: ErrorDetail{Code: code, Message: message, Fields: fields}})
	return Response{
		StatusCode: status,
		Headers:    map[string]string{"content-type": "application/json", "cache-control": "no-store"},
		Body:       string(b),
	}
}

// Common answers.
var (
	// TooLarge is 413 body_too_large.
	TooLarge = func(limit int) Response {
		return Error(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the body is larger than %d bytes", limit), nil)
	}
	// Unavailable is 503 for transient failures: the sender should retry.
	Unavailable = func() Response {
		r := Error(http.StatusServiceUnavailable, "temporarily_unavailable", "try again shortly", nil)
		r.Headers["retry-after"] = "5"
		return r
	}
)

// Fields decodes a flat JSON object or form-encoded body into field values.
// JSON values may be strings, numbers or booleans; nested values are
// rejected with the field named. Only names in allowed are kept.
func Fields(mediaType string, body []byte, allowed []string) (map[string]string, map[string]string, error) {
	keep := make(map[string]bool, len(allowed))
	for _, a := range allowed {
		keep[a] = true
	}
	out := map[string]string{}
	switch mediaType {
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, nil, fmt.Errorf("the form body cannot be decoded: %w", err)
		}
		for k, v := range vals {
			if keep[k] && len(v) > 0 {
				out[k] = v[0]
			}
		}
		return out, nil, nil
	case "application/json":
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
			return nil, nil, fmt.Errorf("the body is not a JSON object")
		}
		bad := map[string]string{}
		for k, v := range raw {
			if !keep[k] {
				continue
			}
			var x any
			if err := json.Unmarshal(v, &x); err != nil {
				bad[k] = "is not valid JSON"
				continue
			}
			switch t := x.(type) {
			case nil:
			case string:
				out[k] = t
			case float64, bool:
				out[k] = strings.TrimSpace(string(v))
			default:
				bad[k] = "must be a string"
			}
		}
		if len(bad) > 0 {
			return out, bad, nil
		}
		return out, nil, nil
	}
	return nil, nil, fmt.Errorf("unsupported media type %q", mediaType)
}

// PrefersHTML reports whether the Accept header ranks text/html above JSON
// (a browser posting a plain HTML form).
func PrefersHTML(r *Request) bool {
	accept := Header(r, "accept")
	best, bestQ := "", -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			fmt.Sscanf(v, "%g", &q)
		}
		if q > 0 && q > bestQ && (mt == "text/html" || mt == "application/json" || mt == "*/*") {
			best, bestQ = mt, q
		}
	}
	return best == "text/html"
}

// IdempotencyRecord is the first answer given to a request with an
// Idempotency-Key (docs/api.md): a repeat with the same body gets it
// again, one with another body is refused. Stores keep it until ExpiresAt.
type IdempotencyRecord struct {
	Key         string    `dynamodbav:"idempotency_key"`
	RequestHash string    `dynamodbav:"request_hash"`
	Status      int       `dynamodbav:"status"`
	Body        string    `dynamodbav:"body"`
	Location    string    `dynamodbav:"location,omitempty"`
	ExpiresAt   time.Time `dynamodbav:"-"`
}
