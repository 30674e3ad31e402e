package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/generic"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/crm/pipedrive"
	"github.com/referflow/referflow/internal/crm/salesforce"
	"github.com/referflow/referflow/internal/settings"
)

// Settings reads secrets by their one name (internal/settings).
type Settings interface {
	Get(ctx context.Context, name string) (string, error)
	Values(ctx context.Context, name string) ([]string, error)
}

// Registry builds each provider's adapter from the current settings. A
// provider whose secrets are not configured answers 503 (not 401), so a
// misconfiguration is retried rather than dropped.
type Registry struct {
	Settings Settings
	Now      func() time.Time
}

// Adapter implements Adapters.
func (g *Registry) Adapter(ctx context.Context, provider string) (crm.Adapter, error) {
	switch provider {
	case hubspot.Name:
		secrets, err := g.Settings.Values(ctx, "REFERFLOW_HUBSPOT_CLIENT_SECRET")
		if err != nil {
			return nil, err
		}
		return hubspot.New(hubspot.Config{ClientSecrets: secrets}, g.Now)
	case salesforce.Name:
		tokens, err := g.Settings.Values(ctx, "REFERFLOW_SALESFORCE_TOKEN")
		if err != nil {
			return nil, err
		}
		orgs, err := g.Settings.Values(ctx, "REFERFLOW_SALESFORCE_ORG_IDS")
		if err != nil {
			return nil, err
		}
		return salesforce.New(salesforce.Config{Tokens: tokens, OrgIDs: orgs}, g.Now)
	case pipedrive.Name:
		users, err := g.Settings.Values(ctx, "REFERFLOW_PIPEDRIVE_USER")
		if err != nil {
			return nil, err
		}
		passwords, err := g.Settings.Values(ctx, "REFERFLOW_PIPEDRIVE_PASSWORD")
		if err != nil {
			return nil, err
		}
		// Pairs match by position (rotation: "old,new" in both); one user
		// may go with several passwords.
		var creds []pipedrive.Credential
		for i, p := range passwords {
			u := users[min(i, len(users)-1)]
			creds = append(creds, pipedrive.Credential{User: u, Password: p})
		}
		field, _ := g.Settings.Get(ctx, "REFERFLOW_PIPEDRIVE_REFERRAL_FIELD")
		return pipedrive.New(pipedrive.Config{Credentials: creds, ReferralField: field}, g.Now)
	case generic.Name:
		secrets, err := g.Settings.Values(ctx, "REFERFLOW_WEBHOOK_SECRET")
		if err != nil {
			return nil, err
		}
		return generic.New(generic.Config{Secrets: secrets}, g.Now)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownProvider, provider)
}

// HubSpotEnricher looks a deal up through HubSpot's CRM API when an event
// carries only its id. Each deal is looked up once per instance; links
// found are stored by ingestion, so later events need no look-up at all.
type HubSpotEnricher struct {
	Settings Settings
	BaseURL  string
	HTTP     *http.Client
	Log      *slog.Logger

	mu   sync.Mutex
	seen map[string]hubspotDeal
}

type hubspotDeal struct {
	deal hubspot.Deal
	at   time.Time
}

// Enrich implements crm.Enricher.
func (e *HubSpotEnricher) Enrich(ctx context.Context, ev *crm.Event) error {
	e.mu.Lock()
	if e.seen == nil {
		e.seen = map[string]hubspotDeal{}
	}
	cached, ok := e.seen[ev.RecordID]
	e.mu.Unlock()
	if ok && time.Since(cached.at) < time.Minute {
		hubspot.Fill(ev, cached.deal)
		return nil
	}
	token, err := e.Settings.Get(ctx, "REFERFLOW_HUBSPOT_ACCESS_TOKEN")
	if errors.Is(err, settings.ErrMissing) {
		// Without an access token there is nothing to look up: the event
		// stays untracked unless it carries its own hints.
		e.Log.Warn("REFERFLOW_HUBSPOT_ACCESS_TOKEN is not set: deals cannot be looked up", "deal", ev.RecordID)
		return nil
	}
	if err != nil {
		return err
	}
	client := hubspot.NewClient(hubspot.ClientConfig{BaseURL: e.BaseURL, AccessToken: token}, e.HTTP)
	deal, err := client.Deal(ctx, ev.RecordID)
	if err != nil {
		if hubspot.IsRetryable(err) {
			return err
		}
		// A deal that no longer exists or cannot be read is untracked.
		e.Log.Warn("HubSpot deal look-up failed; the event stays untracked", "deal", ev.RecordID, "error", err)
		return nil
	}
	e.mu.Lock()
	if len(e.seen) > 10000 {
		e.seen = map[string]hubspotDeal{}
	}
	e.seen[ev.RecordID] = hubspotDeal{deal: deal, at: time.Now()}
	e.mu.Unlock()
	hubspot.Fill(ev, deal)
	return nil
}
