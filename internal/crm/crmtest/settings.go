// Package crmtest holds test helpers for code that reads CRM provider
// settings.
package crmtest

import (
	"context"
	"fmt"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/settings"
)

// Settings serves settings from a map, as internal/settings.Source does: a
// name that is absent (or empty) is an error wrapping settings.ErrMissing,
// and Values splits on commas, dropping empty values. It implements
// crm.Settings.
type Settings map[string]string

// Get returns the value of name.
func (m Settings) Get(_ context.Context, name string) (string, error) {
	v := m[name]
	if v == "" {
		return "", fmt.Errorf("%s: %w", name, settings.ErrMissing)
	}
	return v, nil
}

// Values returns the comma-separated values of name, trimmed.
func (m Settings) Values(ctx context.Context, name string) ([]string, error) {
	v, err := m.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return settings.Split(v), nil
}

// Local returns the local stack's value of each of p's settings that has
// one (crm.Setting.Local).
func Local(p crm.Provider) Settings {
	out := Settings{}
	for _, s := range p.Settings {
		if s.Local != "" {
			out[s.Name] = s.Local
		}
	}
	return out
}

// With returns a copy of base with overrides applied; an override ""
// removes the setting.
func With(base Settings, overrides map[string]string) Settings {
	out := Settings{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range overrides {
		if v == "" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}
