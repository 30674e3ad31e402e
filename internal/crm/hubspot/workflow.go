package hubspot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/money"
)

// parseWorkflow reads a workflow "Send a webhook" body: the deal as a JSON
// object, either in HubSpot's legacy workflow shape
// ({"objectId":..,"properties":{"dealstage":{"value":".."},..}}), in the CRM
// v3 object shape ({"id":"..","properties":{"dealstage":".."}}), or as a
// customised flat body ({"hs_object_id":..,"dealstage":"..",...}).
func (a *Adapter) parseWorkflow(body []byte) (crm.Event, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return crm.Event{}, fmt.Errorf("%w: %v", crm.ErrMalformed, err)
	}
	props := map[string]json.RawMessage{}
	if p, ok := obj["properties"]; ok {
		if err := json.Unmarshal(p, &props); err != nil {
			return crm.Event{}, fmt.Errorf("%w: properties: not an object", crm.ErrMalformed)
		}
	}
	get := func(name string) (string, int64) {
		if v, ok := props[name]; ok {
			if s, ts, ok := scalarOrValue(v); ok {
				return s, ts
			}
		}
		if v, ok := obj[name]; ok {
			if s, ts, ok := scalarOrValue(v); ok {
				return s, ts
			}
		}
		return "", 0
	}
	ev := crm.Event{Provider: Name, Kind: crm.KindStageChanged, ID: "body-sha256:" + shortHash(body)}
	for _, k := range []string{"objectId", "id", "hs_object_id", "dealId"} {
		if s, _ := get(k); isDigits(s) {
			ev.RecordID = s
			break
		}
	}
	if ev.RecordID == "" {
		return crm.Event{}, fmt.Errorf("%w: objectId: missing deal id", crm.ErrMalformed)
	}
	var stageTS int64
	ev.Stage, stageTS = get("dealstage")
	ev.Pipeline, _ = get("pipeline")
	amount, _ := get("amount")
	currency, _ := get("deal_currency_code")
	m, err := money.Parse(amount, currency)
	if err != nil {
		return crm.Event{}, fmt.Errorf("%w: amount: %q is not a decimal amount", crm.ErrMalformed, amount)
	}
	ev.Amount = m
	if m != nil && m.Currency == "" {
		ev.AmountText = strings.TrimSpace(amount) // currency looked up
	}
	ev.ReferralID, _ = get(a.referral)
	ev.ReferralID = strings.TrimSpace(ev.ReferralID)
	email, _ := get(a.email)
	ev.Email = strings.ToLower(strings.TrimSpace(email))
	switch {
	case stageTS > 0:
		ev.OccurredAt = time.UnixMilli(stageTS).UTC()
	default:
		if s, _ := get("hs_lastmodifieddate"); s != "" {
			ev.OccurredAt = parseTime(s)
		}
	}
	return ev, nil
}

// scalarOrValue reads a property as a string: a JSON string, number or bool,
// or the legacy {"value":..,"timestamp":..} wrapper. null is ("", 0, true).
func scalarOrValue(raw json.RawMessage) (string, int64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", 0, false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", 0, false
		}
		return s, 0, true
	case '{':
		var w struct {
			Value     json.RawMessage `json:"value"`
			Timestamp json.Number     `json:"timestamp"`
		}
		if json.Unmarshal(raw, &w) != nil || w.Value == nil {
			return "", 0, false
		}
		s, _, ok := scalarOrValue(w.Value)
		if !ok {
			return "", 0, false
		}
		ts, _ := strconv.ParseInt(string(w.Timestamp), 10, 64)
		return s, ts, true
	case 'n':
		return "", 0, true
	case '[':
		return "", 0, false
	}
	// number or boolean: keep the literal text (exact for amounts).
	return string(raw), 0, true
}

// parseTime reads HubSpot timestamps: Unix milliseconds or RFC 3339.
func parseTime(s string) time.Time {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).UTC()
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	return time.Time{}
}
