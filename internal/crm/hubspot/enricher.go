package hubspot

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/crm"
)

// LookupTimeout bounds one HubSpot API request made while enriching, so a
// slow API cannot hold a webhook delivery past the sender's timeout.
const LookupTimeout = 3 * time.Second

// Deals looked up are reused for cacheFor, at most maxCached at once.
const (
	cacheFor  = time.Minute
	maxCached = 10000
)

// Enricher implements crm.Enricher for HubSpot: an event that carries only a
// deal id (Webhooks API) is filled in from the deal through the CRM API
// (Enrich), with the access token, API URL and referral property read from
// the settings at each call, so a rotated token is picked up. Each deal is
// looked up at most once a minute per Enricher. It is safe for concurrent
// use.
type Enricher struct {
	settings crm.Settings
	now      func() time.Time
	log      *slog.Logger
	http     *http.Client

	mu      sync.Mutex
	seen    map[string]cachedDeal
	company companyCurrency
}

type cachedDeal struct {
	deal Deal
	at   time.Time
}

var _ crm.Enricher = (*Enricher)(nil)

// NewEnricher returns an Enricher reading its settings from s; now is the
// clock of its cache, log receives look-ups that leave an event untracked.
// Its signature is crm.Provider.NewEnricher's.
func NewEnricher(s crm.Settings, now func() time.Time, log *slog.Logger) crm.Enricher {
	e := &Enricher{settings: s, now: now, log: log, http: &http.Client{Timeout: LookupTimeout}, seen: map[string]cachedDeal{}}
	e.company.now = now
	return e
}

// Enrich fills in what ev lacks from its deal. It returns an error only
// when a retry may succeed (the settings store or HubSpot failed
// transiently, or ctx ended), so the delivery is redelivered. Without an
// access token, or when the deal cannot be read (deleted, no permission),
// the event is left as it is, to be counted as untracked unless it carries
// its own hints, and a warning is logged.
func (e *Enricher) Enrich(ctx context.Context, ev *crm.Event) error {
	if !needsLookup(ev) {
		return nil
	}
	r := crm.NewReader(ctx, e.settings)
	cfg := ClientConfig{
		AccessToken:      r.Optional(SettingAccessToken),
		BaseURL:          r.Optional(SettingAPIURL),
		ReferralProperty: r.Optional(SettingReferralProperty),
	}
	if err := r.Err(); err != nil {
		return err
	}
	if cfg.AccessToken == "" {
		e.log.Warn(SettingAccessToken+" is not set: deals cannot be looked up", "deal", ev.RecordID)
		return nil
	}
	client := NewClient(cfg, e.http)
	client.company = &e.company
	err := Enrich(ctx, &cache{e: e, client: client}, ev)
	if err == nil || IsRetryable(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	e.log.Warn("HubSpot deal look-up failed; the event stays untracked", "deal", ev.RecordID, "error", err)
	return nil
}

// cache serves deals looked up less than cacheFor ago, and remembers the
// ones it reads through client.
type cache struct {
	e      *Enricher
	client *Client
}

func (c *cache) Deal(ctx context.Context, id string) (Deal, error) {
	e := c.e
	e.mu.Lock()
	hit, ok := e.seen[id]
	e.mu.Unlock()
	if ok && e.now().Sub(hit.at) < cacheFor {
		return hit.deal, nil
	}
	d, err := c.client.Deal(ctx, id)
	if err != nil {
		return Deal{}, err
	}
	e.mu.Lock()
	if len(e.seen) >= maxCached {
		e.seen = map[string]cachedDeal{}
	}
	e.seen[id] = cachedDeal{deal: d, at: e.now()}
	e.mu.Unlock()
	return d, nil
}
