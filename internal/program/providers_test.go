package program

import (
	"strings"
	"testing"
)

// The providers a stage match may name come from the caller (the CRM
// provider registry); without a list, any well-formed name loads.
func TestProvidersOption(t *testing.T) {
	doc := func(provider string) []byte {
		return []byte(strings.Replace(minimalYAML, "provider: hubspot", "provider: "+provider, 1))
	}
	registry := Providers("hubspot", "zoho")
	for _, c := range []struct {
		name     string
		provider string
		opts     []Option
		problem  string // "" when the program loads
	}{
		{"listed provider", "zoho", []Option{registry}, ""},
		{"listed provider, any case", "Zoho", []Option{registry}, ""},
		{"unlisted provider", "pipedrive", []Option{registry}, `milestones[0].stages[0].provider: unknown provider "pipedrive" (want hubspot, zoho)`},
		{"no list: a well-formed name", "close", nil, ""},
		{"no list: not a name", `"hub spot"`, nil, `milestones[0].stages[0].provider: "hub spot" is not a provider name`},
		{"no list: empty", `""`, nil, `milestones[0].stages[0].provider: "" is not a provider name`},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Load(doc(c.provider), c.opts...)
			if c.problem == "" {
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Validate(c.opts...); err != nil {
					t.Fatalf("loaded program does not validate again: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.problem) {
				t.Fatalf("err = %v, want %q", err, c.problem)
			}
		})
	}
}
