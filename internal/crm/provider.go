package crm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/settings"
)

// Provider describes one CRM provider: everything the webhook function, the
// local stack, program validation and the signer CLI need to know about it.
// Each provider package exports exactly one (e.g. hubspot.Provider); the
// list of all of them is internal/crm/providers.All.
type Provider struct {
	// Name is the path segment of POST /webhooks/{provider} and the
	// provider a program's stage match names: lower-case, unique.
	Name string
	// Title is the provider's name for people, e.g. "HubSpot".
	Title string
	// Settings are the settings and secrets the provider reads by name,
	// in the order its guide (docs/crm/<Name>.md) lists them.
	Settings []Setting
	// NewAdapter builds the adapter from the current settings; now is the
	// clock for timestamp checks. A required setting that is not configured
	// is an error wrapping settings.ErrMissing (the webhook answers 503, so
	// the sender retries until the deployment is configured).
	NewAdapter func(ctx context.Context, s Settings, now func() time.Time) (Adapter, error)
	// NewEnricher, when not nil, builds the Enricher that fills in what the
	// provider's events lack from its API. It reads its settings at each
	// call, so it is built once per function instance.
	NewEnricher func(s Settings, now func() time.Time, log *slog.Logger) Enricher
	// Sign adds to r the signature or credentials the provider's sender
	// would, reading the sender's secrets from s by the names in Settings,
	// so that NewAdapter's adapter accepts r (infra/cmd/webhook and tests).
	Sign func(ctx context.Context, r *Request, s Settings, o SignOptions) error
	// Configs are zero values of the configuration types NewAdapter and
	// NewEnricher fill (e.g. hubspot.Config{}): every exported field of
	// each is set by a setting whose Fields name it ("Config.RequireV3"),
	// so every documented option can be set in a deployment.
	Configs []any
}

// Setting is one setting or secret a provider reads by name: an environment
// variable (the template's or the local stack's), else the SSM parameter
// /referflow/<stack>/<Name> (internal/settings).
type Setting struct {
	// Name is the variable and parameter name, e.g.
	// REFERFLOW_HUBSPOT_CLIENT_SECRET.
	Name string
	// Description says what it holds, in one sentence, for the docs and
	// the local stack.
	Description string
	// Secret settings are stored as SecureString and never logged.
	Secret bool
	// Required settings must be configured for the adapter to be built.
	Required bool
	// Local is the local stack's value; "" leaves it unset locally. None
	// is a real credential.
	Local string
	// Fields are the configuration fields it sets, as "Type.Field" of one
	// of the provider's Configs.
	Fields []string
	// Flag is the infra/cmd/webhook flag that may give the value instead
	// of the environment ("secret", "user", "password"), "" for none.
	Flag string
}

// Settings reads a deployment's settings by name (internal/settings.Source
// implements it). A setting that is not configured is an error wrapping
// settings.ErrMissing.
type Settings interface {
	// Get returns the setting's value.
	Get(ctx context.Context, name string) (string, error)
	// Values returns a comma-separated setting as its non-empty values
	// (several secrets during a rotation, newest first).
	Values(ctx context.Context, name string) ([]string, error)
}

// SignOptions are what the sender of a test delivery chooses.
type SignOptions struct {
	// Version is the signature scheme version ("" = the provider's newest);
	// a provider with one scheme refuses any other value.
	Version string
	// ID is the delivery id for providers whose sender sets one ("" = a
	// new random id, so the delivery is never a duplicate).
	ID string
	// Now is the time the delivery is signed at.
	Now time.Time
}

// Reader reads one provider's settings for its constructor. It keeps the
// first failure, so a constructor reads every setting and checks Err once.
// Every error names the setting.
type Reader struct {
	ctx context.Context
	s   Settings
	err error
}

// NewReader returns a Reader over s.
func NewReader(ctx context.Context, s Settings) *Reader {
	return &Reader{ctx: ctx, s: s}
}

// Err returns the first failure: a required setting that is not configured
// (wrapping settings.ErrMissing), a value that cannot be read, or a failure
// of the settings store.
func (r *Reader) Err() error { return r.err }

func (r *Reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Values returns a required comma-separated setting's values.
func (r *Reader) Values(name string) []string {
	v, err := r.s.Values(r.ctx, name)
	if err != nil {
		r.fail(fmt.Errorf("crm: setting %s: %w", name, err))
	}
	return v
}

// Optional returns an optional setting's value, trimmed; "" when it is not
// configured.
func (r *Reader) Optional(name string) string {
	v, err := r.s.Get(r.ctx, name)
	switch {
	case errors.Is(err, settings.ErrMissing):
		return ""
	case err != nil:
		r.fail(fmt.Errorf("crm: setting %s: %w", name, err))
		return ""
	}
	return strings.TrimSpace(v)
}

// Bool returns an optional true/false setting (strconv.ParseBool); false
// when it is not configured.
func (r *Reader) Bool(name string) bool {
	v := r.Optional(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(fmt.Errorf("crm: setting %s: %q is not true or false", name, v))
	}
	return b
}

// Duration returns an optional Go duration setting ("5m", "90s"); 0 when it
// is not configured. A negative or unreadable duration is an error.
func (r *Reader) Duration(name string) time.Duration {
	v := r.Optional(name)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		r.fail(fmt.Errorf("crm: setting %s: %q is not a positive Go duration such as 5m", name, v))
		return 0
	}
	return d
}

// Newest returns the first (newest) value of a comma-separated secret, the
// one a sender signs with. A secret that is not configured, or empty, is an
// error wrapping settings.ErrMissing.
func Newest(ctx context.Context, s Settings, name string) (string, error) {
	v, err := s.Values(ctx, name)
	if err == nil && len(v) == 0 {
		err = settings.ErrMissing
	}
	if err != nil {
		return "", fmt.Errorf("crm: setting %s: %w", name, err)
	}
	return v[0], nil
}
