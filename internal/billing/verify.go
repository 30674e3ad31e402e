// Package billing turns signed Stripe Billing webhooks (POST
// /webhooks/stripe) into subscription rewards: it verifies each delivery
// over the raw body first (Verify), reads the few event types it acts on
// (Parse), ties the paying Stripe customer to the referral that brought it
// (by metadata referral_id or the referee's email, as the program says),
// and records each invoice paid or refunded in the referral's history while
// internal/rewards creates, voids or reverses the invoice's reward
// (Processor). The HTTP answer is Handler's.
//
// Signatures are checked with stripe-go's webhook package
// (ValidatePayloadIgnoringTolerance: the documented scheme, HMAC-SHA256
// over "<t>.<raw body>" with any v1 signature of the header). Its tolerance
// check is not used because it reads the machine's clock and accepts
// timestamps from the future: Verify checks the header's t against an
// injected clock instead, 5 minutes either way.
//
// Nothing personal is kept: the invoice's customer_email is only hashed to
// find a referral (never stored or logged); Stripe customer and invoice
// ids, referral ids, amounts and times are what the table holds.
package billing

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v84/webhook"
)

// Tolerance is how far a signature's timestamp may be from now (Stripe's
// documented default).
const Tolerance = 5 * time.Minute

// SettingSecret is the setting holding the endpoint's signing secrets
// (whsec_…), comma-separated during a rotation.
const SettingSecret = "REFERFLOW_STRIPE_WEBHOOK_SECRET"

// Errors of Verify; each wraps ErrUnauthorized.
var (
	ErrUnauthorized = errors.New("billing: the Stripe-Signature is missing, wrong or stale")
	errNoHeader     = fmt.Errorf("%w: no Stripe-Signature header", ErrUnauthorized)
	errBadHeader    = fmt.Errorf("%w: Stripe-Signature has no timestamp t=", ErrUnauthorized)
	errStale        = fmt.Errorf("%w: the timestamp is more than 5 minutes from now", ErrUnauthorized)
	errNoSecret     = errors.New("billing: no webhook signing secret configured")
)

// Verify checks header (Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=…])
// over the raw payload: a v1 signature made with any of secrets, and t
// within Tolerance of now. It returns an error wrapping ErrUnauthorized
// otherwise (and a plain error when secrets is empty: a configuration
// fault, not the sender's).
func Verify(payload []byte, header string, secrets []string, now time.Time) error {
	if len(secrets) == 0 {
		return errNoSecret
	}
	if strings.TrimSpace(header) == "" {
		return errNoHeader
	}
	t, ok := timestamp(header)
	if !ok {
		return errBadHeader
	}
	if d := now.Sub(time.Unix(t, 0)); d > Tolerance || d < -Tolerance {
		return errStale
	}
	var last error
	for _, secret := range secrets {
		if last = webhook.ValidatePayloadIgnoringTolerance(payload, header, secret); last == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: %v", ErrUnauthorized, last)
}

// timestamp reads t= from a Stripe-Signature header.
func timestamp(header string) (int64, bool) {
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == "t" {
			t, err := strconv.ParseInt(v, 10, 64)
			return t, err == nil
		}
	}
	return 0, false
}
