// Package stdwebhooks is Referflow's one implementation of the Standard
// Webhooks signature scheme (https://www.standardwebhooks.com): it signs
// the outbound webhooks Referflow sends (internal/outbound) and verifies
// the inbound ones a CRM sends to /webhooks/generic (internal/crm/generic).
//
// A delivery carries three headers: webhook-id (the message id, the same on
// every retry), webhook-timestamp (Unix seconds of this attempt) and
// webhook-signature, a space-separated list of "v1,<base64>" entries, each
// the HMAC-SHA256 of id + "." + timestamp + "." + body keyed with the
// base64 decoding of a secret "whsec_<base64>". Verification is over the
// raw body bytes, in constant time, accepts any listed signature made with
// any configured secret (rotation), and refuses timestamps more than the
// tolerance away from the clock in either direction.
package stdwebhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far webhook-timestamp may be from the clock, in
// either direction, when a Verifier is given none.
const DefaultTolerance = 5 * time.Minute

// SecretPrefix starts every secret Referflow generates; it is optional on
// the secrets it reads.
const SecretPrefix = "whsec_"

// SecretBytes is how many random bytes NewSecret draws (the specification
// asks for 24 to 64).
const SecretBytes = 32

// ErrSecret is a secret that is not "whsec_" followed by standard base64.
var ErrSecret = errors.New("stdwebhooks: signing secret is not whsec_ followed by base64")

// ErrUnverified is a delivery whose headers are missing, stale or do not
// match the body: every Verify failure wraps it.
var ErrUnverified = errors.New("stdwebhooks: delivery not verified")

// Key is the HMAC key of a secret: the base64 decoding of the secret
// without its prefix.
type Key []byte

// ParseSecret returns the key of a secret ("whsec_" + standard base64; the
// prefix is optional, surrounding spaces are ignored). It fails with
// ErrSecret on anything else, and on an empty key.
func ParseSecret(secret string) (Key, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(secret), SecretPrefix))
	if err != nil || len(k) == 0 {
		return nil, ErrSecret
	}
	return k, nil
}

// NewSecret returns a new secret, "whsec_" + the standard base64 of
// SecretBytes bytes read from rnd (crypto/rand.Reader in production).
func NewSecret(rnd io.Reader) (string, error) {
	b := make([]byte, SecretBytes)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", fmt.Errorf("stdwebhooks: new secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// Timestamp is the webhook-timestamp value of t: its Unix seconds.
func Timestamp(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// Sign returns the signature entry "v1,<base64>" of a delivery: the
// HMAC-SHA256 keyed with k of id + "." + timestamp + "." + body, where
// timestamp is the header's text (see Timestamp) and body the exact bytes
// sent.
func (k Key) Sign(id, timestamp string, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(k.mac(id, timestamp, body))
}

func (k Key) mac(id, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Headers returns the three headers of a delivery of body with message id
// id at time ts, signed with each key in turn: during a rotation pass the
// new key and the old one, and a receiver that knows either verifies it.
func Headers(id string, ts time.Time, body []byte, keys ...Key) http.Header {
	stamp := Timestamp(ts)
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = k.Sign(id, stamp, body)
	}
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, stamp)
	h.Set(HeaderSignature, strings.Join(sigs, " "))
	return h
}

// Verifier checks deliveries against one or more secrets. It is safe for
// concurrent use.
type Verifier struct {
	keys      []Key
	tolerance time.Duration
	now       func() time.Time
}

// NewVerifier returns a Verifier accepting signatures made with any of
// secrets (blank entries are skipped; at least one is required, each must
// parse). tolerance <= 0 means DefaultTolerance; now is the clock.
func NewVerifier(secrets []string, tolerance time.Duration, now func() time.Time) (*Verifier, error) {
	v := &Verifier{tolerance: tolerance, now: now}
	for _, s := range secrets {
		if strings.TrimSpace(s) == "" {
			continue
		}
		k, err := ParseSecret(s)
		if err != nil {
			return nil, err
		}
		v.keys = append(v.keys, k)
	}
	if len(v.keys) == 0 {
		return nil, errors.New("stdwebhooks: at least one signing secret is required")
	}
	if now == nil {
		return nil, errors.New("stdwebhooks: a clock is required")
	}
	if v.tolerance <= 0 {
		v.tolerance = DefaultTolerance
	}
	return v, nil
}

// Verify checks a delivery's headers against its raw body. Header names
// are matched without case, so both net/http's canonical keys and API
// Gateway's lower-case ones work. Entries of webhook-signature other than
// readable "v1,<base64>" are skipped; the delivery verifies when any v1
// entry matches any secret. Every failure wraps ErrUnverified and says
// why (never which secret or what signature was expected).
func (v *Verifier) Verify(h http.Header, body []byte) error {
	id, stamp, sigs := header(h, HeaderID), header(h, HeaderTimestamp), header(h, HeaderSignature)
	switch {
	case id == "":
		return fmt.Errorf("%w: missing %s", ErrUnverified, HeaderID)
	case stamp == "":
		return fmt.Errorf("%w: missing %s", ErrUnverified, HeaderTimestamp)
	case sigs == "":
		return fmt.Errorf("%w: missing %s", ErrUnverified, HeaderSignature)
	}
	ts, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad %s", ErrUnverified, HeaderTimestamp)
	}
	now, tol := v.now().Unix(), int64(v.tolerance/time.Second)
	if now-ts > tol {
		return fmt.Errorf("%w: timestamp too old", ErrUnverified)
	}
	if ts-now > tol {
		return fmt.Errorf("%w: timestamp in the future", ErrUnverified)
	}
	expected := make([][]byte, len(v.keys))
	for i, k := range v.keys {
		expected[i] = k.mac(id, stamp, body)
	}
	ok, readable := false, 0
	for _, entry := range strings.Fields(sigs) {
		version, sig, found := strings.Cut(entry, ",")
		if !found || version != "v1" {
			continue // other schemes (e.g. v1a) are not supported
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		readable++
		for _, want := range expected {
			ok = hmac.Equal(got, want) || ok // no early exit: constant work
		}
	}
	switch {
	case ok:
		return nil
	case readable == 0:
		return fmt.Errorf("%w: no readable v1 signature", ErrUnverified)
	}
	return fmt.Errorf("%w: signature mismatch", ErrUnverified)
}

// header returns the first non-empty value of a header, trimmed, matching
// the name without case.
func header(h http.Header, name string) string {
	vals := h.Values(name)
	if len(vals) == 0 {
		for k, v := range h {
			if strings.EqualFold(k, name) {
				vals = append(vals, v...)
			}
		}
	}
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
