// Package pipedrive is the Pipedrive edge of the CRM ingestion path: it
// checks the HTTP Basic credentials Pipedrive sends with each webhook and
// parses deal webhooks (v2, and the legacy v1 shape) into crm.Events.
package pipedrive

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/money"
)

// Name is the provider name, the path segment of POST /webhooks/pipedrive.
const Name = "pipedrive"

// Credential is one accepted HTTP Basic user name and password pair.
type Credential struct {
	User     string
	Password string
}

// Config configures the Pipedrive adapter.
type Config struct {
	// Credentials are the accepted Basic credentials (the "HTTP Auth"
	// user name and password set on the webhook), newest first; list two
	// during a rotation. At least one, with a non-empty password.
	Credentials []Credential
	// ReferralField is the key of the deal custom field holding the
	// referral id (Pipedrive's 40-character field key); "" disables it.
	ReferralField string
	// EmailField is the key of a deal custom field holding the referee's
	// email; "" disables it (Pipedrive deals carry only person_id).
	EmailField string
}

type credential struct{ user, pass [sha256.Size]byte }

// Adapter authenticates and parses Pipedrive webhooks. It implements
// crm.Adapter and is safe for concurrent use.
type Adapter struct {
	creds    []credential
	referral string
	email    string
	now      func() time.Time
}

var _ crm.Adapter = (*Adapter)(nil)

// New returns an Adapter. now is the injected clock (Basic credentials carry
// no timestamp; it is kept for symmetry with the other adapters).
func New(cfg Config, now func() time.Time) (*Adapter, error) {
	a := &Adapter{referral: cfg.ReferralField, email: cfg.EmailField, now: now}
	for _, c := range cfg.Credentials {
		if c.Password == "" {
			continue
		}
		a.creds = append(a.creds, credential{sha256.Sum256([]byte(c.User)), sha256.Sum256([]byte(c.Password))})
	}
	if len(a.creds) == 0 {
		return nil, errors.New("pipedrive: at least one credential with a password is required")
	}
	if now == nil {
		return nil, errors.New("pipedrive: a clock is required")
	}
	return a, nil
}

// BasicAuth returns the Authorization header value for user and password.
func BasicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// Authenticate checks the Authorization: Basic header against every
// configured credential, comparing user and password in constant time.
// Failures wrap crm.ErrUnauthorized.
func (a *Adapter) Authenticate(r crm.Request) error {
	h := crm.Header(r.Headers, "Authorization")
	if h == "" {
		return fmt.Errorf("%w: missing Authorization header", crm.ErrUnauthorized)
	}
	scheme, encoded, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return fmt.Errorf("%w: not Basic authentication", crm.ErrUnauthorized)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return fmt.Errorf("%w: credentials are not base64", crm.ErrUnauthorized)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return fmt.Errorf("%w: credentials lack a password", crm.ErrUnauthorized)
	}
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	match := 0
	for _, c := range a.creds {
		match |= subtle.ConstantTimeCompare(u[:], c.user[:]) & subtle.ConstantTimeCompare(p[:], c.pass[:])
	}
	if match != 1 {
		return fmt.Errorf("%w: wrong user name or password", crm.ErrUnauthorized)
	}
	return nil
}

// payload covers both webhook versions.
type payload struct {
	Meta struct {
		Version  any             `json:"version"` // "2.0" (v2) or 1 (v1 uses "v")
		V        json.Number     `json:"v"`
		Action   string          `json:"action"`
		Entity   string          `json:"entity"` // v2
		Object   string          `json:"object"` // v1
		ID       json.RawMessage `json:"id"`
		EntityID json.RawMessage `json:"entity_id"`
		// v2: seconds (number or string); v1: seconds and timestamp_micro.
		Timestamp      json.RawMessage `json:"timestamp"`
		TimestampMicro json.Number     `json:"timestamp_micro"`
	} `json:"meta"`
	Event    string          `json:"event"` // v1, e.g. "updated.deal"
	Data     json.RawMessage `json:"data"`
	Current  json.RawMessage `json:"current"`
	Previous json.RawMessage `json:"previous"`
}

// deal holds the deal fields read, in either version.
type deal struct {
	ID           json.Number                `json:"id"`
	Status       string                     `json:"status"`
	StageID      json.Number                `json:"stage_id"`
	PipelineID   json.Number                `json:"pipeline_id"`
	Value        json.RawMessage            `json:"value"`
	Currency     string                     `json:"currency"`
	UpdateTime   string                     `json:"update_time"`
	CustomFields map[string]json.RawMessage `json:"custom_fields"`
}

// Parse turns an authenticated webhook into exactly one event. v2
// (meta.version "2.0"): ID is meta.id; v1 (event "updated.deal", current /
// previous): ID is derived from meta (object, id, action, timestamp) since
// v1's meta.id is the deal id, not an event id. Bodies without usable ids
// get "body-sha256:<hash>". Non-deal entities are KindIgnored. A body that
// is not a JSON object with meta wraps crm.ErrMalformed.
func (a *Adapter) Parse(r crm.Request) ([]crm.Event, error) {
	var p payload
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %v", crm.ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", crm.ErrMalformed)
	}
	if p.Meta.Action == "" && p.Event == "" {
		return nil, fmt.Errorf("%w: meta.action: missing", crm.ErrMalformed)
	}
	ev := crm.Event{Provider: Name, Kind: crm.KindIgnored}
	v1 := p.Event != "" || p.Meta.Object != "" || p.Current != nil
	if version, ok := p.Meta.Version.(string); ok && strings.HasPrefix(version, "2") {
		v1 = false
	}
	entity, action := p.Meta.Entity, p.Meta.Action
	current, previous := p.Data, p.Previous
	if v1 {
		entity, current = p.Meta.Object, p.Current
		if act, obj, ok := strings.Cut(p.Event, "."); ok {
			if action == "" {
				action = act
			}
			if entity == "" {
				entity = obj
			}
		}
		ev.ID = v1ID(&p, entity, action)
	} else {
		ev.ID = idString(p.Meta.ID)
	}
	if ev.ID == "" {
		sum := sha256.Sum256(r.Body)
		ev.ID = "body-sha256:" + hex.EncodeToString(sum[:16])
	}
	ev.OccurredAt = metaTime(p.Meta.Timestamp)
	if entity != "deal" {
		return []crm.Event{ev}, nil
	}
	if err := a.readDeal(&ev, &p, current, previous, action, v1); err != nil {
		return nil, err
	}
	return []crm.Event{ev}, nil
}

// readDeal fills ev from a deal webhook: the deal (current, or previous for
// a deletion), its custom fields and what the action means. A deal without
// an id leaves ev ignored.
func (a *Adapter) readDeal(ev *crm.Event, p *payload, current, previous json.RawMessage, action string, v1 bool) error {
	var d deal
	src := current
	if isNull(src) {
		src = previous // a deletion may carry the deal only in previous
	}
	if !isNull(src) {
		if err := json.Unmarshal(src, &d); err != nil {
			return fmt.Errorf("%w: data: %v", crm.ErrMalformed, err)
		}
	}
	ev.RecordID = string(d.ID)
	if ev.RecordID == "" {
		ev.RecordID = idString(p.Meta.EntityID)
	}
	if ev.RecordID == "" && v1 {
		ev.RecordID = idString(p.Meta.ID)
	}
	if ev.RecordID == "" {
		return nil // a deal event without a deal id: ignored
	}
	if ev.OccurredAt.IsZero() {
		if t, err := time.Parse(time.RFC3339, d.UpdateTime); err == nil {
			ev.OccurredAt = t.UTC()
		} else if t, err := time.Parse(time.DateTime, d.UpdateTime); err == nil {
			ev.OccurredAt = t.UTC() // v1: "2024-09-27 14:25:28" in UTC
		}
	}
	ev.Pipeline = string(d.PipelineID)
	ev.Stage = string(d.StageID)
	switch d.Status {
	case "open":
		ev.Status = crm.StatusOpen
	case "won":
		ev.Status = crm.StatusWon
	case "lost":
		ev.Status = crm.StatusLost
	}
	if value := scalar(d.Value); value != "" && value != "null" {
		m, err := money.Parse(value, d.Currency)
		if err != nil {
			return fmt.Errorf("%w: data.value: %q is not an amount", crm.ErrMalformed, value)
		}
		ev.Amount = m
	}
	if a.referral != "" {
		ev.ReferralID = strings.TrimSpace(a.customField(&d, src, a.referral))
	}
	if a.email != "" {
		ev.Email = strings.ToLower(strings.TrimSpace(a.customField(&d, src, a.email)))
	}

	switch {
	case action == "delete" || action == "deleted" || d.Status == "deleted":
		ev.Kind = crm.KindDeleted
	case action == "create" || action == "added":
		ev.Kind = crm.KindCreated
	case action == "change" || action == "updated" || action == "merged":
		ev.Kind = crm.KindStageChanged
		if amountOnly(previous) {
			ev.Kind = crm.KindAmountChanged
		}
	}
	return nil
}

// customField reads a custom field: v2 keeps them in data.custom_fields,
// either as a plain value or as {"type":..,"value":..}; v1 puts them at the
// top level of current under their 40-character key.
func (a *Adapter) customField(d *deal, src json.RawMessage, key string) string {
	raw, ok := d.CustomFields[key]
	if !ok {
		var top map[string]json.RawMessage
		if json.Unmarshal(src, &top) != nil {
			return ""
		}
		raw = top[key]
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var w struct {
			Value json.RawMessage `json:"value"`
		}
		if json.Unmarshal(raw, &w) != nil {
			return ""
		}
		raw = w.Value
	}
	return scalar(raw)
}

// amountOnly reports whether a v2 "previous" object names only value and/or
// currency among the fields Referflow reads, i.e. only the amount changed.
func amountOnly(previous json.RawMessage) bool {
	if isNull(previous) {
		return false
	}
	var prev map[string]json.RawMessage
	if json.Unmarshal(previous, &prev) != nil || len(prev) == 0 {
		return false
	}
	amount := false
	for k := range prev {
		switch k {
		case "value", "currency":
			amount = true
		case "stage_id", "pipeline_id", "status", "custom_fields":
			return false
		}
	}
	return amount
}

// v1ID builds a v1 dedupe key: v1's meta.id is the object id, so it is
// combined with the action and the change's timestamp.
func v1ID(p *payload, entity, action string) string {
	id := idString(p.Meta.ID)
	ts := string(p.Meta.TimestampMicro)
	if ts == "" {
		ts = idString(p.Meta.Timestamp)
	}
	if id == "" || ts == "" {
		return ""
	}
	return "v1:" + entity + ":" + id + ":" + action + ":" + ts
}

// idString renders a JSON string or number id as text ("" for null/absent).
func idString(raw json.RawMessage) string {
	s := scalar(raw)
	if s == "null" {
		return ""
	}
	return strings.TrimSpace(s)
}

// scalar returns a JSON string's content or a number/bool literal's text.
func scalar(raw json.RawMessage) string {
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
		return s
	case '{', '[':
		return ""
	}
	return string(raw)
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// metaTime reads meta.timestamp: Unix seconds (or milliseconds), as a
// number or a string, or RFC 3339.
func metaTime(raw json.RawMessage) time.Time {
	s := idString(raw)
	if s == "" {
		return time.Time{}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		if n > 1e12 {
			return time.UnixMilli(n).UTC()
		}
		return time.Unix(n, 0).UTC()
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	return time.Time{}
}
