package fakes

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
)

// StripeChaos is the body of POST /chaos on the Stripe fake's control API:
// from then on, until a body with Probability 0 turns it off, each API
// request (of Methods, all when empty) fails with probability Probability
// as one of Failures picked at random (each failure's Next is ignored).
// Failures queued with POST /failures come first. Seed makes the draw
// reproducible. A soak uses it to make a share of the payout calls fail
// ambiguously (e.g. a hang-up or a 500 after the payment was made, a 409
// or a 429) without re-arming faults one by one.
type StripeChaos struct {
	Probability float64         `json:"probability"`
	Seed        uint64          `json:"seed,omitempty"`
	Methods     []string        `json:"methods,omitempty"`
	Failures    []StripeFailure `json:"failures,omitempty"`
}

// stripeChaos is the fake's random failures and its draw.
type stripeChaos struct {
	StripeChaos
	rng *rand.Rand
}

// StripeFailureName names a failure as the fake counts it in its state's
// "injected": its status or "hangup", then " after" when the request was
// carried out first (e.g. "500 after", "hangup after", "409").
func StripeFailureName(fl StripeFailure) string {
	name := "hangup"
	if fl.Status != 0 {
		name = fmt.Sprint(fl.Status)
		if fl.Code != "" {
			name += " " + fl.Code
		}
	}
	if fl.After {
		name += " after"
	}
	if fl.Hangup && fl.Status != 0 {
		name += " hangup"
	}
	return name
}

// randomFailure draws the failure of an API request of method when chaos
// is on. The caller holds f.mu.
func (f *Stripe) randomFailure(method string) (StripeFailure, bool) {
	c := f.chaos
	if c == nil || c.Probability <= 0 || len(c.Failures) == 0 {
		return StripeFailure{}, false
	}
	if len(c.Methods) > 0 && !slices.ContainsFunc(c.Methods, func(m string) bool { return strings.EqualFold(m, method) }) {
		return StripeFailure{}, false
	}
	if c.rng.Float64() >= c.Probability {
		return StripeFailure{}, false
	}
	return c.Failures[c.rng.IntN(len(c.Failures))], true
}

// setChaos serves POST /chaos (StripeChaos).
func (f *Stripe) setChaos(w http.ResponseWriter, r *http.Request) {
	var c StripeChaos
	if !decode(w, r, &c) {
		return
	}
	if c.Probability < 0 || c.Probability > 1 {
		writeError(w, http.StatusBadRequest, "invalid_request", "probability must be between 0 and 1")
		return
	}
	for _, fl := range c.Failures {
		if fl.Status == 0 && !fl.Hangup && fl.DelayMS <= 0 {
			writeError(w, http.StatusBadRequest, "invalid_request", "every failure needs a status, hangup or delay_ms")
			return
		}
	}
	if c.Probability > 0 && len(c.Failures) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "failures are required with a probability")
		return
	}
	f.mu.Lock()
	f.chaos = nil
	if c.Probability > 0 {
		f.chaos = &stripeChaos{StripeChaos: c, rng: rand.New(rand.NewPCG(c.Seed, c.Seed^0x5eed))}
	}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, c)
}

// Injected counts the failures the fake injected (queued or random), by
// StripeFailureName.
func (f *Stripe) Injected() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.injected))
	for k, v := range f.injected {
		out[k] = v
	}
	return out
}
