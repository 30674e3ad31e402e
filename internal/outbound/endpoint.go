package outbound

import (
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/stdwebhooks"
)

// Endpoint is a receiver of outbound webhooks an operator registered. Its
// URL and description are the operator's; they never hold a referee's data.
type Endpoint struct {
	ID          string        `dynamodbav:"endpoint_id" json:"id"`
	URL         string        `dynamodbav:"url" json:"url"`
	Types       []events.Type `dynamodbav:"types" json:"types"` // event types, or ["*"]
	Description string        `dynamodbav:"description" json:"description"`
	Enabled     bool          `dynamodbav:"enabled" json:"enabled"`
	// DisabledReason says why Referflow disabled the endpoint itself (too
	// many failed deliveries in a row); "" otherwise.
	DisabledReason string `dynamodbav:"disabled_reason" json:"disabled_reason,omitempty"`
	// ConsecutiveFailures counts its deliveries that failed (every attempt
	// of the retry schedule) since the last one that succeeded.
	ConsecutiveFailures int `dynamodbav:"consecutive_failures" json:"consecutive_failures"`
	// Secret signs the deliveries ("whsec_" + base64). It is shown once,
	// when the endpoint is created or its secret rotated, never listed.
	Secret string `dynamodbav:"secret" json:"-"`
	// PreviousSecret also signs the deliveries until PreviousUntil, so a
	// receiver can switch to a rotated secret at its pace.
	PreviousSecret  string     `dynamodbav:"previous_secret" json:"-"`
	PreviousUntil   *time.Time `dynamodbav:"previous_until" json:"previous_secret_until,omitempty"`
	SecretRotatedAt *time.Time `dynamodbav:"secret_rotated_at" json:"secret_rotated_at,omitempty"`
	CreatedAt       time.Time  `dynamodbav:"created_at" json:"created_at"`
	UpdatedAt       time.Time  `dynamodbav:"updated_at" json:"updated_at"`
	// Version counts the endpoint's writes: every write is conditional on
	// the version it read, so no change is lost to a concurrent one.
	Version int `dynamodbav:"version" json:"-"`
}

// RotationOverlap is how long a rotated secret goes on signing deliveries
// beside the new one.
const RotationOverlap = 24 * time.Hour

// keys returns the keys that sign a delivery at now: the secret, and the
// previous one during the rotation overlap.
func (ep Endpoint) keys(now time.Time) ([]stdwebhooks.Key, error) {
	k, err := stdwebhooks.ParseSecret(ep.Secret)
	if err != nil {
		return nil, fmt.Errorf("outbound: endpoint %s: %w", ep.ID, err)
	}
	keys := []stdwebhooks.Key{k}
	if ep.PreviousSecret != "" && ep.PreviousUntil != nil && now.Before(*ep.PreviousUntil) {
		if old, err := stdwebhooks.ParseSecret(ep.PreviousSecret); err == nil {
			keys = append(keys, old)
		}
	}
	return keys, nil
}

// Input is what an operator gives to register or change an endpoint. A nil
// field is left as it is (on registration: Enabled defaults to true,
// Description to "").
type Input struct {
	URL         *string   `json:"url"`
	Types       *[]string `json:"types"`
	Description *string   `json:"description"`
	Enabled     *bool     `json:"enabled"`
}

// Limits of an endpoint's fields.
const (
	MaxURL         = 2048
	MaxDescription = 500
)

// InvalidError is input refused, naming each field at fault and why.
type InvalidError struct {
	Fields map[string]string
}

// Error lists the fields, sorted, e.g. "outbound: invalid endpoint: url must be https".
func (e *InvalidError) Error() string {
	names := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + " " + e.Fields[k]
	}
	return "outbound: invalid input: " + strings.Join(parts, "; ")
}

// apply sets the given fields on ep after checking each. On registration
// (create) the URL and the types are required. It changes nothing and
// returns an *InvalidError when a field is at fault.
func (in Input) apply(ep *Endpoint, create bool) error {
	bad := map[string]string{}
	next := *ep
	switch {
	case in.URL != nil:
		u, problem := checkURL(*in.URL)
		if problem != "" {
			bad["url"] = problem
		}
		next.URL = u
	case create:
		bad["url"] = "is required"
	}
	switch {
	case in.Types != nil:
		t, problem := parseTypes(*in.Types)
		if problem != "" {
			bad["types"] = problem
		}
		next.Types = t
	case create:
		bad["types"] = `is required: a list of event types, or ["*"] for all`
	}
	if in.Description != nil {
		next.Description = strings.TrimSpace(*in.Description)
		if len(next.Description) > MaxDescription {
			bad["description"] = fmt.Sprintf("must be at most %d bytes", MaxDescription)
		}
	}
	if in.Enabled != nil {
		if *in.Enabled && !ep.Enabled {
			// Enabled again by a person: the count of failures starts over.
			next.ConsecutiveFailures, next.DisabledReason = 0, ""
		}
		next.Enabled = *in.Enabled
	}
	if len(bad) > 0 {
		return &InvalidError{Fields: bad}
	}
	*ep = next
	return nil
}

// checkURL returns the endpoint URL, or what is wrong with it: an absolute
// https URL without credentials or fragment; http only for a loopback host
// (the local stack and tests).
func checkURL(raw string) (string, string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", "is required"
	}
	if len(raw) > MaxURL {
		return "", fmt.Sprintf("must be at most %d characters", MaxURL)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return "", "is not an absolute URL"
	case u.User != nil:
		return "", "must not hold credentials"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", "must not have a fragment"
	case u.Scheme == "https":
		return raw, ""
	case u.Scheme == "http" && loopback(u.Hostname()):
		return raw, ""
	}
	return "", "must be https (http only for a loopback host)"
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// idEncoding is base32 with the "extended hex" alphabet, lower-cased: it
// sorts like the bytes it encodes.
var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// newEndpointID returns "ep_" + 26 characters: 48 bits of milliseconds
// then 80 random bits from rnd, so endpoints list in creation order.
func newEndpointID(now time.Time, rnd io.Reader) (string, error) {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	if _, err := io.ReadFull(rnd, b[6:]); err != nil {
		return "", fmt.Errorf("outbound: endpoint id: %w", err)
	}
	return "ep_" + idEncoding.EncodeToString(b[:]), nil
}

// ValidEndpointID reports whether s has the shape of an endpoint id (a
// path id of another shape is answered like an unknown one).
func ValidEndpointID(s string) bool {
	rest, ok := strings.CutPrefix(s, "ep_")
	return ok && len(rest) == 26 && validID(rest)
}

func validID(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'v') {
			return false
		}
	}
	return true
}
