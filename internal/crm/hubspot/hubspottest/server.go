// Package hubspottest is a local fake of the parts of the HubSpot CRM v3 API
// Referflow reads (deals with their contact associations, contacts, the
// account's company currency), for unit tests and for end-to-end runs of
// the local stack (Listen). Sign webhook deliveries with package hubspot's
// SignV1/SignV2/SignV3.
package hubspottest

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Deal is a deal served by the fake. Empty strings are served as null.
type Deal struct {
	ID         string
	Pipeline   string
	Stage      string
	Amount     string            // decimal text, e.g. "12500.50"
	Currency   string            // deal_currency_code
	Properties map[string]string // any other property, e.g. "referral_id"
	ContactIDs []string          // associated contacts, in order
}

// Server is the fake API. Its zero value is not usable: use NewServer or
// NewHandler. All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to give hubspot.ClientConfig.BaseURL (set by
	// NewServer and Listen; empty for a Server made by NewHandler).
	URL string

	srv *httptest.Server

	mu       sync.Mutex
	token    string
	deals    map[string]Deal
	contacts map[string]string // id -> email
	requests int
	failN    int
	failCode int
	failAll  int
	currency string // the account's company currency
}

// NewHandler returns a Server that is not listening; mount it with ServeHTTP.
func NewHandler() *Server {
	return &Server{deals: map[string]Deal{}, contacts: map[string]string{}, currency: "USD"}
}

// NewServer starts the fake on a random local port (httptest). Close it when
// done.
func NewServer() *Server {
	s := NewHandler()
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// Listen starts the fake on addr (e.g. "127.0.0.1:4010") so a separately
// running process (the local stack) can use it. Close it when done.
func Listen(addr string) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := NewHandler()
	s.srv = httptest.NewUnstartedServer(s)
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the listener, if any.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// RequireToken makes every request without "Authorization: Bearer token"
// answer 401. An empty token accepts any request (the default).
func (s *Server) RequireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// AddDeal registers (or replaces) a deal.
func (s *Server) AddDeal(d Deal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deals[d.ID] = d
}

// AddContact registers (or replaces) a contact and its email.
func (s *Server) AddContact(id, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contacts[id] = email
}

// SetCompanyCurrency sets the account's company currency (USD unless set),
// served by GET /account-info/v3/details; "" makes it answer 403, as for
// a token without the permission.
func (s *Server) SetCompanyCurrency(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.currency = code
}

// FailNext makes the next n requests answer status (e.g. 429 or 503).
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = n, status
}

// FailAll makes every request answer status until FailAll(0).
func (s *Server) FailAll(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failAll = status
}

// Requests is the number of requests received so far.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// ServeHTTP answers GET /crm/v3/objects/deals/{id},
// GET /crm/v3/objects/contacts/{id} and GET /account-info/v3/details in
// HubSpot's response shape.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if s.failAll != 0 {
		writeError(w, s.failAll, "fake failure")
		return
	}
	if s.failN > 0 {
		s.failN--
		if s.failCode == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, s.failCode, "fake failure")
		return
	}
	if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
		writeError(w, http.StatusUnauthorized, "Authentication credentials not found.")
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if r.URL.Path == "/account-info/v3/details" {
		s.account(w)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/crm/v3/objects/")
	if !ok {
		writeError(w, http.StatusNotFound, "unknown path")
		return
	}
	kind, id, _ := strings.Cut(rest, "/")
	wanted := strings.Split(r.URL.Query().Get("properties"), ",")
	switch kind {
	case "deals", "0-3":
		d, ok := s.deals[id]
		if !ok {
			writeError(w, http.StatusNotFound, "Object not found.  objectId are usually numeric.")
			return
		}
		all := map[string]string{"dealstage": d.Stage, "pipeline": d.Pipeline, "amount": d.Amount, "deal_currency_code": d.Currency}
		for k, v := range d.Properties {
			all[k] = v
		}
		ans := object(id, all, wanted)
		if strings.Contains(r.URL.Query().Get("associations"), "contacts") && len(d.ContactIDs) > 0 {
			results := make([]map[string]string, 0, len(d.ContactIDs))
			for _, c := range d.ContactIDs {
				results = append(results, map[string]string{"id": c, "type": "deal_to_contact"})
			}
			ans["associations"] = map[string]any{"contacts": map[string]any{"results": results}}
		}
		writeJSON(w, http.StatusOK, ans)
	case "contacts", "0-1":
		email, ok := s.contacts[id]
		if !ok {
			writeError(w, http.StatusNotFound, "Object not found.  objectId are usually numeric.")
			return
		}
		writeJSON(w, http.StatusOK, object(id, map[string]string{"email": email}, wanted))
	default:
		writeError(w, http.StatusNotFound, "unknown object type")
	}
}

// account answers GET /account-info/v3/details in HubSpot's shape (s.mu
// held).
func (s *Server) account(w http.ResponseWriter) {
	if s.currency == "" {
		writeError(w, http.StatusForbidden, "This app hasn't been granted all required scopes to make this call.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"portalId": 62515, "accountType": "STANDARD", "timeZone": "US/Eastern",
		"companyCurrency": s.currency, "additionalCurrencies": []string{},
		"utcOffset": "-05:00", "utcOffsetMilliseconds": -18000000, "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1",
	})
}

// object renders a CRM v3 object: requested properties (null when unset),
// plus hs_object_id, as HubSpot does.
func object(id string, all map[string]string, wanted []string) map[string]any {
	props := map[string]any{"hs_object_id": id}
	for _, name := range wanted {
		if name == "" {
			continue
		}
		if v := all[name]; v != "" {
			props[name] = v
		} else {
			props[name] = nil
		}
	}
	return map[string]any{
		"id":         id,
		"properties": props,
		"createdAt":  "2024-01-01T00:00:00Z",
		"updatedAt":  "2024-01-01T00:00:00Z",
		"archived":   false,
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	category := "VALIDATION_ERROR"
	switch {
	case status == http.StatusNotFound:
		category = "OBJECT_NOT_FOUND"
	case status == http.StatusTooManyRequests:
		category = "RATE_LIMITS"
	case status == http.StatusUnauthorized:
		category = "INVALID_AUTHENTICATION"
	case status == http.StatusForbidden:
		category = "MISSING_SCOPES"
	}
	writeJSON(w, status, map[string]string{"status": "error", "message": msg, "correlationId": "00000000-0000-0000-0000-000000000000", "category": category})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
