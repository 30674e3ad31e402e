// Package generic is the CRM-agnostic edge of the ingestion path: any system
// that can send Standard Webhooks (https://www.standardwebhooks.com) posts
// deal events in Referflow's own small JSON format, which this package
// authenticates and parses into crm.Events.
package generic

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/money"
)

// Name is the provider name, the path segment of POST /webhooks/generic.
const Name = "generic"

// Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far webhook-timestamp may be from the clock, in
// either direction.
const DefaultTolerance = 5 * time.Minute

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
	keys      [][]byte
	tolerance time.Duration
	now       func() time.Time
}

var _ crm.Adapter = (*Adapter)(nil)

// New returns an Adapter; it fails if a secret is not "whsec_" followed by
// standard base64 (the prefix is optional). now is the clock for the
// timestamp check.
func New(cfg Config, now func() time.Time) (*Adapter, error) {
	a := &Adapter{tolerance: cfg.Tolerance, now: now}
	for _, s := range cfg.Secrets {
		if strings.TrimSpace(s) == "" {
			continue
		}
		k, err := DecodeSecret(s)
		if err != nil {
			return nil, err
		}
		a.keys = append(a.keys, k)
	}
	if len(a.keys) == 0 {
		return nil, errors.New("generic: at least one signing secret is required")
	}
	if now == nil {
		return nil, errors.New("generic: a clock is required")
	}
	if a.tolerance <= 0 {
		a.tolerance = DefaultTolerance
	}
	return a, nil
}

// DecodeSecret returns the HMAC key of a Standard Webhooks secret: the
// base64 decoding of the secret without its "whsec_" prefix.
func DecodeSecret(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(secret), "whsec_"))
	if err != nil || len(k) == 0 {
		return nil, errors.New("generic: signing secret is not whsec_ followed by base64")
	}
	return k, nil
}

// Sign returns the webhook-signature header value ("v1,<base64>") for a
// delivery: base64 HMAC-SHA256, keyed with the decoded secret, of
// id + "." + Unix seconds of ts + "." + body. A secret that is not valid
// base64 is used as raw bytes (such a secret is refused by New).
func Sign(secret, id string, ts time.Time, body []byte) string {
	key, err := DecodeSecret(secret)
	if err != nil {
		key = []byte(secret)
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Authenticate checks the Standard Webhooks signature: webhook-id,
// webhook-timestamp (Unix seconds, within the tolerance either way) and
// webhook-signature (space-separated "v1,<base64>" entries, any of which
// may match any configured secret). Failures wrap crm.ErrUnauthorized.
func (a *Adapter) Authenticate(r crm.Request) error {
	id := crm.Header(r.Headers, HeaderID)
	tsText := crm.Header(r.Headers, HeaderTimestamp)
	sigs := crm.Header(r.Headers, HeaderSignature)
	switch {
	case id == "":
		return fmt.Errorf("%w: missing %s", crm.ErrUnauthorized, HeaderID)
	case tsText == "":
		return fmt.Errorf("%w: missing %s", crm.ErrUnauthorized, HeaderTimestamp)
	case sigs == "":
		return fmt.Errorf("%w: missing %s", crm.ErrUnauthorized, HeaderSignature)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad %s", crm.ErrUnauthorized, HeaderTimestamp)
	}
	now := a.now().Unix()
	tol := int64(a.tolerance / time.Second)
	if now-ts > tol {
		return fmt.Errorf("%w: timestamp too old", crm.ErrUnauthorized)
	}
	if ts-now > tol {
		return fmt.Errorf("%w: timestamp in the future", crm.ErrUnauthorized)
	}
	expected := make([][]byte, len(a.keys))
	for i, k := range a.keys {
		expected[i] = mac(k, id, tsText, r.Body)
	}
	ok, decoded := false, 0
	for _, entry := range strings.Fields(sigs) {
		version, sig, found := strings.Cut(entry, ",")
		if !found || version != "v1" {
			continue // other schemes (e.g. v1a) are not supported
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		decoded++
		for _, want := range expected {
			ok = hmac.Equal(got, want) || ok
		}
	}
	switch {
	case ok:
		return nil
	case decoded == 0:
		return fmt.Errorf("%w: no readable v1 signature", crm.ErrUnauthorized)
	}
	return fmt.Errorf("%w: signature mismatch", crm.ErrUnauthorized)
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
