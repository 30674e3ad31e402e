// Package settings reads Referflow's settings and secrets by their one name
// (docs/api.md "Settings and secrets"): from the environment when set there,
// otherwise from SSM Parameter Store under the deployment's prefix
// (`/referflow/<stack>/<NAME>`, SecureString), cached for a short time so a
// rotated secret is picked up without a redeploy.
package settings

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// SSM is the part of the SSM API settings uses.
type SSM interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// ErrMissing: the setting is neither in the environment nor in SSM.
var ErrMissing = errors.New("settings: not configured")

// Source reads settings.
type Source struct {
	ssm    SSM
	prefix string
	ttl    time.Duration
	now    func() time.Time
	env    func(string) string

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	value   string
	missing bool // SSM has no such parameter
	at      time.Time
}

// New returns a Source reading SSM parameters named prefix+NAME (prefix
// from REFERFLOW_SETTINGS_PREFIX in the template); client may be nil when
// only the environment is used.
func New(client SSM, prefix string, now func() time.Time) *Source {
	return &Source{ssm: client, prefix: prefix, ttl: 5 * time.Minute, now: now, env: os.Getenv, cache: map[string]cached{}}
}

// Get returns setting name. Values of several secrets for rotation are
// separated by commas (see Values). A value read from SSM, and the absence
// of one, is reused for 5 minutes: a new or rotated value is picked up
// within that time, without a redeploy.
func (s *Source) Get(ctx context.Context, name string) (string, error) {
	if v := s.env(name); v != "" {
		return v, nil
	}
	s.mu.Lock()
	c, ok := s.cache[name]
	s.mu.Unlock()
	if ok && s.now().Sub(c.at) < s.ttl {
		if c.missing {
			return "", fmt.Errorf("%s (SSM %s%s): %w", name, s.prefix, name, ErrMissing)
		}
		return c.value, nil
	}
	if s.ssm == nil || s.prefix == "" {
		return "", fmt.Errorf("%s: %w", name, ErrMissing)
	}
	out, err := s.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.prefix + name), WithDecryption: aws.Bool(true)})
	var nf *ssmtypes.ParameterNotFound
	if errors.As(err, &nf) {
		// Optional settings are usually absent: remember that too, so
		// each request does not ask SSM again.
		s.mu.Lock()
		s.cache[name] = cached{missing: true, at: s.now()}
		s.mu.Unlock()
		return "", fmt.Errorf("%s (SSM %s%s): %w", name, s.prefix, name, ErrMissing)
	}
	if err != nil {
		return "", fmt.Errorf("settings: read %s: %w", name, err)
	}
	v := aws.ToString(out.Parameter.Value)
	s.mu.Lock()
	s.cache[name] = cached{value: v, at: s.now()}
	s.mu.Unlock()
	return v, nil
}

// Values returns a comma-separated setting as its values (a secret and its
// successor during rotation).
func (s *Source) Values(ctx context.Context, name string) ([]string, error) {
	v, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return Split(v), nil
}

// Split reads a comma-separated setting as its values, trimmed, empty ones
// left out: how every reader of a setting with several values (a secret and
// its successor during a rotation) sees it.
func Split(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
