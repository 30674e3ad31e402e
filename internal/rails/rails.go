// Package rails builds the payout rails a deployment is configured for,
// from its settings: the composition roots of the functions that pay
// (rewards, payouts) and reconcile (admin) call New once at cold start.
// A rail whose credentials are not set is left out: a program naming it
// cannot pay through it (the pay step fails loudly, and the reward waits
// in sending or payable for the rail to be configured).
package rails

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/paypal"
	"github.com/referflow/referflow/internal/rewards/stripe"
	"github.com/referflow/referflow/internal/rewards/tremendous"
)

// Settings of the gift card rail besides its URL and key.
const (
	// SettingTremendousCampaign is the Tremendous campaign whose products
	// and design the gift cards use (or SettingTremendousProducts).
	SettingTremendousCampaign = "REFERFLOW_TREMENDOUS_CAMPAIGN_ID"
	// SettingTremendousProducts lists product ids, comma-separated, the
	// recipient chooses from when no campaign is set.
	SettingTremendousProducts = "REFERFLOW_TREMENDOUS_PRODUCTS"
	// SettingTremendousFunding is the funding source (default "balance").
	SettingTremendousFunding = "REFERFLOW_TREMENDOUS_FUNDING_SOURCE"
)

// Getter reads a setting by name (settings.Source.Get): an error wrapping
// missing when it is not configured.
type Getter func(ctx context.Context, name string) (string, error)

// Timeout bounds one call to a rail: a call that takes longer has an
// unknown outcome, resolved by looking the payment up.
const Timeout = 10 * time.Second

// New returns the rails whose credentials get answers, by name
// (rewards.RailStripe, ...), reading their payees from src, and why any
// rail with credentials was left out (a setting missing or wrong: the
// caller logs it). missing is the error get wraps for a setting that is
// not configured; any other error reading a setting stops New.
func New(ctx context.Context, get Getter, missing error, src payees.Source, now func() time.Time) (map[string]rewards.Rail, []string, error) {
	read := func(name string) (string, bool, error) {
		v, err := get(ctx, name)
		switch {
		case errors.Is(err, missing):
			return "", false, nil
		case err != nil:
			return "", false, fmt.Errorf("rails: read %s: %w", name, err)
		}
		return v, v != "", nil
	}
	hc := &http.Client{Timeout: Timeout}
	out, skipped := map[string]rewards.Rail{}, []string(nil)
	for _, build := range []func(func(string) (string, bool, error), payees.Source, *http.Client, func() time.Time) (string, rewards.Rail, error){
		buildStripe, buildPayPal, buildTremendous,
	} {
		name, r, err := build(read, src, hc, now)
		var bad *invalid
		switch {
		case errors.As(err, &bad):
			skipped = append(skipped, name+": "+bad.Error())
		case err != nil:
			return nil, nil, err
		case r != nil:
			out[name] = r
		}
	}
	return out, skipped, nil
}

// invalid is a rail's refusal of its configuration.
type invalid struct{ err error }

func (e *invalid) Error() string { return e.err.Error() }

// built wraps a rail constructor's error as invalid.
func built[R rewards.Rail](name string, r R, err error) (string, rewards.Rail, error) {
	if err != nil {
		return name, nil, &invalid{err}
	}
	return name, r, nil
}

type reader = func(string) (string, bool, error)

func buildStripe(read reader, src payees.Source, hc *http.Client, _ func() time.Time) (string, rewards.Rail, error) {
	key, ok, err := read(stripe.SettingAPIKey)
	if !ok || err != nil {
		return rewards.RailStripe, nil, err
	}
	url, _, err := read(stripe.SettingAPIURL)
	if err != nil {
		return "", nil, err
	}
	r, err := stripe.New(stripe.Config{APIURL: url, APIKey: key, HTTPClient: hc}, payees.ForStripe(src))
	return built(rewards.RailStripe, r, err)
}

func buildPayPal(read reader, src payees.Source, hc *http.Client, now func() time.Time) (string, rewards.Rail, error) {
	id, ok, err := read(paypal.SettingClientID)
	if !ok || err != nil {
		return rewards.RailPayPal, nil, err
	}
	secret, ok, err := read(paypal.SettingClientSecret)
	if err != nil {
		return rewards.RailPayPal, nil, err
	}
	if !ok {
		return rewards.RailPayPal, nil, &invalid{fmt.Errorf("%s is set but %s is not", paypal.SettingClientID, paypal.SettingClientSecret)}
	}
	url, _, err := read(paypal.SettingAPIURL)
	if err != nil {
		return "", nil, err
	}
	r, err := paypal.New(paypal.Config{BaseURL: url, ClientID: id, ClientSecret: secret}, payees.ForPayPal(src), hc, now)
	return built(rewards.RailPayPal, r, err)
}

func buildTremendous(read reader, src payees.Source, hc *http.Client, _ func() time.Time) (string, rewards.Rail, error) {
	key, ok, err := read(tremendous.SettingAPIKey)
	if !ok || err != nil {
		return rewards.RailTremendous, nil, err
	}
	cfg := tremendous.Config{APIKey: key}
	for name, dst := range map[string]*string{tremendous.SettingAPIURL: &cfg.BaseURL, SettingTremendousCampaign: &cfg.CampaignID,
		SettingTremendousFunding: &cfg.FundingSource} {
		if *dst, _, err = read(name); err != nil {
			return "", nil, err
		}
	}
	products, _, err := read(SettingTremendousProducts)
	if err != nil {
		return "", nil, err
	}
	for _, p := range strings.Split(products, ",") {
		if p = strings.TrimSpace(p); p != "" {
			cfg.Products = append(cfg.Products, p)
		}
	}
	r, err := tremendous.New(cfg, payees.ForTremendous(src), hc)
	return built(rewards.RailTremendous, r, err)
}

// Loader builds the rails on first use and keeps them, so a function's
// cold start reads no settings and a failed read (SSM unreachable for a
// moment) is retried on the next use instead of stopping the function.
// It is safe for concurrent use.
type Loader struct {
	// Build builds the rails (a closure over New and its arguments).
	Build func(ctx context.Context) (map[string]rewards.Rail, []string, error)
	// Skipped is told, once, which rails with credentials were left out
	// and why (the function logs it); nil ignores it.
	Skipped func(why []string)

	mu    sync.Mutex
	rails map[string]rewards.Rail
}

// Rails returns the rails, building them the first time.
func (l *Loader) Rails(ctx context.Context) (map[string]rewards.Rail, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rails != nil {
		return l.rails, nil
	}
	rs, skipped, err := l.Build(ctx)
	if err != nil {
		return nil, err
	}
	if l.Skipped != nil && len(skipped) > 0 {
		l.Skipped(skipped)
	}
	l.rails = rs
	return rs, nil
}

// NewLoader is the Loader of the rails New builds from get (missing:
// get's error for a setting not configured), telling skipped why rails
// with credentials were left out.
func NewLoader(get Getter, missing error, src payees.Source, now func() time.Time, skipped func(why []string)) *Loader {
	return &Loader{
		Build: func(ctx context.Context) (map[string]rewards.Rail, []string, error) {
			return New(ctx, get, missing, src, now)
		},
		Skipped: skipped,
	}
}
