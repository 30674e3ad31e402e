package outbound

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/events"
)

// Status is where a delivery stands.
type Status string

// Delivery statuses.
const (
	// StatusPending: an attempt is due now or later.
	StatusPending Status = "pending"
	// StatusSucceeded: the endpoint answered 2xx (final until replayed).
	StatusSucceeded Status = "succeeded"
	// StatusFailed: every attempt of the schedule failed, the endpoint was
	// disabled or removed, or a replay failed (final until replayed).
	StatusFailed Status = "failed"
)

// ValidStatus reports whether s is a delivery status.
func ValidStatus(s string) bool {
	switch Status(s) {
	case StatusPending, StatusSucceeded, StatusFailed:
		return true
	}
	return false
}

// What made an attempt.
const (
	TriggerFirst  = "first"  // the event arrived
	TriggerRetry  = "retry"  // the retry schedule
	TriggerReplay = "replay" // an operator
)

// Delivery is one event sent to one endpoint: there is one per (endpoint,
// event id), with every attempt made to send it.
type Delivery struct {
	// ID is the webhook-id header, the same on every attempt (DeliveryID).
	ID         string      `dynamodbav:"delivery_id" json:"id"`
	EndpointID string      `dynamodbav:"endpoint_id" json:"endpoint_id"`
	EventID    string      `dynamodbav:"event_id" json:"event_id"`
	EventType  events.Type `dynamodbav:"event_type" json:"event_type"`
	// Payload is the body sent, the same bytes on every attempt.
	Payload string `dynamodbav:"payload" json:"-"`
	Status  Status `dynamodbav:"status" json:"status"`
	// Step counts the attempts of the retry schedule made (replays are
	// not counted); AttemptCount counts every attempt.
	Step         int `dynamodbav:"step" json:"-"`
	AttemptCount int `dynamodbav:"attempt_count" json:"attempt_count"`
	// Attempts are the latest MaxAttemptsKept attempts, oldest first.
	Attempts      []Attempt  `dynamodbav:"attempts" json:"attempts"`
	NextAttemptAt *time.Time `dynamodbav:"next_attempt_at" json:"next_attempt_at,omitempty"`
	// LeaseUntil: an attempt is under way until then; if its maker dies,
	// the delivery is due again at that time.
	LeaseUntil *time.Time `dynamodbav:"lease_until" json:"-"`
	// Replaying: an operator asked for a new attempt of a delivery that had
	// ended; if that attempt fails, the delivery is failed again.
	Replaying bool      `dynamodbav:"replaying" json:"replaying,omitempty"`
	CreatedAt time.Time `dynamodbav:"created_at" json:"created_at"`
	UpdatedAt time.Time `dynamodbav:"updated_at" json:"updated_at"`
	// Version counts the delivery's writes; every write is conditional on
	// the version read, so two workers never record over each other.
	Version int `dynamodbav:"version" json:"-"`
}

// Attempt is one try at sending a delivery. It holds no secret: no header
// is kept, only what the endpoint answered.
type Attempt struct {
	At         time.Time `dynamodbav:"at" json:"at"`
	Trigger    string    `dynamodbav:"trigger" json:"trigger"`
	StatusCode int       `dynamodbav:"status_code" json:"status_code,omitempty"`
	Error      string    `dynamodbav:"error" json:"error,omitempty"`
	DurationMS int64     `dynamodbav:"duration_ms" json:"duration_ms"`
	// Response is the start of the answer's body (at most MaxResponse bytes).
	Response string `dynamodbav:"response" json:"response,omitempty"`
}

// OK reports whether the endpoint took the delivery (a 2xx answer).
func (a Attempt) OK() bool { return a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300 }

// MaxAttemptsKept bounds the attempts kept on a delivery (the count goes on).
const MaxAttemptsKept = 30

// Payload is the body of the deliveries of ev, in the Standard Webhooks
// shape: {"type": <event type>, "timestamp": <RFC 3339 time of the
// event>, "data": <the event as JSON>}. Events carry ids, statuses and
// amounts only, so a payload holds no personal data.
func Payload(ev events.Event) (string, error) {
	b, err := json.Marshal(struct {
		Type      events.Type  `json:"type"`
		Timestamp string       `json:"timestamp"`
		Data      events.Event `json:"data"`
	}{ev.Type, ev.At.UTC().Format(time.RFC3339Nano), ev})
	if err != nil {
		return "", fmt.Errorf("outbound: payload of %s: %w", ev.ID, err)
	}
	return string(b), nil
}

// DeliveryID is the webhook-id of the delivery of event eventID (which
// happened at) to endpoint endpointID: "msg_" + the event's time in
// milliseconds + "_" + a hash of both ids. It is the same on every attempt
// and every worker, unique per (endpoint, event), and sorts by the
// event's time.
func DeliveryID(endpointID, eventID string, at time.Time) string {
	h := sha256.Sum256([]byte(endpointID + "\n" + eventID))
	return "msg_" + stamp(at) + "_" + idEncoding.EncodeToString(h[:15])
}

// stamp is a time as DeliveryID writes it: yyyymmddThhmmss + milliseconds.
func stamp(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%s%03d", t.Format("20060102T150405"), t.Nanosecond()/int(time.Millisecond))
}

// SinceKey is the smallest delivery id of an event at or after t.
func SinceKey(t time.Time) string { return "msg_" + stamp(t) }

// ValidDeliveryID reports whether s has the shape DeliveryID produces.
func ValidDeliveryID(s string) bool {
	rest, ok := strings.CutPrefix(s, "msg_")
	if !ok || len(rest) != 18+1+24 || rest[18] != '_' || rest[8] != 'T' {
		return false
	}
	for _, c := range rest[:8] + rest[9:18] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return validID(rest[19:])
}

// newDelivery is the delivery of ev to ep, created at now and leased to
// its creator for its first attempt.
func newDelivery(ep Endpoint, ev events.Event, payload string, now time.Time) Delivery {
	lease := now.Add(Lease)
	return Delivery{
		ID: DeliveryID(ep.ID, ev.ID, ev.At), EndpointID: ep.ID, EventID: ev.ID, EventType: ev.Type,
		Payload: payload, Status: StatusPending, NextAttemptAt: &now, LeaseUntil: &lease,
		Attempts: []Attempt{}, CreatedAt: now, UpdatedAt: now,
	}
}

// Lease is how long an attempt holds its delivery: longer than an attempt
// and its writes take, so no other worker makes the same attempt, and
// short enough that one cut short is made again soon.
const Lease = time.Minute

// Due is when the delivery's next attempt may be made (zero when it is not
// pending): its scheduled time, or the end of the lease of an attempt
// under way.
func (d Delivery) Due() time.Time {
	if d.Status != StatusPending || d.NextAttemptAt == nil {
		return time.Time{}
	}
	if d.LeaseUntil != nil && d.LeaseUntil.After(*d.NextAttemptAt) {
		return *d.LeaseUntil
	}
	return *d.NextAttemptAt
}

// trigger is what makes the next attempt of a pending delivery.
func (d Delivery) trigger() string {
	switch {
	case d.Replaying:
		return TriggerReplay
	case d.Step == 0:
		return TriggerFirst
	}
	return TriggerRetry
}

// leased returns d held for an attempt until now+Lease.
func (d Delivery) leased(now time.Time) Delivery {
	until := now.Add(Lease)
	d.LeaseUntil, d.UpdatedAt = &until, now
	return d
}

// replayed returns d asked for a new attempt now: a delivery that had
// ended is pending again, marked Replaying; a pending one keeps its
// schedule.
func (d Delivery) replayed(now time.Time) Delivery {
	if d.Status != StatusPending {
		d.Status, d.Replaying, d.NextAttemptAt = StatusPending, true, &now
	}
	d.UpdatedAt = now
	return d
}

// recorded returns d after attempt a (trigger a.Trigger). A 2xx ends it
// (succeeded). A failed replay of a delivery that had ended ends it again
// (failed); a failed replay of a pending one leaves its schedule as it
// was. A failed attempt of the schedule moves it to the next step, due
// after next(step) (false: the schedule is exhausted and it failed).
func (d Delivery) recorded(a Attempt, now time.Time, next func(step int) (time.Duration, bool)) Delivery {
	d.Attempts = append(append([]Attempt(nil), d.Attempts...), a)
	if n := len(d.Attempts); n > MaxAttemptsKept {
		d.Attempts = d.Attempts[n-MaxAttemptsKept:]
	}
	d.AttemptCount++
	d.LeaseUntil, d.UpdatedAt = nil, now
	switch {
	case a.OK():
		d.Status, d.Replaying, d.NextAttemptAt = StatusSucceeded, false, nil
	case a.Trigger == TriggerReplay && d.Replaying:
		d.Status, d.Replaying, d.NextAttemptAt = StatusFailed, false, nil
	case a.Trigger == TriggerReplay:
	default:
		d.Step++
		if delay, ok := next(d.Step); ok {
			at := now.Add(delay)
			d.NextAttemptAt = &at
		} else {
			d.Status, d.NextAttemptAt = StatusFailed, nil
		}
	}
	return d
}

// abandoned returns d failed without an attempt, because its endpoint is
// disabled or gone; the reason is recorded as an attempt that reached
// nobody.
func (d Delivery) abandoned(reason string, now time.Time) Delivery {
	d.Attempts = append(append([]Attempt(nil), d.Attempts...), Attempt{At: now, Trigger: d.trigger(), Error: reason})
	if n := len(d.Attempts); n > MaxAttemptsKept {
		d.Attempts = d.Attempts[n-MaxAttemptsKept:]
	}
	d.Status, d.Replaying, d.NextAttemptAt, d.LeaseUntil, d.UpdatedAt = StatusFailed, false, nil, nil, now
	return d
}
