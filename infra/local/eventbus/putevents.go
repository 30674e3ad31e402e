package eventbus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// putEventsRequest and putEventsResponse are the JSON bodies of
// EventBridge's PutEvents (AWS JSON 1.1).
type putEventsRequest struct {
	Entries []struct {
		Source, DetailType, Detail, EventBusName string
		Time                                     json.RawMessage
		Resources                                []string
	}
}

type putEventsResponse struct {
	Entries []struct {
		EventID   string `json:"EventId"`
		ErrorCode string
	}
}

// PutEvents hands the bus every entry of a PutEvents call that EventBridge
// (moto) accepted: request and response are the call's JSON bodies, and an
// entry counts as accepted when its answer has an EventId, which becomes
// the event's id. It returns the number of entries accepted.
func (b *Bus) PutEvents(request, response []byte) (int, error) {
	var req putEventsRequest
	if err := json.Unmarshal(request, &req); err != nil {
		return 0, fmt.Errorf("eventbus: PutEvents request: %w", err)
	}
	var res putEventsResponse
	if err := json.Unmarshal(response, &res); err != nil {
		return 0, fmt.Errorf("eventbus: PutEvents response: %w", err)
	}
	n := 0
	for i, e := range req.Entries {
		if i >= len(res.Entries) || res.Entries[i].EventID == "" || res.Entries[i].ErrorCode != "" {
			continue
		}
		at, err := entryTime(e.Time)
		if err != nil {
			return n, fmt.Errorf("eventbus: PutEvents entry %d: %w", i, err)
		}
		b.Put(Entry{
			ID: res.Entries[i].EventID, EventBus: BusName(e.EventBusName), Source: e.Source, DetailType: e.DetailType,
			Detail: json.RawMessage(e.Detail), Time: at, Resources: e.Resources,
		})
		n++
	}
	return n, nil
}

// entryTime reads an entry's Time: epoch seconds (the JSON protocol's
// timestamps), an RFC 3339 string, or absent (zero: the bus's clock).
func entryTime(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, err
		}
		return time.Parse(time.RFC3339Nano, s)
	}
	var sec float64
	if err := json.Unmarshal(raw, &sec); err != nil {
		return time.Time{}, err
	}
	whole, frac := math.Modf(sec)
	return time.Unix(int64(whole), int64(math.Round(frac*1e3))*1e6).UTC(), nil
}

// BusName returns the name of a bus given by name or ARN ("" is the
// default bus).
func BusName(s string) string {
	if i := bytes.LastIndex([]byte(s), []byte(":event-bus/")); i >= 0 {
		return s[i+len(":event-bus/"):]
	}
	if s == "" {
		return "default"
	}
	return s
}
