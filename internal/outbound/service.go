// Package outbound sends Referflow's domain events to the operator's own
// systems as webhooks signed with Standard Webhooks (internal/stdwebhooks).
// An operator registers endpoints (an https URL, the event types wanted, a
// description, an enabled flag, a signing secret generated for each); each
// event becomes one delivery per subscribed endpoint, made once however
// often the event arrives, and retried on the Standard Webhooks (Svix)
// schedule for at least three days until the endpoint answers 2xx. Every
// attempt is recorded on the delivery (kept 30 days), and an operator can
// replay a delivery, or every failed one since a time.
//
// The Service holds the logic; the table (internal/store) implements
// Store. Time, randomness and HTTP are injected.
package outbound

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
)

// Errors callers match with errors.Is; the store returns them too.
var (
	ErrNotFound = errors.New("outbound: not found")
	// ErrConflict is a conditional write that met another write (the
	// version read changed, or the id exists).
	ErrConflict = errors.New("outbound: changed meanwhile")
	// ErrDisabled is a replay asked of a disabled endpoint.
	ErrDisabled = errors.New("outbound: endpoint disabled")
	// ErrBusy is a replay of a delivery whose attempt is under way.
	ErrBusy = errors.New("outbound: an attempt is under way")
)

// Store keeps endpoints and deliveries (internal/store implements it).
type Store interface {
	// CreateWebhookEndpoint stores a new endpoint (ErrConflict if its id exists).
	CreateWebhookEndpoint(ctx context.Context, ep Endpoint) error
	WebhookEndpoint(ctx context.Context, id string) (*Endpoint, error)
	WebhookEndpoints(ctx context.Context) ([]Endpoint, error)
	// UpdateWebhookEndpoint writes ep if its stored version is ep.Version
	// (ErrConflict otherwise, ErrNotFound when it is gone), as version+1.
	UpdateWebhookEndpoint(ctx context.Context, ep Endpoint) error
	DeleteWebhookEndpoint(ctx context.Context, id string) error
	// CountWebhookOutcome records how a delivery of the endpoint ended: a
	// success sets its consecutive failures to 0, a failure adds one and
	// disables it when they reach disableAfter (> 0); disabled reports that.
	CountWebhookOutcome(ctx context.Context, endpointID string, succeeded bool, disableAfter int, now time.Time) (disabled bool, err error)
	// CreateWebhookDelivery stores d unless a delivery with its id exists
	// (created false).
	CreateWebhookDelivery(ctx context.Context, d Delivery) (created bool, err error)
	WebhookDelivery(ctx context.Context, endpointID, id string) (*Delivery, error)
	// SaveWebhookDelivery writes d if its stored version is d.Version
	// (ErrConflict otherwise), as version+1; a pending d is listed among
	// the due deliveries at d.Due(), any other is not.
	SaveWebhookDelivery(ctx context.Context, d Delivery) error
	WebhookDeliveries(ctx context.Context, endpointID string, q Query) ([]Delivery, string, error)
	// DueWebhookDeliveries lists at most limit pending deliveries due at
	// now, earliest first, without a scan.
	DueWebhookDeliveries(ctx context.Context, now time.Time, limit int) ([]Ref, error)
}

// Query selects deliveries of an endpoint.
type Query struct {
	Status Status    // "" for any
	Since  time.Time // of events at or after this time (zero: any)
	After  string    // the cursor a previous page returned
	Limit  int
	Oldest bool // oldest first (default newest first)
}

// Ref names a delivery.
type Ref struct{ EndpointID, ID string }

// Doer sends HTTP requests (*http.Client, with a timeout, not following
// redirects).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Service registers endpoints and makes deliveries. Its methods are safe
// for concurrent use.
type Service struct {
	Store  Store
	Client Doer
	// Schedule is the retry schedule (required to make scheduled attempts).
	Schedule Schedule
	Now      func() time.Time
	Rand     io.Reader // secrets and endpoint ids (crypto/rand.Reader)
	// Jitter spreads each delay of the schedule (nil: Jitter).
	Jitter func(time.Duration) time.Duration
	// DisableAfter is how many deliveries in a row must fail before the
	// endpoint is disabled (0: never).
	DisableAfter int
	// CacheTTL keeps the list of endpoints that long between reads (0:
	// read it for every event).
	CacheTTL time.Duration
	Log      *slog.Logger
	Metrics  *metrics.Emitter

	mu          sync.Mutex
	cached      []Endpoint
	cachedUntil time.Time
}

// DefaultDisableAfter is the DisableAfter the functions use: an endpoint
// whose last 5 deliveries each failed for three days is disabled.
const DefaultDisableAfter = 5

// Parallel is how many attempts one worker makes at once.
const Parallel = 4

// Result counts what a call did.
type Result struct {
	Created   int `json:"created"`
	Attempted int `json:"attempted"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`   // deliveries that ended failed
	Retrying  int `json:"retrying"` // failed attempts with a retry due
	Skipped   int `json:"skipped"`  // taken by another worker, or not due
	Queued    int `json:"queued"`   // left for the next run (time ran out)
}

func (r *Result) add(o Result) {
	r.Created += o.Created
	r.Attempted += o.Attempted
	r.Succeeded += o.Succeeded
	r.Failed += o.Failed
	r.Retrying += o.Retrying
	r.Skipped += o.Skipped
	r.Queued += o.Queued
}

// Publish makes ev's deliveries: for each enabled endpoint subscribed to
// its type, the delivery is created once (an event that arrives again
// creates nothing) and its first attempt made at once. A failed attempt is
// not an error (the schedule retries it); a failed write is, after the
// other endpoints were served, so that the event is sent again (what was
// created is not created twice; the retry run makes its attempts).
func (s *Service) Publish(ctx context.Context, ev events.Event) (Result, error) {
	if ev.ID == "" || ev.Type == "" {
		return Result{}, errors.New("outbound: event without an id or a type")
	}
	eps, err := s.endpoints(ctx)
	if err != nil {
		return Result{}, err
	}
	payload, err := Payload(ev)
	if err != nil {
		return Result{}, err
	}
	now := s.Now()
	var res Result
	var jobs []job
	var errs []error
	for _, ep := range eps {
		if !ep.Enabled || !ep.Subscribes(ev.Type) {
			continue
		}
		d := newDelivery(ep, ev, payload, now)
		created, err := s.Store.CreateWebhookDelivery(ctx, d)
		switch {
		case err != nil:
			errs = append(errs, err)
		case created:
			res.Created++
			jobs = append(jobs, job{ep: ep, d: d, held: true})
		default:
			res.Skipped++ // made before: the retry run owns it
		}
	}
	res.add(s.attemptAll(ctx, jobs))
	return res, errors.Join(errs...)
}

// RunDue makes the attempts that are due, at most limit of them, and only
// as many as ctx's deadline leaves time for (the others stay due for the
// next run). A delivery whose endpoint is disabled or removed fails
// without an attempt.
func (s *Service) RunDue(ctx context.Context, limit int) (Result, error) {
	now := s.Now()
	refs, err := s.Store.DueWebhookDeliveries(ctx, now, limit)
	if err != nil {
		return Result{}, err
	}
	var res Result
	var jobs []job
	eps := map[string]*Endpoint{}
	for _, ref := range refs {
		d, err := s.Store.WebhookDelivery(ctx, ref.EndpointID, ref.ID)
		if errors.Is(err, ErrNotFound) {
			continue // expired meanwhile
		}
		if err != nil {
			return res, err
		}
		if d.Due().IsZero() || d.Due().After(now) {
			res.Skipped++ // the index lags, or another worker holds it
			continue
		}
		ep, ok := eps[ref.EndpointID]
		if !ok {
			if ep, err = s.Store.WebhookEndpoint(ctx, ref.EndpointID); err != nil && !errors.Is(err, ErrNotFound) {
				return res, err
			}
			eps[ref.EndpointID] = ep
		}
		if reason := unusable(ep); reason != "" {
			res.add(s.abandon(ctx, *d, reason))
			continue
		}
		jobs = append(jobs, job{ep: *ep, d: *d})
	}
	res.add(s.attemptAll(ctx, jobs))
	return res, nil
}

// unusable says why no attempt can be made to ep ("" when one can).
func unusable(ep *Endpoint) string {
	switch {
	case ep == nil:
		return "endpoint removed"
	case !ep.Enabled:
		return "endpoint disabled"
	}
	return ""
}

// abandon fails d without an attempt.
func (s *Service) abandon(ctx context.Context, d Delivery, reason string) Result {
	after := d.abandoned(reason, s.Now())
	if err := s.Store.SaveWebhookDelivery(ctx, after); err != nil {
		s.log(ctx).Warn("webhook delivery not abandoned", "endpoint_id", d.EndpointID, "delivery_id", d.ID, "error", err)
		return Result{Skipped: 1}
	}
	s.log(ctx).Info("webhook delivery failed", "endpoint_id", d.EndpointID, "delivery_id", d.ID, "event_id", d.EventID, "reason", reason)
	s.Metrics.Count("WebhookDeliveriesFailed", 1, "endpoint_id", d.EndpointID)
	return Result{Failed: 1}
}

// endpoints returns every endpoint, from the cache while it is fresh.
func (s *Service) endpoints(ctx context.Context) ([]Endpoint, error) {
	if s.CacheTTL <= 0 {
		return s.Store.WebhookEndpoints(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	if s.cached != nil && now.Before(s.cachedUntil) {
		return s.cached, nil
	}
	eps, err := s.Store.WebhookEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	if eps == nil {
		eps = []Endpoint{}
	}
	s.cached, s.cachedUntil = eps, now.Add(s.CacheTTL)
	return eps, nil
}

func (s *Service) log(ctx context.Context) *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return logging.From(ctx, s.Log)
}
