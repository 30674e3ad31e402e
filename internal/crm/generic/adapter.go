// Package generic is the CRM-agnostic edge of the ingestion path: any system
// that can send Standard Webhooks (https://www.standardwebhooks.com) posts
// deal events in Referflow's own small JSON format, which this package
// authenticates and parses into crm.Events.
package generic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/stdwebhooks"
)

// Name is the provider name, the path segment of POST /webhooks/generic.
const Name = "generic"

// Standard Webhooks headers (internal/stdwebhooks holds the scheme).
const (
	HeaderID        = stdwebhooks.HeaderID
	HeaderTimestamp = stdwebhooks.HeaderTimestamp
	HeaderSignature = stdwebhooks.HeaderSignature
)

// DefaultTolerance is how far webhook-timestamp may be from the clock, in
// either direction.
const DefaultTolerance = stdwebhooks.DefaultTolerance

// Event types of the generic format.
const (
	TypeStageChanged = "deal.stage_changed"
	TypeDeleted      = "deal.deleted"
	TypeRefunded     = "deal.refunded"
)

// Config configures the generic adapter.
type Config struct {
	// Secrets are the accepted signing secrets ("whsec_" + base64 key),
	// newest first; list two during a rotation. At least one.
	Secrets []string
	// Tolerance overrides DefaultTolerance when positive.
	Tolerance time.Duration
}

// Adapter authenticates and parses Standard Webhooks deliveries. It
// implements crm.Adapter and is safe for concurrent use.
type Adapter struct {
	verifier *stdwebhooks.Verifier
}

var _ crm.Adapter = (*Adapter)(nil)

// New returns an Adapter; it fails if a secret is not "whsec_" followed by
// standard base64 (the prefix is optional). now is the clock for the
// timestamp check.
func New(cfg Config, now func() time.Time) (*Adapter, error) {
	v, err := stdwebhooks.NewVerifier(cfg.Secrets, cfg.Tolerance, now)
	if err != nil {
		return nil, fmt.Errorf("generic: %w", err)
	}
	return &Adapter{verifier: v}, nil
}

// DecodeSecret returns the HMAC key of a Standard Webhooks secret: the
// base64 decoding of the secret without its "whsec_" prefix
// (stdwebhooks.ParseSecret).
func DecodeSecret(secret string) ([]byte, error) {
	k, err := stdwebhooks.ParseSecret(secret)
	if err != nil {
		return nil, fmt.Errorf("generic: %w", err)
	}
	return k, nil
}

// Sign returns the webhook-signature header value ("v1,<base64>") for a
// delivery: base64 HMAC-SHA256, keyed with the decoded secret, of
// id + "." + Unix seconds of ts + "." + body (stdwebhooks). A secret that
// is not valid base64 is used as raw bytes (such a secret is refused by
// New), so a test can sign with a wrong one.
func Sign(secret, id string, ts time.Time, body []byte) string {
	key, err := stdwebhooks.ParseSecret(secret)
	if err != nil {
		key = stdwebhooks.Key(secret)
	}
	return key.Sign(id, stdwebhooks.Timestamp(ts), body)
}

// Authenticate checks the Standard Webhooks signature: webhook-id,
// webhook-timestamp (Unix seconds, within the tolerance either way) and
// webhook-signature (space-separated "v1,<base64>" entries, any of which
// may match any configured secret). Failures wrap crm.ErrUnauthorized.
func (a *Adapter) Authenticate(r crm.Request) error {
	if err := a.verifier.Verify(r.Headers, r.Body); err != nil {
		return fmt.Errorf("%w: %s", crm.ErrUnauthorized, strings.TrimPrefix(err.Error(), stdwebhooks.ErrUnverified.Error()+": "))
	}
	return nil
}

// FieldError is a malformed generic payload naming the field at fault. It
// wraps crm.ErrMalformed.
type FieldError struct {
	Field   string // JSON path, e.g. "data.stage"
	Problem string // e.g. "is required"
}

// Error returns e.g. "crm: malformed payload: data.stage is required".
func (e *FieldError) Error() string {
	return crm.ErrMalformed.Error() + ": " + e.Field + " " + e.Problem
}

// Unwrap makes errors.Is(err, crm.ErrMalformed) true.
func (e *FieldError) Unwrap() error { return crm.ErrMalformed }

type payload struct {
	Type *string `json:"type"`
	Data *struct {
		ReferralID   *string         `json:"referral_id"`
		CRMRecordID  json.RawMessage `json:"crm_record_id"`
		RefereeEmail *string         `json:"referee_email"`
		Stage        *string         `json:"stage"`
		Status       *string         `json:"status"`
		Pipeline     json.RawMessage `json:"pipeline"`
		Amount       json.RawMessage `json:"amount"`
		Currency     *string         `json:"currency"`
		OccurredAt   json.RawMessage `json:"occurred_at"`
	} `json:"data"`
}

// Parse turns an authenticated delivery into one event whose ID is the
// webhook-id header. deal.stage_changed needs data.stage and at least one of
// data.referral_id, data.crm_record_id, data.referee_email; deal.deleted and
// deal.refunded need one of those three; other types are KindIgnored.
// Problems are *FieldError (wrapping crm.ErrMalformed).
func (a *Adapter) Parse(r crm.Request) ([]crm.Event, error) {
	id := crm.Header(r.Headers, HeaderID)
	if id == "" {
		return nil, &FieldError{Field: HeaderID, Problem: "header is required"}
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	var p payload
	if err := dec.Decode(&p); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return nil, &FieldError{Field: typ.Field, Problem: "has the wrong type (" + typ.Value + ")"}
		}
		return nil, &FieldError{Field: "body", Problem: "is not a JSON object: " + jsonProblem(err)}
	}
	if dec.More() {
		return nil, &FieldError{Field: "body", Problem: "has data after the JSON object"}
	}
	if p.Type == nil || *p.Type == "" {
		return nil, &FieldError{Field: "type", Problem: "is required"}
	}
	ev := crm.Event{Provider: Name, ID: id, Kind: crm.KindIgnored}
	switch *p.Type {
	case TypeStageChanged:
		ev.Kind = crm.KindStageChanged
	case TypeDeleted:
		ev.Kind = crm.KindDeleted
	case TypeRefunded:
		ev.Kind = crm.KindRefunded
	default:
		return []crm.Event{ev}, nil
	}
	d := p.Data
	if d == nil {
		return nil, &FieldError{Field: "data", Problem: "is required"}
	}
	ev.ReferralID = trim(d.ReferralID)
	ev.RecordID = idText(d.CRMRecordID)
	ev.Email = strings.ToLower(trim(d.RefereeEmail))
	if ev.Email != "" && !strings.Contains(ev.Email, "@") {
		return nil, &FieldError{Field: "data.referee_email", Problem: "is not an email address"}
	}
	ev.Stage = trim(d.Stage)
	ev.Pipeline = idText(d.Pipeline)
	if ev.Kind == crm.KindStageChanged && ev.Stage == "" {
		return nil, &FieldError{Field: "data.stage", Problem: "is required"}
	}
	if ev.ReferralID == "" && ev.RecordID == "" && ev.Email == "" {
		return nil, &FieldError{Field: "data.referral_id", Problem: "or data.crm_record_id or data.referee_email is required"}
	}
	switch s := trim(d.Status); s {
	case "", crm.StatusOpen, crm.StatusWon, crm.StatusLost:
		ev.Status = s
	default:
		return nil, &FieldError{Field: "data.status", Problem: "must be open, won or lost"}
	}
	if amount := idText(d.Amount); amount != "" {
		m, err := money.Parse(amount, trim(d.Currency))
		if err != nil {
			return nil, &FieldError{Field: "data.amount", Problem: "is not a decimal amount"}
		}
		ev.Amount = m
	}
	if c := trim(d.Currency); c != "" && (len(c) != 3 || strings.Trim(strings.ToUpper(c), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
		return nil, &FieldError{Field: "data.currency", Problem: "is not an ISO 4217 code"}
	}
	if raw := idText(d.OccurredAt); raw != "" {
		t, ok := parseTime(raw)
		if !ok {
			return nil, &FieldError{Field: "data.occurred_at", Problem: "is not RFC 3339 or Unix seconds"}
		}
		ev.OccurredAt = t
	}
	return []crm.Event{ev}, nil
}

func trim(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}

// idText reads a JSON string or number as text; anything else is "".
func idText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return strings.TrimSpace(s)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw)
	}
	return ""
}

func parseTime(s string) (time.Time, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0).UTC(), true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return "syntax error at byte " + strconv.FormatInt(syn.Offset, 10)
	}
	return err.Error()
}
