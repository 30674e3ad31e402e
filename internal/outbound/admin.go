package outbound

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/referflow/referflow/internal/stdwebhooks"
)

// What operators do (the admin API and the CLI call these).

// Add registers an endpoint from in (URL and types required; enabled
// unless in says otherwise) with a new signing secret, and returns it with
// the secret: the only time, with Rotate, the secret is shown. Bad input is
// an *InvalidError and stores nothing.
func (s *Service) Add(ctx context.Context, in Input) (*Endpoint, string, error) {
	now := s.Now().UTC()
	ep := Endpoint{Enabled: true, Types: nil, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&ep, true); err != nil {
		return nil, "", err
	}
	var err error
	if ep.ID, err = newEndpointID(now, s.Rand); err != nil {
		return nil, "", err
	}
	if ep.Secret, err = stdwebhooks.NewSecret(s.Rand); err != nil {
		return nil, "", err
	}
	if err := s.Store.CreateWebhookEndpoint(ctx, ep); err != nil {
		return nil, "", err
	}
	return &ep, ep.Secret, nil
}

// Get returns an endpoint (ErrNotFound for an unknown or malformed id).
func (s *Service) Get(ctx context.Context, id string) (*Endpoint, error) {
	if !ValidEndpointID(id) {
		return nil, fmt.Errorf("outbound: endpoint %q: %w", id, ErrNotFound)
	}
	return s.Store.WebhookEndpoint(ctx, id)
}

// List returns every endpoint, oldest first.
func (s *Service) List(ctx context.Context) ([]Endpoint, error) {
	eps, err := s.Store.WebhookEndpoints(ctx)
	if eps == nil && err == nil {
		eps = []Endpoint{}
	}
	return eps, err
}

// Update changes the fields in gives (an *InvalidError, and no write, when
// one is at fault). Enabling an endpoint again clears its count of failed
// deliveries. A concurrent write is met by reading again, a few times.
func (s *Service) Update(ctx context.Context, id string, in Input) (*Endpoint, error) {
	return s.change(ctx, id, func(ep *Endpoint) error { return in.apply(ep, false) })
}

// Rotate gives the endpoint a new secret and returns it; the old one goes
// on signing deliveries beside it for RotationOverlap.
func (s *Service) Rotate(ctx context.Context, id string) (*Endpoint, string, error) {
	secret, err := stdwebhooks.NewSecret(s.Rand)
	if err != nil {
		return nil, "", err
	}
	ep, err := s.change(ctx, id, func(ep *Endpoint) error {
		now := s.Now().UTC()
		until := now.Add(RotationOverlap)
		ep.PreviousSecret, ep.PreviousUntil, ep.Secret, ep.SecretRotatedAt = ep.Secret, &until, secret, &now
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return ep, secret, nil
}

// change reads the endpoint, applies edit and writes it if nothing else
// wrote it meanwhile, reading again when something did (ErrConflict after
// a few tries).
func (s *Service) change(ctx context.Context, id string, edit func(*Endpoint) error) (*Endpoint, error) {
	for try := 0; ; try++ {
		ep, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := edit(ep); err != nil {
			return nil, err
		}
		ep.UpdatedAt = s.Now().UTC()
		err = s.Store.UpdateWebhookEndpoint(ctx, *ep)
		if err == nil {
			ep.Version++
			return ep, nil
		}
		if !errors.Is(err, ErrConflict) || try == 3 {
			return nil, err
		}
	}
}

// Remove deletes an endpoint. Its deliveries stay listed nowhere and
// expire with their TTL; the pending ones fail at their next due time
// without an attempt.
func (s *Service) Remove(ctx context.Context, id string) error {
	if !ValidEndpointID(id) {
		return fmt.Errorf("outbound: endpoint %q: %w", id, ErrNotFound)
	}
	return s.Store.DeleteWebhookEndpoint(ctx, id)
}

// MaxPage bounds a page of deliveries.
const MaxPage = 100

// Deliveries lists the deliveries of an endpoint (ErrNotFound when the
// endpoint is unknown), newest first unless q says otherwise, with the
// cursor of the next page ("" on the last).
func (s *Service) Deliveries(ctx context.Context, endpointID string, q Query) ([]Delivery, string, error) {
	if _, err := s.Get(ctx, endpointID); err != nil {
		return nil, "", err
	}
	if q.Limit <= 0 || q.Limit > MaxPage {
		q.Limit = MaxPage
	}
	ds, next, err := s.Store.WebhookDeliveries(ctx, endpointID, q)
	if ds == nil && err == nil {
		ds = []Delivery{}
	}
	return ds, next, err
}

// Replay makes a new attempt of one delivery at once, with a new timestamp
// and signature, and returns the delivery after it. A delivery that had
// ended (succeeded or failed) ends again with the attempt's outcome; a
// pending one keeps its schedule if the attempt fails. ErrNotFound: no
// such endpoint or delivery; ErrDisabled: the endpoint is disabled;
// ErrBusy: an attempt is under way.
func (s *Service) Replay(ctx context.Context, endpointID, deliveryID string) (*Delivery, error) {
	ep, err := s.Get(ctx, endpointID)
	if err != nil {
		return nil, err
	}
	if !ep.Enabled {
		return nil, ErrDisabled
	}
	if !ValidDeliveryID(deliveryID) {
		return nil, fmt.Errorf("outbound: delivery %q: %w", deliveryID, ErrNotFound)
	}
	d, err := s.Store.WebhookDelivery(ctx, endpointID, deliveryID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if d.LeaseUntil != nil && d.LeaseUntil.After(now) {
		return nil, ErrBusy
	}
	asked := d.replayed(now).leased(now)
	if err := s.Store.SaveWebhookDelivery(ctx, asked); errors.Is(err, ErrConflict) {
		return nil, ErrBusy
	} else if err != nil {
		return nil, err
	}
	asked.Version++
	s.attempt(ctx, job{ep: *ep, d: asked, held: true, trigger: TriggerReplay})
	return s.Store.WebhookDelivery(ctx, endpointID, deliveryID)
}

// ReplayResult is what ReplayFailed did.
type ReplayResult struct {
	Replayed int    `json:"replayed"` // failed deliveries asked for a new attempt
	Attempts Result `json:"attempts"` // the attempts made at once (Queued: left to the next retry run)
	More     bool   `json:"more"`     // more failed deliveries are left: call again
}

// ReplayFailed replays the endpoint's failed deliveries of events since a
// time, oldest first, at most MaxPage per call: each is pending again at
// once, and as many attempts as the time left allows are made now; the
// others are made by the next retry run (within a minute).
func (s *Service) ReplayFailed(ctx context.Context, endpointID string, since time.Time) (ReplayResult, error) {
	ep, err := s.Get(ctx, endpointID)
	if err != nil {
		return ReplayResult{}, err
	}
	if !ep.Enabled {
		return ReplayResult{}, ErrDisabled
	}
	failed, next, err := s.Store.WebhookDeliveries(ctx, endpointID, Query{Status: StatusFailed, Since: since, Limit: MaxPage, Oldest: true})
	if err != nil {
		return ReplayResult{}, err
	}
	out := ReplayResult{More: next != ""}
	var jobs []job
	for _, d := range failed {
		asked := d.replayed(s.Now())
		if err := s.Store.SaveWebhookDelivery(ctx, asked); errors.Is(err, ErrConflict) {
			continue // changed meanwhile: no longer failed, or replayed already
		} else if err != nil {
			return out, err
		}
		asked.Version++
		out.Replayed++
		jobs = append(jobs, job{ep: *ep, d: asked})
	}
	out.Attempts = s.attemptAll(ctx, jobs)
	return out, nil
}
