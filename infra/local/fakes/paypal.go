package fakes

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/money"
)

// PayPal is a stateful fake of PayPal's OAuth2 token and Payouts APIs,
// written from PayPal's documented behaviour: client-credentials tokens
// that expire; POST /v1/payments/payouts that replays the payout of a used
// PayPal-Request-Id, validates the body (at least one item), refuses a
// used sender_batch_id with USER_BUSINESS_ERROR and a link to the
// original, and otherwise creates the payout; GET /v1/payments/payouts/{id}.
// Both keys are remembered for PayPalIdempotencyWindow only: past it (POST
// /clock moves the fake's clock) the same keys create a new payout, as
// PayPal documents sender_batch_id unique for 30 days. Items settle at
// once as SUCCESS (or the status set with the control API). Its control
// API (Admin) injects failures, moves items and the clock.
type PayPal struct {
	srv          *httptest.Server
	admin        http.ServeMux
	id, secret   string
	mu           sync.Mutex
	tokens       map[string]bool
	tokenTTL     int
	batches      map[string]*ppBatch // by payout_batch_id
	bySender     map[string]string   // sender_batch_id -> payout_batch_id
	byRequestID  map[string]string   // PayPal-Request-Id -> payout_batch_id
	faults       queuedFaults
	requests     int
	tokensIssued int
	offset       time.Duration // POST /clock
}

// PayPalIdempotencyWindow is how long PayPal refuses a used
// sender_batch_id (and replays a PayPal-Request-Id).
const PayPalIdempotencyWindow = 30 * 24 * time.Hour

type ppBatch struct {
	ID, SenderBatchID, Status string
	Subject                   string
	Items                     []ppItem
	Created                   time.Time // on the fake's clock
}

type ppItem struct {
	ID, Status, Error            string
	RecipientType                string
	Amount                       ppAmount
	Receiver, SenderItemID, Note string
}

type ppAmount struct {
	Value    string `json:"value"`
	Currency string `json:"currency"`
}

// PayPalItemStatus is the body of POST /items: the item of the payout with
// SenderBatchID gets Status (SUCCESS, PENDING, UNCLAIMED, ONHOLD, FAILED,
// RETURNED, BLOCKED, REFUNDED, REVERSED) and Error's name, or the batch is
// DENIED when Status is DENIED.
type PayPalItemStatus struct {
	SenderBatchID string `json:"sender_batch_id"`
	Status        string `json:"status"`
	Error         string `json:"error,omitempty"`
}

// NewPayPal starts the fake on loopback, accepting the client id and
// secret given.
func NewPayPal(clientID, secret string) *PayPal {
	f := &PayPal{id: clientID, secret: secret, tokens: map[string]bool{}, tokenTTL: 32400,
		batches: map[string]*ppBatch{}, bySender: map[string]string{}, byRequestID: map[string]string{}}
	api := http.NewServeMux()
	api.HandleFunc("POST /v1/oauth2/token", f.token)
	api.HandleFunc("POST /v1/payments/payouts", f.authed(f.create))
	api.HandleFunc("GET /v1/payments/payouts/{id}", f.authed(f.get))
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests++
		f.mu.Unlock()
		api.ServeHTTP(w, r)
	}))
	f.admin.HandleFunc("GET /{$}", f.state)
	f.admin.HandleFunc("POST /failures", func(w http.ResponseWriter, r *http.Request) { f.faults.control(w, r, &f.mu) })
	f.admin.HandleFunc("POST /items", f.setItem)
	f.admin.HandleFunc("POST /tokens/expire", f.expireTokens)
	f.admin.HandleFunc("POST /clock", f.advance)
	return f
}

// URL implements Fake.
func (f *PayPal) URL() string { return f.srv.URL }

// Admin implements Fake.
func (f *PayPal) Admin() http.Handler { return &f.admin }

// Requests implements Fake.
func (f *PayPal) Requests() int { f.mu.Lock(); defer f.mu.Unlock(); return f.requests }

// Close implements Fake.
func (f *PayPal) Close() { f.srv.Close() }

// Payouts counts the payouts created (what a double payment would show).
func (f *PayPal) Payouts() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.batches) }

// TokensIssued counts the access tokens handed out.
func (f *PayPal) TokensIssued() int { f.mu.Lock(); defer f.mu.Unlock(); return f.tokensIssued }

func (f *PayPal) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != f.id || secret != f.secret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Client Authentication failed"})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"})
		return
	}
	f.mu.Lock()
	tok := "A21AA" + paypalID(24)
	f.tokens[tok] = true
	f.tokensIssued++
	ttl := f.tokenTTL
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"scope": "https://uri.paypal.com/payments/payouts", "access_token": tok,
		"token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": ttl, "nonce": paypalID(16)})
}

func (f *PayPal) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		valid := ok && f.tokens[tok]
		f.mu.Unlock()
		if !valid {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "Token signature verification failed"})
			return
		}
		f.faults.serve(w, r, &f.mu, next, ppFault)
	}
}

// ppFault answers an injected definite refusal as PayPal does.
func ppFault(w http.ResponseWriter, status int, code string) {
	if code == "" {
		code = map[bool]string{true: "INTERNAL_SERVER_ERROR", false: "VALIDATION_ERROR"}[status >= 500]
	}
	writeJSON(w, status, map[string]any{"name": code, "message": "injected by the local fake", "debug_id": paypalID(13)})
}

type ppRequest struct {
	Header struct {
		SenderBatchID string `json:"sender_batch_id"`
		RecipientType string `json:"recipient_type"`
		EmailSubject  string `json:"email_subject"`
	} `json:"sender_batch_header"`
	Items []struct {
		RecipientType string   `json:"recipient_type"`
		Amount        ppAmount `json:"amount"`
		Receiver      string   `json:"receiver"`
		SenderItemID  string   `json:"sender_item_id"`
		Note          string   `json:"note"`
	} `json:"items"`
}

func (f *PayPal) create(w http.ResponseWriter, r *http.Request) {
	reqID := r.Header.Get("PayPal-Request-Id")
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.byRequestID[reqID]; ok && reqID != "" && f.remembers(id) {
		writeJSON(w, http.StatusCreated, f.answer(f.batches[id], false)) // the latest state of that request
		return
	}
	var in ppRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		ppValidation(w, "body", "MALFORMED_REQUEST_JSON")
		return
	}
	if field, issue := ppValidate(in); field != "" {
		ppValidation(w, field, issue)
		return
	}
	if id, ok := f.bySender[in.Header.SenderBatchID]; ok && f.remembers(id) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"name": "USER_BUSINESS_ERROR", "message": "User business error.",
			"debug_id": paypalID(13), "information_link": "https://developer.paypal.com/docs/api/payments.payouts-batch/#errors",
			"details": []map[string]string{{"field": "SENDER_BATCH_ID", "location": "body", "issue": "Batch with given sender_batch_id already exists"}},
			"links":   []map[string]string{{"href": f.srv.URL + "/v1/payments/payouts/" + id, "rel": "self", "method": "GET", "encType": "application/json"}}})
		return
	}
	b := &ppBatch{ID: paypalID(13), SenderBatchID: in.Header.SenderBatchID, Status: "SUCCESS", Subject: in.Header.EmailSubject,
		Created: time.Now().Add(f.offset)}
	for _, it := range in.Items {
		rt := it.RecipientType
		if rt == "" {
			rt = in.Header.RecipientType
		}
		b.Items = append(b.Items, ppItem{ID: paypalID(13), Status: "SUCCESS", RecipientType: rt, Amount: it.Amount,
			Receiver: it.Receiver, SenderItemID: it.SenderItemID, Note: it.Note})
	}
	f.batches[b.ID] = b
	f.bySender[b.SenderBatchID] = b.ID
	if reqID != "" {
		f.byRequestID[reqID] = b.ID
	}
	writeJSON(w, http.StatusCreated, f.answer(b, false))
}

// remembers reports whether payout id's keys are still within
// PayPalIdempotencyWindow; f.mu is held.
func (f *PayPal) remembers(id string) bool {
	b, ok := f.batches[id]
	return ok && time.Now().Add(f.offset).Sub(b.Created) < PayPalIdempotencyWindow
}

// advance moves the fake's clock forward: {"advance_seconds": n}.
func (f *PayPal) advance(w http.ResponseWriter, r *http.Request) {
	var c StripeClock
	if !decode(w, r, &c) {
		return
	}
	if c.AdvanceSeconds < 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "advance_seconds must be >= 0")
		return
	}
	f.mu.Lock()
	f.offset += time.Duration(c.AdvanceSeconds) * time.Second
	now := time.Now().Add(f.offset)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"now": now.UTC().Format(time.RFC3339)})
}

// ppValidate checks a payout request as PayPal documents it.
func ppValidate(in ppRequest) (field, issue string) {
	if in.Header.SenderBatchID == "" || len(in.Header.SenderBatchID) > 256 {
		return "sender_batch_header.sender_batch_id", "sender_batch_id must be 1 to 256 characters"
	}
	if len(in.Items) < 1 || len(in.Items) > 15000 {
		return "items", "Number of items must be between 1 and 15000"
	}
	for i, it := range in.Items {
		rt := it.RecipientType
		if rt == "" {
			rt = in.Header.RecipientType
		}
		at := fmt.Sprintf("items[%d]", i)
		if rt != "EMAIL" && rt != "PHONE" && rt != "PAYPAL_ID" {
			return at + ".recipient_type", "Recipient type is invalid"
		}
		if it.Receiver == "" || rt == "EMAIL" && !strings.Contains(it.Receiver, "@") {
			return at + ".receiver", "Receiver is invalid or does not match with type"
		}
		if _, ok := money.Exponent(it.Amount.Currency); !ok {
			return at + ".amount.currency", "Currency code is invalid"
		}
		if v, err := money.ParseAmount(it.Amount.Value, it.Amount.Currency); err != nil || v <= 0 {
			return at + ".amount.value", "Amount value is invalid for the currency"
		}
	}
	return "", ""
}

func ppValidation(w http.ResponseWriter, field, issue string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"name": "VALIDATION_ERROR", "message": "Invalid request - see details",
		"debug_id": paypalID(13), "details": []map[string]string{{"field": field, "location": "body", "issue": issue}}, "links": []any{}})
}

func (f *PayPal) get(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.batches[r.PathValue("id")]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"name": "RESOURCE_NOT_FOUND", "message": "The requested resource was not found."})
		return
	}
	writeJSON(w, http.StatusOK, f.answer(b, true))
}

// answer is a payout as PayPal shows it; the POST answer has no items.
func (f *PayPal) answer(b *ppBatch, items bool) map[string]any {
	self := f.srv.URL + "/v1/payments/payouts/" + b.ID
	status := b.Status
	if !items && status != "DENIED" {
		status = "PENDING"
	}
	out := map[string]any{
		"batch_header": map[string]any{"payout_batch_id": b.ID, "batch_status": status,
			"sender_batch_header": map[string]string{"sender_batch_id": b.SenderBatchID, "email_subject": b.Subject}},
		"links": []map[string]string{{"href": self, "rel": "self", "method": "GET", "encType": "application/json"}},
	}
	if items {
		list := []map[string]any{}
		for _, it := range b.Items {
			m := map[string]any{"payout_item_id": it.ID, "transaction_status": it.Status, "payout_batch_id": b.ID,
				"payout_item": map[string]any{"recipient_type": it.RecipientType, "amount": it.Amount, "receiver": it.Receiver,
					"sender_item_id": it.SenderItemID, "note": it.Note}}
			if it.Error != "" {
				m["errors"] = map[string]string{"name": it.Error, "message": "set by the local fake"}
			}
			list = append(list, m)
		}
		out["items"] = list
	}
	return out
}

func (f *PayPal) state(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := []map[string]any{}
	for _, b := range f.batches {
		list = append(list, f.answer(b, true))
	}
	writeJSON(w, http.StatusOK, map[string]any{"url": f.srv.URL, "requests": f.requests, "tokens_issued": f.tokensIssued, "payouts": list})
}

func (f *PayPal) setItem(w http.ResponseWriter, r *http.Request) {
	var in PayPalItemStatus
	if !decode(w, r, &in) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.batches[f.bySender[in.SenderBatchID]]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no payout with that sender_batch_id")
		return
	}
	switch in.Status {
	case "DENIED":
		b.Status = "DENIED"
	case "SUCCESS", "PENDING", "UNCLAIMED", "ONHOLD", "FAILED", "RETURNED", "BLOCKED", "REFUNDED", "REVERSED":
		for i := range b.Items {
			b.Items[i].Status, b.Items[i].Error = in.Status, in.Error
		}
	default:
		writeError(w, http.StatusBadRequest, "invalid_request", "status must be a PayPal item transaction_status or DENIED")
		return
	}
	writeJSON(w, http.StatusOK, f.answer(b, true))
}

// expireTokens makes every access token handed out so far expire (PayPal
// then answers 401 invalid_token); the body may set the expires_in of the
// next ones: {"expires_in": 60}.
func (f *PayPal) expireTokens(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ExpiresIn int `json:"expires_in"`
	}
	if r.ContentLength != 0 && !decode(w, r, &in) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = map[string]bool{}
	if in.ExpiresIn > 0 {
		f.tokenTTL = in.ExpiresIn
	}
	writeJSON(w, http.StatusOK, map[string]int{"expires_in": f.tokenTTL})
}

// paypalID is an upper-case alphanumeric id like PayPal's.
func paypalID(n int) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// hangUpRail drops the connection without an answer.
func hangUpRail(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
