// Package outboundtest is an in-memory outbound.Store for tests of the
// outbound service and its callers (the admin API, the CLI): it keeps the
// table's semantics (versioned conditional writes, one delivery per id, the
// due index) without DynamoDB.
package outboundtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/outbound"
)

// Store is an in-memory outbound.Store. Tests may read and set its
// fields directly while no call is running.
type Store struct {
	mu         sync.Mutex
	Endpoints  map[string]outbound.Endpoint
	Deliveries map[string]outbound.Delivery // by Key(endpoint, id)
	// Writes counts the writes that succeeded or were refused on their
	// condition (a test of bad input checks none was made).
	Writes int
	// FailWrites, when set, fails every endpoint and delivery write.
	FailWrites error
}

var _ outbound.Store = (*Store)(nil)

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{Endpoints: map[string]outbound.Endpoint{}, Deliveries: map[string]outbound.Delivery{}}
}

// Key is the key of a delivery in Deliveries.
func Key(endpointID, id string) string { return endpointID + "/" + id }

func (m *Store) write() error {
	if m.FailWrites != nil {
		return m.FailWrites
	}
	m.Writes++
	return nil
}

func (m *Store) CreateWebhookEndpoint(_ context.Context, ep outbound.Endpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.write(); err != nil {
		return err
	}
	if _, ok := m.Endpoints[ep.ID]; ok {
		return outbound.ErrConflict
	}
	m.Endpoints[ep.ID] = ep
	return nil
}

func (m *Store) WebhookEndpoint(_ context.Context, id string) (*outbound.Endpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ep, ok := m.Endpoints[id]
	if !ok {
		return nil, fmt.Errorf("mem: %s: %w", id, outbound.ErrNotFound)
	}
	return &ep, nil
}

func (m *Store) WebhookEndpoints(context.Context) ([]outbound.Endpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []outbound.Endpoint
	for _, ep := range m.Endpoints {
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b outbound.Endpoint) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (m *Store) UpdateWebhookEndpoint(_ context.Context, ep outbound.Endpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.write(); err != nil {
		return err
	}
	old, ok := m.Endpoints[ep.ID]
	switch {
	case !ok:
		return outbound.ErrNotFound
	case old.Version != ep.Version:
		return outbound.ErrConflict
	}
	ep.Version++
	m.Endpoints[ep.ID] = ep
	return nil
}

func (m *Store) DeleteWebhookEndpoint(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.Endpoints[id]; !ok {
		return outbound.ErrNotFound
	}
	delete(m.Endpoints, id)
	return nil
}

func (m *Store) CountWebhookOutcome(_ context.Context, id string, succeeded bool, disableAfter int, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ep, ok := m.Endpoints[id]
	if !ok {
		return false, outbound.ErrNotFound
	}
	ep.Version++
	if succeeded {
		ep.ConsecutiveFailures = 0
		m.Endpoints[id] = ep
		return false, nil
	}
	ep.ConsecutiveFailures++
	disabled := disableAfter > 0 && ep.ConsecutiveFailures >= disableAfter && ep.Enabled
	if disabled {
		ep.Enabled, ep.DisabledReason = false, "failing"
	}
	m.Endpoints[id] = ep
	return disabled, nil
}

func (m *Store) CreateWebhookDelivery(_ context.Context, d outbound.Delivery) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.write(); err != nil {
		return false, err
	}
	k := Key(d.EndpointID, d.ID)
	if _, ok := m.Deliveries[k]; ok {
		return false, nil
	}
	m.Deliveries[k] = d
	return true, nil
}

func (m *Store) WebhookDelivery(_ context.Context, endpointID, id string) (*outbound.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.Deliveries[Key(endpointID, id)]
	if !ok {
		return nil, outbound.ErrNotFound
	}
	return &d, nil
}

func (m *Store) SaveWebhookDelivery(_ context.Context, d outbound.Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.write(); err != nil {
		return err
	}
	k := Key(d.EndpointID, d.ID)
	if old, ok := m.Deliveries[k]; !ok || old.Version != d.Version {
		return outbound.ErrConflict
	}
	d.Version++
	m.Deliveries[k] = d
	return nil
}

func (m *Store) WebhookDeliveries(_ context.Context, endpointID string, q outbound.Query) ([]outbound.Delivery, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []outbound.Delivery
	for _, d := range m.Deliveries {
		if d.EndpointID == endpointID && (q.Status == "" || d.Status == q.Status) && (q.Since.IsZero() || d.ID >= outbound.SinceKey(q.Since)) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b outbound.Delivery) int { return strings.Compare(a.ID, b.ID) })
	if !q.Oldest {
		slices.Reverse(out)
	}
	if q.Limit > 0 && len(out) > q.Limit {
		return out[:q.Limit], out[q.Limit-1].ID, nil
	}
	return out, "", nil
}

func (m *Store) DueWebhookDeliveries(_ context.Context, now time.Time, limit int) ([]outbound.Ref, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []outbound.Delivery
	for _, d := range m.Deliveries {
		if at := d.Due(); !at.IsZero() && !at.After(now) {
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b outbound.Delivery) int { return a.Due().Compare(b.Due()) })
	var out []outbound.Ref
	for _, d := range due[:min(limit, len(due))] {
		out = append(out, outbound.Ref{EndpointID: d.EndpointID, ID: d.ID})
	}
	return out, nil
}

// Only returns the only delivery of an endpoint (it panics when there is
// not exactly one).
func (m *Store) Only(endpointID string) outbound.Delivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	var found []outbound.Delivery
	for _, d := range m.Deliveries {
		if d.EndpointID == endpointID {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		panic(fmt.Sprintf("%d deliveries for %s", len(found), endpointID))
	}
	return found[0]
}
