package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/infra/local/lambdaemu"
	"github.com/referflow/referflow/infra/local/meter"
)

// MaxBody is API Gateway's request payload limit (10 MB).
const MaxBody = 10 << 20

// InternalPrefix is the path prefix of the local stack's own endpoints
// (stats, health); such requests go to Config.Internal.
const InternalPrefix = "/__referflow/"

// Invoker runs a function by logical id.
type Invoker func(ctx context.Context, function string, payload []byte) (lambdaemu.Result, error)

// Config configures a Server.
type Config struct {
	Router    *Router
	APIID     string
	AccountID string
	CORS      *CORS // nil when the api has no CorsConfiguration
	// AdminToken guards AWS_IAM routes: requests need
	// "Authorization: Bearer <AdminToken>" (SigV4 cannot be checked locally).
	AdminToken string
	Invoke     Invoker
	Meter      *meter.Meter
	Internal   http.Handler
	Log        *log.Logger
}

// Server is the HTTP API front.
type Server struct{ c Config }

// NewServer returns the front for c.
func NewServer(c Config) *Server { return &Server{c: c} }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, InternalPrefix) && s.c.Internal != nil {
		s.c.Internal.ServeHTTP(w, r)
		return
	}
	reqID := newAPIRequestID()
	w.Header().Set("Apigw-Requestid", reqID)
	if r.ContentLength > MaxBody {
		s.count("413")
		gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		gatewayError(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > MaxBody {
		s.count("413")
		gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	origin := r.Header.Get("Origin")
	if s.c.CORS != nil && IsPreflight(r) {
		s.count("OPTIONS (CORS preflight)")
		for k, v := range s.c.CORS.Preflight(r) {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	route, params, ok := s.c.Router.Match(r.Method, r.URL.EscapedPath())
	if !ok {
		s.count("404")
		s.c.CORS.Apply(origin, w.Header())
		gatewayError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.count(route.Key())
	if route.IAM && !s.authorized(r) {
		s.c.CORS.Apply(origin, w.Header())
		gatewayError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	now := time.Now()
	ev := BuildEvent(r, EventInput{
		Route: route, PathParams: params, APIID: s.c.APIID, AccountID: s.c.AccountID,
		RequestID: reqID, TraceID: newTraceID(now), Now: now, Body: body,
	})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // AWS does not escape &, < and > in events
	err = enc.Encode(ev)
	payload := bytes.TrimSpace(buf.Bytes())
	if err != nil {
		s.c.Log.Printf("http api: marshal event: %v", err)
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	// API Gateway's integration timeout is 30 s.
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	res, err := s.c.Invoke(ctx, route.Function, payload)
	if err != nil {
		s.c.Log.Printf("http api: %s: %v", route.Key(), err)
		s.c.CORS.Apply(origin, w.Header())
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if res.FunctionError != "" {
		s.c.CORS.Apply(origin, w.Header())
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	resp, err := MapResponse(res.Payload)
	if err != nil {
		s.c.Log.Printf("http api: %s: %v", route.Key(), err)
		s.c.CORS.Apply(origin, w.Header())
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	if resp.Header.Get("Content-Type") == "" {
		w.Header()["Content-Type"] = nil // no sniffing: API Gateway sends none
	}
	s.c.CORS.Apply(origin, w.Header())
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(resp.Body)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || s.c.AdminToken == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.c.AdminToken)) == 1
}

func (s *Server) count(key string) {
	if s.c.Meter != nil {
		s.c.Meter.Route(key)
	}
}

func gatewayError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": msg})
	_, _ = w.Write(b)
}

// newAPIRequestID returns an id shaped like API Gateway's ("JKJaXmPLvHcESHA=").
func newAPIRequestID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

func newTraceID(now time.Time) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "Root=1-" + strconv.FormatInt(now.Unix(), 16) + "-" + hex.EncodeToString(b[:])
}
