package fakes

import (
	"net/http"
	"strconv"
	"strings"
)

// Taking payments back, as the Stripe fake answers it (from Stripe's API
// reference): transfer reversals (POST/GET /v1/transfers/{id}/reversals:
// a reversal is its own "trr_" object listed on its transfer, the whole
// amount left when none is given, refused once the transfer is reversed
// in full or for more than is left), promotion codes retrieved and
// updated (GET/POST /v1/promotion_codes/{id}: active, metadata merged, an
// empty value unsetting a key), and debits of a customer's balance (the
// balance transactions of stripe.go, amount > 0). Requests go through the
// fake's idempotency and failure injection like every other. The control
// API adds a promotion code's redemption and an invoice using a customer's
// credit, which only a customer's checkout does at Stripe.

// StripeApply is the body of POST /customers/{customer}/apply on the Stripe
// fake's control API: an invoice of the customer uses Amount (minor units)
// of its credit, as an "applied_to_invoice" balance transaction.
type StripeApply struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// reversalRoutes adds the API's reversal and promotion code update routes.
func (f *Stripe) reversalRoutes(api *http.ServeMux) {
	api.HandleFunc("POST /v1/transfers/{id}/reversals", f.createReversal)
	api.HandleFunc("GET /v1/transfers/{id}/reversals", f.listReversals)
	api.HandleFunc("GET /v1/promotion_codes/{id}", f.retrieve("promo_"))
	api.HandleFunc("POST /v1/promotion_codes/{id}", f.updatePromotionCode)
}

// reversalControls adds the control API's redemption and credit use.
func (f *Stripe) reversalControls(admin *http.ServeMux) {
	admin.HandleFunc("POST /promotion_codes/{id}/redeem", f.redeem)
	admin.HandleFunc("POST /customers/{customer}/apply", f.apply)
}

// reverseTransfer reverses amount (0: all that is left) of transfer id:
// a new reversal in the list "reversals:<id>", the transfer's
// amount_reversed grown and reversed once all of it is. A status other
// than 200 comes with Stripe's error type, code and message.
func (f *Stripe) reverseTransfer(id string, amount int64, meta map[string]string) (stripeObject, int, [3]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.byID[id]
	if !ok || t["object"] != "transfer" {
		return nil, http.StatusNotFound, [3]string{"invalid_request_error", "resource_missing", "No such transfer: '" + id + "'"}
	}
	total, done := asInt(t["amount"]), asInt(t["amount_reversed"])
	left := total - done
	switch {
	case left <= 0:
		return nil, http.StatusBadRequest, [3]string{"invalid_request_error", "", "Transfer " + id + " has already been fully reversed."}
	case amount == 0:
		amount = left
	case amount > left:
		return nil, http.StatusBadRequest, [3]string{"invalid_request_error", "",
			"Reversal amount " + strconv.FormatInt(amount, 10) + " exceeds the " + strconv.FormatInt(left, 10) + " left on transfer " + id + "."}
	}
	t["amount_reversed"], t["reversed"] = done+amount, done+amount == total
	if meta == nil {
		meta = map[string]string{}
	}
	o := stripeObject{"id": "trr_" + randomID(), "object": "transfer_reversal", "amount": amount, "currency": t["currency"],
		"transfer": id, "metadata": meta, "created": f.clock().Unix(),
		"balance_transaction": nil, "destination_payment_refund": nil, "source_refund": nil}
	list := "reversals:" + id
	f.objects[list] = append(f.objects[list], o)
	f.byID[o["id"].(string)] = o
	return clone(o), http.StatusOK, [3]string{}
}

func (f *Stripe) createReversal(w http.ResponseWriter, r *http.Request) {
	var amount int64
	if r.PostForm.Get("amount") != "" {
		n, ok := positive(w, r, "amount")
		if !ok {
			return
		}
		amount = n
	}
	o, status, e := f.reverseTransfer(r.PathValue("id"), amount, formMap(r.PostForm, "metadata"))
	if status != http.StatusOK {
		if status != http.StatusNotFound {
			executed(w) // refused by the transfer's state: Stripe keeps it for the key
		}
		stripeError(w, status, e[0], e[1], e[2])
		return
	}
	executed(w)
	writeJSON(w, http.StatusOK, o)
}

func (f *Stripe) listReversals(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if t := f.find(id); t == nil || t["object"] != "transfer" {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "No such transfer: '"+id+"'")
		return
	}
	f.list("reversals:"+id)(w, r)
}

// updatePromotionCode sets active and merges metadata. A code is not
// reactivated once its redemptions are used up.
func (f *Stripe) updatePromotionCode(w http.ResponseWriter, r *http.Request) {
	id, form := r.PathValue("id"), r.PostForm
	active, err := strconv.ParseBool(orDefault(form.Get("active"), "true"))
	if form.Get("active") != "" && err != nil {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_boolean", "Invalid boolean: active")
		return
	}
	f.mu.Lock()
	p, ok := f.byID[id]
	if !ok || p["object"] != "promotion_code" {
		f.mu.Unlock()
		stripeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "No such promotion code: '"+id+"'")
		return
	}
	if form.Get("active") != "" && active && p["active"] != true && usedUp(p) {
		f.mu.Unlock()
		executed(w)
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "This promotion code cannot be reactivated: its redemptions are used up.")
		return
	}
	if form.Get("active") != "" {
		p["active"] = active
	}
	meta, ok := p["metadata"].(map[string]string)
	if !ok {
		meta = map[string]string{}
		p["metadata"] = meta
	}
	for k, v := range formMap(form, "metadata") {
		if v == "" {
			delete(meta, k)
		} else {
			meta[k] = v
		}
	}
	o := clone(p)
	f.mu.Unlock()
	executed(w)
	writeJSON(w, http.StatusOK, o)
}

func usedUp(p stripeObject) bool {
	return p["max_redemptions"] != nil && asInt(p["times_redeemed"]) >= asInt(p["max_redemptions"])
}

// redeem is a checkout redeeming an active promotion code (and its coupon).
func (f *Stripe) redeem(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.byID[id]
	if !ok || p["object"] != "promotion_code" {
		writeError(w, http.StatusNotFound, "not_found", "no promotion code "+id)
		return
	}
	if p["active"] != true || usedUp(p) {
		writeError(w, http.StatusConflict, "not_redeemable", "promotion code "+id+" is inactive or used up")
		return
	}
	p["times_redeemed"] = asInt(p["times_redeemed"]) + 1
	if promo, ok := p["promotion"].(map[string]any); ok {
		if c, ok := f.byID[promo["coupon"].(string)]; ok {
			c["times_redeemed"] = asInt(c["times_redeemed"]) + 1
		}
	}
	writeJSON(w, http.StatusOK, clone(p))
}

// apply is an invoice using part of a customer's credit (a negative
// balance): a balance transaction of +amount, "applied_to_invoice".
func (f *Stripe) apply(w http.ResponseWriter, r *http.Request) {
	var a StripeApply
	if !decode(w, r, &a) {
		return
	}
	customer := r.PathValue("customer")
	f.mu.Lock()
	if a.Amount <= 0 || a.Amount > -f.balance[customer] {
		f.mu.Unlock()
		writeError(w, http.StatusConflict, "no_credit", "the customer's credit does not cover that amount")
		return
	}
	f.balance[customer] += a.Amount
	ending := f.balance[customer]
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, f.add("cbtxn:"+customer, "cbtxn_", stripeObject{
		"object": "customer_balance_transaction", "amount": a.Amount, "ending_balance": ending, "type": "applied_to_invoice",
		"currency": strings.ToLower(orDefault(a.Currency, "usd")), "customer": customer, "description": nil, "metadata": map[string]string{},
	}))
}

// asInt reads a number the fake stored (int, int64) or decoded (float64).
func asInt(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return 0
}
