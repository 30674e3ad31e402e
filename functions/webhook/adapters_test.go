package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sort"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/crm/providers"
	"github.com/referflow/referflow/internal/settings"
)

// A provider added to the list is served with nothing else to change: its
// adapter is built from the settings it names, and its enricher is used.
func TestRegistryServesEveryListedProvider(t *testing.T) {
	built := 0
	zoho := crm.Provider{
		Name: "zoho",
		NewAdapter: func(ctx context.Context, s crm.Settings, now func() time.Time) (crm.Adapter, error) {
			if _, err := s.Values(ctx, "REFERFLOW_ZOHO_TOKEN"); err != nil {
				return nil, err
			}
			built++
			return &fakeAdapter{}, nil
		},
		NewEnricher: func(crm.Settings, func() time.Time, *slog.Logger) crm.Enricher { return noEnricher{} },
	}
	reg := &Registry{Providers: append(providers.All(), zoho), Settings: fakeSettings{"REFERFLOW_ZOHO_TOKEN": "t"}, Now: time.Now}
	if a, err := reg.Adapter(context.Background(), "zoho"); err != nil || a == nil || built != 1 {
		t.Fatalf("zoho adapter %v, %v (built %d)", a, err, built)
	}
	if _, err := reg.Adapter(context.Background(), "hubspot"); !errors.Is(err, settings.ErrMissing) {
		t.Fatalf("unconfigured hubspot: %v, want settings.ErrMissing", err)
	}
	if _, err := reg.Adapter(context.Background(), "close"); !errors.Is(err, ErrUnknownProvider) {
		t.Fatalf("unlisted provider: %v", err)
	}
	enrichers := reg.Enrichers(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var names []string
	for n := range enrichers {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) != 2 || names[0] != hubspot.Name || names[1] != "zoho" {
		t.Fatalf("enrichers for %v, want hubspot and zoho", names)
	}
}

type noEnricher struct{}

func (noEnricher) Enrich(context.Context, *crm.Event) error { return nil }
