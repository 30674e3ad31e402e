// Package hubspot is the HubSpot edge of the CRM ingestion path: it checks
// HubSpot request signatures (v1, v2, v3), parses Webhooks API batches and
// workflow "Send a webhook" bodies into crm.Events, and offers a small CRM v3
// client to fill in what a webhook does not carry (Enrich).
package hubspot

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
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

// Name is the provider name, the path segment of POST /webhooks/hubspot.
const Name = "hubspot"

// MaxBatch is the largest Webhooks API batch accepted (HubSpot sends at most
// 100 events per request).
const MaxBatch = 100

// DefaultReferralProperty is the deal property read as the referral id.
const DefaultReferralProperty = "referral_id"

// DefaultEmailProperty is the key read as the associated contact's email in a
// workflow webhook body.
const DefaultEmailProperty = "email"

// dealObjectTypeID is HubSpot's object type id for deals in the generic
// object.* webhook subscriptions.
const dealObjectTypeID = "0-3"

// Config configures the HubSpot adapter.
type Config struct {
	// ClientSecrets are the app client secrets accepted, newest first; list
	// two during a rotation. At least one is required.
	ClientSecrets []string
	// RequireV3 rejects requests signed only with v1/v2 (which carry no
	// timestamp and can be replayed). Off by default: workflow webhooks and
	// older apps may send v1/v2 only.
	RequireV3 bool
	// ReferralProperty is the deal property holding the referral id
	// (default "referral_id").
	ReferralProperty string
	// EmailProperty is the key holding the associated contact's email in a
	// workflow webhook body (default "email").
	EmailProperty string
}

// Adapter authenticates and parses HubSpot deliveries. It implements
// crm.Adapter and is safe for concurrent use.
type Adapter struct {
	secrets  [][]byte
	v3Only   bool
	referral string
	email    string
	now      func() time.Time
}

var _ crm.Adapter = (*Adapter)(nil)

// New returns an Adapter. now is the clock used for the v3 timestamp check
// (time.Now in production, a fixed clock in tests).
func New(cfg Config, now func() time.Time) (*Adapter, error) {
	a := &Adapter{v3Only: cfg.RequireV3, referral: cfg.ReferralProperty, email: cfg.EmailProperty, now: now}
	for _, s := range cfg.ClientSecrets {
		if s = strings.TrimSpace(s); s != "" {
			a.secrets = append(a.secrets, []byte(s))
		}
	}
	if len(a.secrets) == 0 {
		return nil, errors.New("hubspot: at least one client secret is required")
	}
	if a.now == nil {
		return nil, errors.New("hubspot: a clock is required")
	}
	if a.referral == "" {
		a.referral = DefaultReferralProperty
	}
	if a.email == "" {
		a.email = DefaultEmailProperty
	}
	return a, nil
}

// Authenticate checks the HubSpot signature over the raw request. When an
// X-HubSpot-Signature-v3 header is present only v3 is checked (timestamp
// within MaxSkew of the clock, either direction); otherwise the v1 or v2
// signature named by X-HubSpot-Signature-Version is checked, unless
// RequireV3 is set. Any configured secret may match. Failures wrap
// crm.ErrUnauthorized.
func (a *Adapter) Authenticate(r crm.Request) error {
	if sig := crm.Header(r.Headers, HeaderSignatureV3); sig != "" {
		return a.verifyV3(r, sig)
	}
	if a.v3Only {
		return fmt.Errorf("%w: missing %s", crm.ErrUnauthorized, HeaderSignatureV3)
	}
	sig := crm.Header(r.Headers, HeaderSignature)
	if sig == "" {
		return fmt.Errorf("%w: missing %s", crm.ErrUnauthorized, HeaderSignature)
	}
	version := strings.ToLower(crm.Header(r.Headers, HeaderSignatureVersion))
	var ok bool
	switch version {
	case "v1", "":
		for _, s := range a.secrets {
			ok = equalHex(sig, sha256v1(s, r.Body)) || ok
		}
	case "v2":
		if r.URL == "" {
			return fmt.Errorf("%w: request URL unknown", crm.ErrUnauthorized)
		}
		for _, s := range a.secrets {
			ok = equalHex(sig, sha256v2(s, r.Method, r.URL, r.Body)) || ok
		}
	default:
		return fmt.Errorf("%w: unsupported signature version %q", crm.ErrUnauthorized, version)
	}
	if !ok {
		return fmt.Errorf("%w: %s signature mismatch", crm.ErrUnauthorized, version)
	}
	return nil
}

func sha256v1(secret, body []byte) []byte {
	h := sha256.New()
	h.Write(secret)
	h.Write(body)
	return h.Sum(nil)
}

func sha256v2(secret []byte, method, uri string, body []byte) []byte {
	h := sha256.New()
	h.Write(secret)
	h.Write([]byte(method))
	h.Write([]byte(uri))
	h.Write(body)
	return h.Sum(nil)
}

func (a *Adapter) verifyV3(r crm.Request, sig string) error {
	tsText := crm.Header(r.Headers, HeaderTimestamp)
	if tsText == "" {
		return fmt.Errorf("%w: missing %s", crm.ErrUnauthorized, HeaderTimestamp)
	}
	ms, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad %s", crm.ErrUnauthorized, HeaderTimestamp)
	}
	skew := a.now().UnixMilli() - ms
	if skew > MaxSkew.Milliseconds() {
		return fmt.Errorf("%w: timestamp too old", crm.ErrUnauthorized)
	}
	if -skew > MaxSkew.Milliseconds() {
		return fmt.Errorf("%w: timestamp in the future", crm.ErrUnauthorized)
	}
	if r.URL == "" {
		return fmt.Errorf("%w: request URL unknown", crm.ErrUnauthorized)
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", crm.ErrUnauthorized)
	}
	// HubSpot signs the URI with some characters decoded; a URL without
	// such characters (the usual case) yields a single candidate.
	uris := []string{NormalizeV3URI(r.URL)}
	if uris[0] != r.URL {
		uris = append(uris, r.URL)
	}
	ok := false
	for _, s := range a.secrets {
		for _, u := range uris {
			ok = hmac.Equal(got, macV3(s, r.Method, u, r.Body, tsText)) || ok
		}
	}
	if !ok {
		return fmt.Errorf("%w: v3 signature mismatch", crm.ErrUnauthorized)
	}
	return nil
}

// Parse turns an authenticated delivery into events. A JSON array is a
// Webhooks API batch (at most MaxBatch entries; an entry that cannot be
// used becomes a KindIgnored event); a JSON object is a workflow webhook
// and yields exactly one event. Anything else wraps crm.ErrMalformed.
func (a *Adapter) Parse(r crm.Request) ([]crm.Event, error) {
	body := bytes.TrimSpace(r.Body)
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty body", crm.ErrMalformed)
	}
	switch body[0] {
	case '[':
		return a.parseBatch(body)
	case '{':
		ev, err := a.parseWorkflow(body)
		if err != nil {
			return nil, err
		}
		return []crm.Event{ev}, nil
	}
	return nil, fmt.Errorf("%w: body is neither a JSON array nor an object", crm.ErrMalformed)
}

// webhookEvent is one entry of a Webhooks API batch.
type webhookEvent struct {
	EventID          json.Number `json:"eventId"`
	SubscriptionType string      `json:"subscriptionType"`
	ObjectID         json.Number `json:"objectId"`
	ObjectTypeID     string      `json:"objectTypeId"`
	OccurredAt       json.Number `json:"occurredAt"`
	PropertyName     string      `json:"propertyName"`
	PropertyValue    *string     `json:"propertyValue"`
}

func (a *Adapter) parseBatch(body []byte) ([]crm.Event, error) {
	// Fast path: every entry is well-formed, one decoding pass.
	var typed []webhookEvent
	if json.Unmarshal(body, &typed) == nil && len(typed) <= MaxBatch {
		events := make([]crm.Event, 0, len(typed))
		ok := true
		for i := range typed {
			if !isDigits(string(typed[i].EventID)) {
				ok = false
				break
			}
			events = append(events, a.toEvent(&typed[i]))
		}
		if ok {
			return events, nil
		}
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", crm.ErrMalformed, err)
	}
	if len(raw) > MaxBatch {
		return nil, fmt.Errorf("%w: %d events in one batch (max %d)", crm.ErrMalformed, len(raw), MaxBatch)
	}
	events := make([]crm.Event, 0, len(raw))
	for i, entry := range raw {
		events = append(events, a.batchEvent(entry, i))
	}
	return events, nil
}

// batchEvent converts one batch entry; it never fails: an unusable entry is
// a KindIgnored event whose ID is its eventId when readable, else a hash of
// the entry.
func (a *Adapter) batchEvent(entry json.RawMessage, index int) crm.Event {
	ev := crm.Event{Provider: Name, Kind: crm.KindIgnored}
	var w webhookEvent
	if err := json.Unmarshal(entry, &w); err != nil || !isDigits(string(w.EventID)) {
		ev.ID = "entry-sha256:" + shortHash(entry) + ":" + strconv.Itoa(index)
		return ev
	}
	return a.toEvent(&w)
}

// toEvent converts a decoded entry whose eventId is valid.
func (a *Adapter) toEvent(w *webhookEvent) crm.Event {
	ev := crm.Event{Provider: Name, Kind: crm.KindIgnored, ID: string(w.EventID)}
	if isDigits(string(w.ObjectID)) {
		ev.RecordID = string(w.ObjectID)
	}
	if ms, err := strconv.ParseInt(string(w.OccurredAt), 10, 64); err == nil && ms > 0 {
		ev.OccurredAt = time.UnixMilli(ms).UTC()
	}
	if ev.RecordID == "" {
		return ev
	}
	var action string
	switch {
	case strings.HasPrefix(w.SubscriptionType, "deal."):
		action = strings.TrimPrefix(w.SubscriptionType, "deal.")
	case strings.HasPrefix(w.SubscriptionType, "object.") && w.ObjectTypeID == dealObjectTypeID:
		action = strings.TrimPrefix(w.SubscriptionType, "object.")
	default:
		return ev
	}
	value := ""
	if w.PropertyValue != nil {
		value = *w.PropertyValue
	}
	switch action {
	case "creation":
		ev.Kind = crm.KindCreated
	case "deletion":
		ev.Kind = crm.KindDeleted
	case "propertyChange":
		switch w.PropertyName {
		case "dealstage":
			ev.Kind, ev.Stage = crm.KindStageChanged, value
		case "pipeline":
			ev.Kind, ev.Pipeline = crm.KindStageChanged, value
		case "amount":
			// In the deal's currency, which the event does not say: the
			// text is kept for the enricher to read it in that currency.
			m, err := money.Parse(value, "")
			if err != nil {
				return ev // unreadable amount: ignored, still with its ID
			}
			ev.Kind, ev.Amount = crm.KindAmountChanged, m
			if m != nil {
				ev.AmountText = strings.TrimSpace(value)
			}
		case "deal_currency_code":
			// The currency changed; the event does not carry the amount.
			ev.Kind = crm.KindAmountChanged
		case a.referral:
			ev.Kind, ev.ReferralID = crm.KindStageChanged, strings.TrimSpace(value)
		}
	}
	return ev
}

func isDigits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// shortHash is the first 128 bits of the SHA-256 of b, in hex.
func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
