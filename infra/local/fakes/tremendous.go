package fakes

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/money"
)

// Tremendous is a stateful fake of Tremendous's orders API (v2), written
// from its documented behaviour: bearer API key; POST /api/v2/orders with
// an external_id is idempotent (a repeat answers 201 with the original
// order and creates nothing); GET /api/v2/orders?external_id= lists the
// matching orders; GET /api/v2/orders/{id} reads one by id or external id.
// Orders execute at once and their reward's delivery SUCCEEDS (or takes
// the status set with the control API). Serve it under the base URL
// URL()+"/api/v2".
type Tremendous struct {
	srv      *httptest.Server
	admin    http.ServeMux
	key      string
	mu       sync.Mutex
	orders   []*tremOrder
	faults   queuedFaults
	requests int
}

type tremOrder struct {
	ID, ExternalID, Status, Delivery, RewardID string
	Denomination                               json.Number
	Currency, Name, Email, Campaign            string
	Products                                   []string
	Created                                    time.Time
}

// TremendousOrderStatus is the body of POST /orders: the order with
// ExternalID gets Status (EXECUTED, FAILED, CANCELED, PENDING APPROVAL)
// and, when set, its reward's Delivery status (SUCCEEDED, PENDING,
// SCHEDULED, FAILED).
type TremendousOrderStatus struct {
	ExternalID string `json:"external_id"`
	Status     string `json:"status,omitempty"`
	Delivery   string `json:"delivery,omitempty"`
}

// NewTremendous starts the fake on loopback, accepting apiKey.
func NewTremendous(apiKey string) *Tremendous {
	f := &Tremendous{key: apiKey}
	api := http.NewServeMux()
	api.HandleFunc("POST /api/v2/orders", f.authed(f.create))
	api.HandleFunc("GET /api/v2/orders", f.authed(f.list))
	api.HandleFunc("GET /api/v2/orders/{id}", f.authed(f.get))
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests++
		f.mu.Unlock()
		api.ServeHTTP(w, r)
	}))
	f.admin.HandleFunc("GET /{$}", f.state)
	f.admin.HandleFunc("POST /failures", func(w http.ResponseWriter, r *http.Request) { f.faults.control(w, r, &f.mu) })
	f.admin.HandleFunc("POST /orders", f.setOrder)
	return f
}

// URL implements Fake: the API's base URL (REFERFLOW_TREMENDOUS_API_URL).
func (f *Tremendous) URL() string { return f.srv.URL + "/api/v2" }

// Admin implements Fake.
func (f *Tremendous) Admin() http.Handler { return &f.admin }

// Requests implements Fake.
func (f *Tremendous) Requests() int { f.mu.Lock(); defer f.mu.Unlock(); return f.requests }

// Close implements Fake.
func (f *Tremendous) Close() { f.srv.Close() }

// Orders counts the orders created (what a double payment would show).
func (f *Tremendous) Orders() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.orders) }

func (f *Tremendous) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+f.key {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": map[string]any{"message": "Unauthorized", "payload": map[string]any{}}})
			return
		}
		f.faults.serve(w, r, &f.mu, next, tremFault)
	}
}

func tremFault(w http.ResponseWriter, status int, code string) {
	if code == "" {
		code = http.StatusText(status)
	}
	writeJSON(w, status, map[string]any{"errors": map[string]any{"message": code, "payload": map[string]any{}}})
}

type tremRequest struct {
	ExternalID string `json:"external_id"`
	Payment    struct {
		FundingSourceID string `json:"funding_source_id"`
	} `json:"payment"`
	Reward struct {
		CampaignID string   `json:"campaign_id"`
		Products   []string `json:"products"`
		Value      struct {
			Denomination json.Number `json:"denomination"`
			CurrencyCode string      `json:"currency_code"`
		} `json:"value"`
		Recipient struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"recipient"`
		Delivery struct {
			Method string `json:"method"`
		} `json:"delivery"`
	} `json:"reward"`
}

func (f *Tremendous) create(w http.ResponseWriter, r *http.Request) {
	var in tremRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		tremInvalid(w, "body", "is not valid JSON")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.ExternalID != "" {
		for _, o := range f.orders {
			if o.ExternalID == in.ExternalID {
				writeJSON(w, http.StatusCreated, map[string]any{"order": o.json()}) // documented: 201, the original, nothing created
				return
			}
		}
	}
	if field, msg := tremValidate(in); field != "" {
		tremInvalid(w, field, msg)
		return
	}
	rw := in.Reward
	o := &tremOrder{ID: paypalID(12), RewardID: paypalID(12), ExternalID: in.ExternalID, Status: "EXECUTED", Delivery: "SUCCEEDED",
		Denomination: rw.Value.Denomination, Currency: rw.Value.CurrencyCode, Name: rw.Recipient.Name, Email: rw.Recipient.Email,
		Campaign: rw.CampaignID, Products: rw.Products, Created: time.Now().UTC()}
	f.orders = append(f.orders, o)
	writeJSON(w, http.StatusCreated, map[string]any{"order": o.json()})
}

// tremValidate checks an order request as Tremendous documents it.
func tremValidate(in tremRequest) (field, msg string) {
	rw := in.Reward
	switch {
	case in.Payment.FundingSourceID == "":
		return "payment.funding_source_id", "is required"
	case rw.CampaignID == "" && len(rw.Products) == 0:
		return "reward.products", "either products or campaign_id must be specified"
	case rw.Delivery.Method != "EMAIL" && rw.Delivery.Method != "LINK" && rw.Delivery.Method != "PHONE":
		return "reward.delivery.method", "must be EMAIL, LINK or PHONE"
	case rw.Recipient.Name == "":
		return "reward.recipient.name", "is required"
	case rw.Delivery.Method == "EMAIL" && !strings.Contains(rw.Recipient.Email, "@"):
		return "reward.recipient.email", "is invalid"
	}
	exp, ok := money.Exponent(rw.Value.CurrencyCode)
	if !ok {
		return "reward.value.currency_code", "is not supported"
	}
	if v, err := money.ParseDecimal(rw.Value.Denomination.String(), exp); err != nil || v <= 0 {
		return "reward.value.denomination", "must be a positive amount of the currency"
	}
	return "", ""
}

func tremInvalid(w http.ResponseWriter, field, msg string) {
	payload := map[string]any{}
	cur := payload
	parts := strings.Split(field, ".")
	for _, p := range parts[:len(parts)-1] {
		next := map[string]any{}
		cur[p] = next
		cur = next
	}
	cur[parts[len(parts)-1]] = []string{msg}
	writeJSON(w, http.StatusBadRequest, map[string]any{"errors": map[string]any{"message": "Validation failed: " + field + " " + msg, "payload": payload}})
}

func (o *tremOrder) json() map[string]any {
	d, _ := strconv.ParseFloat(o.Denomination.String(), 64)
	return map[string]any{"id": o.ID, "external_id": o.ExternalID, "campaign_id": o.Campaign, "created_at": o.Created.Format(time.RFC3339),
		"status": o.Status, "payment": map[string]any{"subtotal": d, "total": d, "fees": 0},
		"rewards": []map[string]any{{"id": o.RewardID, "order_id": o.ID, "created_at": o.Created.Format(time.RFC3339),
			"value":     map[string]any{"denomination": o.Denomination, "currency_code": o.Currency},
			"delivery":  map[string]any{"method": "EMAIL", "status": o.Delivery},
			"recipient": map[string]any{"name": o.Name, "email": o.Email}, "products": o.Products}}}
}

func (f *Tremendous) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 10
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 && l <= 100 {
		limit = l
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	f.mu.Lock()
	defer f.mu.Unlock()
	var match []*tremOrder
	for _, o := range f.orders {
		if (q.Get("external_id") == "" || o.ExternalID == q.Get("external_id")) && (q.Get("campaign_id") == "" || o.Campaign == q.Get("campaign_id")) {
			match = append(match, o)
		}
	}
	sort.SliceStable(match, func(i, j int) bool { return match[i].Created.After(match[j].Created) })
	out := []map[string]any{}
	for i := offset; i < len(match) && len(out) < limit; i++ {
		out = append(out, match[i].json())
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": out, "total_count": len(match)})
}

func (f *Tremendous) get(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o := f.find(r.PathValue("id")); o != nil {
		writeJSON(w, http.StatusOK, map[string]any{"order": o.json()})
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"errors": map[string]any{"message": "Record not found", "payload": map[string]any{}}})
}

// find returns the order with id or external id, nil when none.
func (f *Tremendous) find(id string) *tremOrder {
	for _, o := range f.orders {
		if o.ID == id || o.ExternalID == id && id != "" {
			return o
		}
	}
	return nil
}

func (f *Tremendous) state(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := []map[string]any{}
	for _, o := range f.orders {
		list = append(list, o.json())
	}
	writeJSON(w, http.StatusOK, map[string]any{"url": f.URL(), "requests": f.requests, "orders": list})
}

func (f *Tremendous) setOrder(w http.ResponseWriter, r *http.Request) {
	var in TremendousOrderStatus
	if !decode(w, r, &in) {
		return
	}
	okStatus := map[string]bool{"": true, "EXECUTED": true, "FAILED": true, "CANCELED": true, "PENDING APPROVAL": true}
	okDelivery := map[string]bool{"": true, "SUCCEEDED": true, "PENDING": true, "SCHEDULED": true, "FAILED": true}
	if !okStatus[in.Status] || !okDelivery[in.Delivery] {
		writeError(w, http.StatusBadRequest, "invalid_request", "status: EXECUTED, FAILED, CANCELED, PENDING APPROVAL; delivery: SUCCEEDED, PENDING, SCHEDULED, FAILED")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.find(in.ExternalID)
	if o == nil {
		writeError(w, http.StatusNotFound, "not_found", "no order with that external_id")
		return
	}
	if in.Status != "" {
		o.Status = in.Status
	}
	if in.Delivery != "" {
		o.Delivery = in.Delivery
	}
	writeJSON(w, http.StatusOK, map[string]any{"order": o.json()})
}

// RailFault is the body of POST /failures of the PayPal and Tremendous
// fakes: the next Next API requests (1 when 0) fail. Status alone answers
// that status without processing the request (5xx, 409, 429, or a
// definite 4xx with the provider's error Code); After processes it first,
// then answers Status; HangUp processes it, then drops the connection.
// {"status":0} clears the queue.
type RailFault struct {
	Status int    `json:"status,omitempty"`
	Code   string `json:"code,omitempty"`
	After  bool   `json:"after,omitempty"`
	HangUp bool   `json:"hang_up,omitempty"`
	Next   int    `json:"next,omitempty"`
}

// queuedFaults is the failure plan of a rail fake, guarded by its mutex.
type queuedFaults struct{ queue []RailFault }

func (q *queuedFaults) control(w http.ResponseWriter, r *http.Request, mu *sync.Mutex) {
	var in RailFault
	if !decode(w, r, &in) {
		return
	}
	if in.Next < 0 || !in.HangUp && in.Status != 0 && (in.Status < 400 || in.Status > 599) {
		writeError(w, http.StatusBadRequest, "invalid_request", "status must be 400-599 (or hang_up), next >= 0")
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if in.Status == 0 && !in.HangUp {
		q.queue = nil
		writeJSON(w, http.StatusOK, map[string]int{"queued": 0})
		return
	}
	n := max(in.Next, 1)
	for range n {
		q.queue = append(q.queue, in)
	}
	writeJSON(w, http.StatusOK, map[string]int{"queued": len(q.queue)})
}

// serve answers r with the next queued fault, or with next when none.
func (q *queuedFaults) serve(w http.ResponseWriter, r *http.Request, mu *sync.Mutex, next http.HandlerFunc, refuse func(http.ResponseWriter, int, string)) {
	mu.Lock()
	var f RailFault
	failing := len(q.queue) > 0
	if failing {
		f, q.queue = q.queue[0], q.queue[1:]
	}
	mu.Unlock()
	switch {
	case !failing:
		next(w, r)
	case f.HangUp:
		next(httptest.NewRecorder(), r)
		hangUpRail(w)
	default:
		if f.After {
			next(httptest.NewRecorder(), r)
		}
		refuse(w, f.Status, f.Code)
	}
}

var (
	_ Fake = (*PayPal)(nil)
	_ Fake = (*Tremendous)(nil)
)
