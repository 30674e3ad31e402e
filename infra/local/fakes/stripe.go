package fakes

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StripeIdempotencyWindow is how long Stripe keeps an idempotency key's
// first result.
const StripeIdempotencyWindow = 24 * time.Hour

// StripeFailure is the body of POST /failures on the Stripe fake's control
// API: the next Next API requests (1 when 0) fail. Status answers that
// status with a Stripe error (Type and Code, e.g. 400 "invalid_request_error"
// "insufficient_funds"); Hangup closes the connection without an answer;
// After carries the request out first (the payment exists, the caller does
// not learn it); DelayMS holds the request, its idempotency key in use,
// before it is carried out. A failed request's answer is kept for its key
// (and replayed) as Stripe keeps an executed request's, except a 409 or 429
// (refused before executing) and a hang-up after the request was carried
// out (the key keeps the success the caller missed).
type StripeFailure struct {
	Status  int    `json:"status,omitempty"`
	Type    string `json:"type,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Hangup  bool   `json:"hangup,omitempty"`
	After   bool   `json:"after,omitempty"`
	DelayMS int    `json:"delay_ms,omitempty"`
	Next    int    `json:"next,omitempty"`
}

// StripeClock is the body of POST /clock: moves the fake's clock forward
// (e.g. past the idempotency window).
type StripeClock struct {
	AdvanceSeconds int64 `json:"advance_seconds"`
}

// Stripe is a stateful fake of the Stripe API endpoints the Stripe payout
// rail calls (transfers, customer balance transactions, coupons, promotion
// codes), written from Stripe's documented behaviour: form-encoded bodies,
// the secret key as Bearer or basic auth, Idempotency-Key semantics (the
// first executed result replayed with Idempotent-Replayed: true for 24 h,
// 400 idempotency_error for other parameters, 409 idempotency_key_in_use
// while the first is executing), cursor pagination (limit, starting_after,
// newest first). Its control API (Admin) reads state, injects failures,
// reverses transfers and moves the clock. It implements Fake.
type Stripe struct {
	key   string
	srv   *http.Server
	url   string
	admin http.Handler

	mu       sync.Mutex
	now      func() time.Time
	offset   time.Duration
	requests int
	failures []StripeFailure
	chaos    *stripeChaos   // random failures (POST /chaos)
	injected map[string]int // failures injected, by StripeFailureName
	keys     map[string]*stripeKey
	objects  map[string][]stripeObject // by list: "transfers", "cbtxn:<customer>", "coupons", "promotion_codes"
	byID     map[string]stripeObject
	balance  map[string]int64 // customer balances
}

type stripeKey struct {
	request string // method, path and canonical body
	at      time.Time
	busy    bool
	status  int
	body    []byte
}

type stripeObject map[string]any

// NewStripe starts the fake on loopback, accepting apiKey; now is its clock
// (nil: time.Now).
func NewStripe(apiKey string, now func() time.Time) (*Stripe, error) {
	if now == nil {
		now = time.Now
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &Stripe{key: apiKey, now: now, url: "http://" + ln.Addr().String(),
		keys: map[string]*stripeKey{}, objects: map[string][]stripeObject{}, byID: map[string]stripeObject{}, balance: map[string]int64{},
		injected: map[string]int{}}
	api := http.NewServeMux()
	api.HandleFunc("POST /v1/transfers", f.createTransfer)
	api.HandleFunc("GET /v1/transfers", f.list("transfers", "transfer_group", "destination"))
	api.HandleFunc("GET /v1/transfers/{id}", f.retrieve("tr_"))
	api.HandleFunc("POST /v1/customers/{customer}/balance_transactions", f.createBalanceTransaction)
	api.HandleFunc("GET /v1/customers/{customer}/balance_transactions", f.listBalanceTransactions)
	api.HandleFunc("POST /v1/coupons", f.createCoupon)
	api.HandleFunc("GET /v1/coupons/{id}", f.retrieve(""))
	api.HandleFunc("POST /v1/promotion_codes", f.createPromotionCode)
	api.HandleFunc("GET /v1/promotion_codes", f.list("promotion_codes", "coupon", "code", "customer"))
	f.reversalRoutes(api) // stripe_reversal.go
	f.srv = &http.Server{Handler: f.serve(api), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	admin := http.NewServeMux()
	admin.HandleFunc("GET /{$}", f.state)
	admin.HandleFunc("POST /failures", f.fail)
	admin.HandleFunc("POST /chaos", f.setChaos) // stripe_chaos.go
	admin.HandleFunc("POST /clock", f.advance)
	admin.HandleFunc("POST /transfers/{id}/reverse", f.reverse)
	f.reversalControls(admin) // stripe_reversal.go
	f.admin = admin
	return f, nil
}

// URL implements Fake.
func (f *Stripe) URL() string { return f.url }

// Admin implements Fake.
func (f *Stripe) Admin() http.Handler { return f.admin }

// Requests implements Fake.
func (f *Stripe) Requests() int { f.mu.Lock(); defer f.mu.Unlock(); return f.requests }

// Close implements Fake.
func (f *Stripe) Close() { _ = f.srv.Close() }

// Objects returns a copy of the objects of one list ("transfers",
// "coupons", "promotion_codes", "cbtxn:<customer>"), oldest first.
func (f *Stripe) Objects(list string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]map[string]any, 0, len(f.objects[list]))
	for _, o := range f.objects[list] {
		out = append(out, clone(o))
	}
	return out
}

func (f *Stripe) clock() time.Time { return f.now().Add(f.offset) }

// serve checks the key, injects failures, and applies idempotency around
// the API's handlers.
func (f *Stripe) serve(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests++
		f.mu.Unlock()
		if !f.authorized(r) {
			stripeError(w, http.StatusUnauthorized, "invalid_request_error", "", "Invalid API Key provided.")
			return
		}
		if err := r.ParseForm(); err != nil {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "Invalid form body.")
			return
		}
		fail, failing := f.nextFailure(r.Method)
		key := r.Header.Get("Idempotency-Key")
		if r.Method != http.MethodPost || key == "" {
			f.answer(w, r, api, fail, failing, nil)
			return
		}
		k, replay, ok := f.claim(w, r, key)
		if !ok {
			return
		}
		if replay != nil {
			w.Header().Set("Idempotent-Replayed", "true")
			writeRaw(w, replay.status, replay.body)
			return
		}
		f.answer(w, r, api, fail, failing, k)
	})
}

// claim takes key for request r: the stored result to replay, or the key
// marked busy for this request; false when r was answered (a conflict).
func (f *Stripe) claim(w http.ResponseWriter, r *http.Request, key string) (*stripeKey, *stripeKey, bool) {
	req := r.Method + " " + r.URL.Path + "?" + r.PostForm.Encode()
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[key]
	if ok && !k.busy && f.clock().Sub(k.at) >= StripeIdempotencyWindow {
		ok = false
	}
	switch {
	case !ok:
		k = &stripeKey{request: req, at: f.clock(), busy: true}
		f.keys[key] = k
		return k, nil, true
	case k.busy:
		stripeError(w, http.StatusConflict, "idempotency_error", "idempotency_key_in_use",
			"There is currently another in-progress request using this Idempotent Key. Please try again later.")
	case k.request != req:
		stripeError(w, http.StatusBadRequest, "idempotency_error", "",
			"Keys for idempotent requests can only be used with the same parameters they were first used with.")
	default:
		return nil, k, true
	}
	return nil, nil, false
}

// answer runs the request (or its injected failure), keeping the result
// for k when Stripe would.
func (f *Stripe) answer(w http.ResponseWriter, r *http.Request, api http.Handler, fail StripeFailure, failing bool, k *stripeKey) {
	if failing {
		f.mu.Lock()
		f.injected[StripeFailureName(fail)]++ // a replayed key's request never gets here
		f.mu.Unlock()
	}
	if failing && fail.DelayMS > 0 {
		time.Sleep(time.Duration(fail.DelayMS) * time.Millisecond)
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	executed := !failing || fail.After || fail.DelayMS > 0 && fail.Status == 0 && !fail.Hangup
	if executed {
		api.ServeHTTP(rec, r)
	}
	keep := executed && rec.header.Get("Stripe-Executed") == "true"
	if failing && fail.Status != 0 {
		rec = &recorder{header: http.Header{}}
		stripeError(rec, fail.Status, orDefault(fail.Type, stripeErrorType(fail.Status)), fail.Code, orDefault(fail.Message, "injected failure"))
		keep = fail.Status != http.StatusConflict && fail.Status != http.StatusTooManyRequests
	}
	rec.header.Del("Stripe-Executed")
	f.settle(k, rec, keep)
	if failing && fail.Hangup {
		hangup(w)
		return
	}
	for name, v := range rec.header {
		w.Header()[name] = v
	}
	writeRaw(w, rec.status, rec.body.Bytes())
}

// settle stores rec for k, or frees k when Stripe keeps no result.
func (f *Stripe) settle(k *stripeKey, rec *recorder, keep bool) {
	if k == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for key, v := range f.keys {
		if v == k && !keep {
			delete(f.keys, key)
		}
	}
	k.busy, k.status, k.body = false, rec.status, rec.body.Bytes()
}

func (f *Stripe) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return f.key != "" && tok == f.key
	}
	if user, _, ok := r.BasicAuth(); ok {
		return f.key != "" && user == f.key
	}
	return false
}

// nextFailure is the failure of the next API request (of method): the
// first queued one, else a random one when chaos is on.
func (f *Stripe) nextFailure(method string) (StripeFailure, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.failures) == 0 {
		return f.randomFailure(method)
	}
	fail := f.failures[0]
	if fail.Next--; fail.Next <= 0 {
		f.failures = f.failures[1:]
	} else {
		f.failures[0] = fail
	}
	return fail, true
}

// add stores a new object (id from prefix unless given) in list.
func (f *Stripe) add(list, prefix string, o stripeObject) stripeObject {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o["id"] == nil || o["id"] == "" {
		o["id"] = prefix + randomID()
	}
	o["created"] = f.clock().Unix()
	o["livemode"] = false
	f.objects[list] = append(f.objects[list], o)
	f.byID[o["id"].(string)] = o
	return clone(o)
}

func (f *Stripe) createTransfer(w http.ResponseWriter, r *http.Request) {
	amount, ok := positive(w, r, "amount")
	if !ok || !required(w, r, "currency", "destination") {
		return
	}
	if !strings.HasPrefix(r.PostForm.Get("destination"), "acct_") {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "resource_missing", "No such destination: '"+r.PostForm.Get("destination")+"'")
		return
	}
	executed(w)
	writeJSON(w, http.StatusOK, f.add("transfers", "tr_", stripeObject{
		"object": "transfer", "amount": amount, "amount_reversed": int64(0), "reversed": false,
		"currency": strings.ToLower(r.PostForm.Get("currency")), "destination": r.PostForm.Get("destination"),
		"transfer_group": nullable(r.PostForm.Get("transfer_group")), "description": nullable(r.PostForm.Get("description")),
		"metadata": formMap(r.PostForm, "metadata"),
	}))
}

func (f *Stripe) createBalanceTransaction(w http.ResponseWriter, r *http.Request) {
	customer := r.PathValue("customer")
	amount, err := strconv.ParseInt(r.PostForm.Get("amount"), 10, 64)
	if err != nil || amount == 0 {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer", "amount must be a non-zero integer.")
		return
	}
	if !required(w, r, "currency") {
		return
	}
	if !strings.HasPrefix(customer, "cus_") {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "No such customer: '"+customer+"'")
		return
	}
	f.mu.Lock()
	f.balance[customer] += amount
	ending := f.balance[customer]
	f.mu.Unlock()
	executed(w)
	writeJSON(w, http.StatusOK, f.add("cbtxn:"+customer, "cbtxn_", stripeObject{
		"object": "customer_balance_transaction", "amount": amount, "ending_balance": ending, "type": "adjustment",
		"currency": strings.ToLower(r.PostForm.Get("currency")), "customer": customer,
		"description": nullable(r.PostForm.Get("description")), "metadata": formMap(r.PostForm, "metadata"),
	}))
}

func (f *Stripe) listBalanceTransactions(w http.ResponseWriter, r *http.Request) {
	f.list("cbtxn:"+r.PathValue("customer"))(w, r)
}

func (f *Stripe) createCoupon(w http.ResponseWriter, r *http.Request) {
	form := r.PostForm
	o := stripeObject{"object": "coupon", "id": form.Get("id"), "duration": orDefault(form.Get("duration"), "once"),
		"name": nullable(form.Get("name")), "metadata": formMap(form, "metadata"), "times_redeemed": 0, "valid": true,
		"amount_off": nil, "currency": nil, "percent_off": nil, "max_redemptions": nil}
	if v := form.Get("amount_off"); v != "" {
		amount, ok := positive(w, r, "amount_off")
		if !ok || !required(w, r, "currency") {
			return
		}
		o["amount_off"], o["currency"] = amount, strings.ToLower(form.Get("currency"))
	} else if p, err := strconv.ParseFloat(form.Get("percent_off"), 64); err == nil && p > 0 && p <= 100 {
		o["percent_off"] = p
	} else {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_missing", "Must provide either amount_off or percent_off.")
		return
	}
	if n, err := strconv.ParseInt(form.Get("max_redemptions"), 10, 64); err == nil {
		o["max_redemptions"] = n
	}
	if id := form.Get("id"); id != "" && f.find(id) != nil {
		executed(w)
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "resource_already_exists", "Coupon already exists.")
		return
	}
	executed(w)
	writeJSON(w, http.StatusOK, f.add("coupons", "", o))
}

func (f *Stripe) createPromotionCode(w http.ResponseWriter, r *http.Request) {
	form := r.PostForm
	coupon := form.Get("promotion[coupon]")
	if form.Get("promotion[type]") != "coupon" || coupon == "" {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_missing", "Missing required param: promotion.")
		return
	}
	if c := f.find(coupon); c == nil || c["object"] != "coupon" {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "resource_missing", "No such coupon: '"+coupon+"'")
		return
	}
	code := orDefault(form.Get("code"), strings.ToUpper(randomID()[:8]))
	for _, p := range f.Objects("promotion_codes") {
		if strings.EqualFold(p["code"].(string), code) && p["active"] == true {
			executed(w)
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "resource_already_exists", "An active promotion code with `code: "+code+"` already exists.")
			return
		}
	}
	o := stripeObject{"object": "promotion_code", "code": code, "active": true, "customer": nullable(form.Get("customer")),
		"promotion": map[string]any{"type": "coupon", "coupon": coupon}, "metadata": formMap(form, "metadata"),
		"max_redemptions": nil, "times_redeemed": 0}
	if n, err := strconv.ParseInt(form.Get("max_redemptions"), 10, 64); err == nil {
		o["max_redemptions"] = n
	}
	executed(w)
	writeJSON(w, http.StatusOK, f.add("promotion_codes", "promo_", o))
}

func (f *Stripe) find(id string) stripeObject {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok := f.byID[id]; ok {
		return clone(o)
	}
	return nil
}

func (f *Stripe) retrieve(prefix string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o := f.find(r.PathValue("id"))
		if o == nil || !strings.HasPrefix(r.PathValue("id"), prefix) {
			stripeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "No such object: '"+r.PathValue("id")+"'")
			return
		}
		writeJSON(w, http.StatusOK, o)
	}
}

// list answers a Stripe list of name, newest first, filtered by the
// query's values of filters, paged by limit (1-100, default 10) and
// starting_after.
func (f *Stripe) list(name string, filters ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit := 10
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer", "limit must be between 1 and 100.")
				return
			}
			limit = n
		}
		all := f.Objects(name)
		var data []map[string]any
		after := q.Get("starting_after")
		started := after == ""
		for i := len(all) - 1; i >= 0; i-- {
			o := all[i]
			if !started {
				started = o["id"] == after
				continue
			}
			if matches(o, q, filters) {
				data = append(data, o)
			}
		}
		if !started {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "resource_missing", "No such object: '"+after+"'")
			return
		}
		more := len(data) > limit
		if more {
			data = data[:limit]
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "url": r.URL.Path, "has_more": more, "data": append([]map[string]any{}, data...)})
	}
}

func matches(o map[string]any, q url.Values, filters []string) bool {
	for _, k := range filters {
		got := o[k]
		if p, ok := o["promotion"].(map[string]any); ok && k == "coupon" {
			got = p["coupon"]
		}
		if v := q.Get(k); v != "" && got != v {
			return false
		}
	}
	return true
}

func (f *Stripe) state(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	lists := map[string]any{}
	for name, objs := range f.objects {
		lists[name] = objs
	}
	out := map[string]any{"url": f.url, "requests": f.requests, "objects": lists, "idempotency_keys": len(f.keys),
		"failures": f.failures, "injected": f.injected, "now": f.clock().UTC().Format(time.RFC3339)}
	if f.chaos != nil {
		out["chaos"] = f.chaos.StripeChaos
	}
	body, _ := json.Marshal(out)
	f.mu.Unlock()
	writeRaw(w, http.StatusOK, body)
}

func (f *Stripe) fail(w http.ResponseWriter, r *http.Request) {
	var fl StripeFailure
	if !decode(w, r, &fl) {
		return
	}
	if fl.Status == 0 && !fl.Hangup && fl.DelayMS <= 0 {
		f.mu.Lock()
		f.failures = nil
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"failures": 0})
		return
	}
	fl.Next = max(fl.Next, 1)
	f.mu.Lock()
	f.failures = append(f.failures, fl)
	n := len(f.failures)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"failures": n})
}

func (f *Stripe) advance(w http.ResponseWriter, r *http.Request) {
	var c StripeClock
	if !decode(w, r, &c) {
		return
	}
	f.mu.Lock()
	f.offset += time.Duration(c.AdvanceSeconds) * time.Second
	now := f.clock()
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"now": now.UTC().Format(time.RFC3339)})
}

// reverse reverses what is left of a transfer, as the platform's
// dashboard or POST /v1/transfers/{id}/reversals with no amount does (a
// reversal without metadata); a transfer reversed in full stays as it is.
func (f *Stripe) reverse(w http.ResponseWriter, r *http.Request) {
	_, status, _ := f.reverseTransfer(r.PathValue("id"), 0, nil)
	if status == http.StatusNotFound {
		writeError(w, http.StatusNotFound, "not_found", "no transfer "+r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, f.find(r.PathValue("id")))
}

// executed marks an answer as the result of an executed request, which
// Stripe keeps for the idempotency key even when it is an error.
func executed(w http.ResponseWriter) { w.Header().Set("Stripe-Executed", "true") }

func positive(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	n, err := strconv.ParseInt(r.PostForm.Get(name), 10, 64)
	if err != nil || n <= 0 {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer", "Invalid positive integer: "+name)
		return 0, false
	}
	return n, true
}

func required(w http.ResponseWriter, r *http.Request, names ...string) bool {
	for _, n := range names {
		if r.PostForm.Get(n) == "" {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_missing", "Missing required param: "+n+".")
			return false
		}
	}
	return true
}

// formMap reads Stripe's hash encoding: name[key]=value.
func formMap(form url.Values, name string) map[string]string {
	out := map[string]string{}
	for k, v := range form {
		if key, ok := strings.CutPrefix(k, name+"["); ok && strings.HasSuffix(key, "]") && len(v) > 0 {
			out[strings.TrimSuffix(key, "]")] = v[0]
		}
	}
	return out
}

func stripeError(w http.ResponseWriter, status int, typ, code, msg string) {
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func stripeErrorType(status int) string {
	switch {
	case status == http.StatusConflict:
		return "idempotency_error"
	case status >= 500:
		return "api_error"
	default:
		return "invalid_request_error"
	}
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// hangup closes the client's connection without an answer.
func hangup(w http.ResponseWriter) {
	if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = c.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func clone(o map[string]any) map[string]any {
	b, _ := json.Marshal(o)
	var out map[string]any
	_ = json.NewDecoder(bytes.NewReader(b)).Decode(&out)
	return out
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// recorder keeps an answer so it can be stored for an idempotency key.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

var _ Fake = (*Stripe)(nil)
