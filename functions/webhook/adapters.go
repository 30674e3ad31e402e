package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/referflow/referflow/internal/crm"
)

// Registry builds each provider's adapter from the current settings, for
// the providers it lists (internal/crm/providers.All in production). A
// provider whose secrets are not configured is an error, answered 503 (not
// 401), so a misconfiguration is retried rather than dropped.
type Registry struct {
	Providers []crm.Provider
	Settings  crm.Settings
	Now       func() time.Time
}

// Adapter implements Adapters: ErrUnknownProvider (wrapped) for a provider
// the registry does not list.
func (g *Registry) Adapter(ctx context.Context, provider string) (crm.Adapter, error) {
	for _, p := range g.Providers {
		if p.Name == provider {
			return p.NewAdapter(ctx, g.Settings, g.Now)
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownProvider, provider)
}

// Enrichers builds the enricher of every listed provider that has one, by
// provider name, for crm.Ingester.Enrichers.
func (g *Registry) Enrichers(log *slog.Logger) map[string]crm.Enricher {
	out := map[string]crm.Enricher{}
	for _, p := range g.Providers {
		if p.NewEnricher != nil {
			out[p.Name] = p.NewEnricher(g.Settings, g.Now, log)
		}
	}
	return out
}
