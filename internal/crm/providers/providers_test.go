package providers_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/crmtest"
	"github.com/referflow/referflow/internal/crm/generic"
	"github.com/referflow/referflow/internal/crm/providers"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/settings"
)

func TestListIsWellFormed(t *testing.T) {
	if got, want := providers.Names(), []string{"hubspot", "salesforce", "pipedrive", "generic"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Names = %v, want %v", got, want)
	}
	names, settingNames := map[string]bool{}, map[string]string{}
	for _, p := range providers.All() {
		if !regexp.MustCompile(`^[a-z][a-z0-9_-]*$`).MatchString(p.Name) || names[p.Name] {
			t.Errorf("provider name %q is not a unique lower-case path segment", p.Name)
		}
		names[p.Name] = true
		if p.Title == "" || p.NewAdapter == nil || p.Sign == nil || len(p.Configs) == 0 {
			t.Errorf("%s: incomplete descriptor %+v", p.Name, p)
		}
		if got, ok := providers.Find(p.Name); !ok || got.Name != p.Name {
			t.Errorf("Find(%q) = %v, %v", p.Name, got.Name, ok)
		}
		for _, s := range p.Settings {
			if !strings.HasPrefix(s.Name, "REFERFLOW_") || s.Description == "" || len(s.Fields) == 0 {
				t.Errorf("%s: setting %+v lacks a REFERFLOW_ name, a description or the fields it sets", p.Name, s)
			}
			if other, dup := settingNames[s.Name]; dup {
				t.Errorf("%s is a setting of both %s and %s", s.Name, other, p.Name)
			}
			settingNames[s.Name] = p.Name
		}
	}
	if _, ok := providers.Find("zoho"); ok {
		t.Error("Find of an unknown provider")
	}
	if generic.Name != program.ProviderGeneric {
		t.Errorf("program matches generic stages as %q, the provider is %q", program.ProviderGeneric, generic.Name)
	}
}

// Every exported field of every adapter configuration can be set in a
// deployment: some setting names it.
func TestEveryConfigFieldIsASetting(t *testing.T) {
	for _, p := range providers.All() {
		set := map[string]bool{}
		for _, s := range p.Settings {
			for _, f := range s.Fields {
				set[f] = true
			}
		}
		known := map[string]bool{}
		for _, c := range p.Configs {
			typ := reflect.TypeOf(c)
			for i := range typ.NumField() {
				if f := typ.Field(i); f.IsExported() {
					name := typ.Name() + "." + f.Name
					known[name] = true
					if !set[name] {
						t.Errorf("%s: %s cannot be set: no setting names it", p.Name, name)
					}
				}
			}
		}
		for f := range set {
			if !known[f] {
				t.Errorf("%s: a setting names %s, which is not a field of %T", p.Name, f, p.Configs)
			}
		}
	}
}

// The adapter is built from the required settings alone, and not without
// any one of them; the error names the setting and is settings.ErrMissing
// (the webhook answers 503).
func TestRequiredSettingsAreRequired(t *testing.T) {
	ctx := context.Background()
	for _, p := range providers.All() {
		required := crmtest.Settings{}
		for _, s := range p.Settings {
			if s.Required {
				if s.Local == "" {
					t.Errorf("%s: required %s has no local value", p.Name, s.Name)
				}
				required[s.Name] = s.Local
			}
		}
		if a, err := p.NewAdapter(ctx, required, time.Now); err != nil || a == nil {
			t.Errorf("%s from its required settings: %v, %v", p.Name, a, err)
		}
		if _, err := p.NewAdapter(ctx, crmtest.Local(p), time.Now); err != nil {
			t.Errorf("%s from its local settings: %v", p.Name, err)
		}
		for name := range required {
			a, err := p.NewAdapter(ctx, crmtest.With(required, map[string]string{name: ""}), time.Now)
			if !errors.Is(err, settings.ErrMissing) || !strings.Contains(err.Error(), name) || a != nil {
				t.Errorf("%s without %s: %v, %v", p.Name, name, a, err)
			}
		}
	}
}

// Programs may name exactly the listed providers.
func TestProgramsNameListedProviders(t *testing.T) {
	doc := func(provider string) []byte {
		return []byte(`
schema: 1
id: demo
milestones:
  - name: won
    deadline: 30d
    stages: [{provider: ` + provider + `, stage: won}]
    rewards: [{party: referrer, kind: cash, amount: 100}]
`)
	}
	opt := program.Providers(providers.Names()...)
	for _, name := range providers.Names() {
		if _, err := program.Load(doc(name), opt); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err := program.Load(doc("hubspt"), opt)
	if err == nil || !strings.Contains(err.Error(), `unknown provider "hubspt" (want hubspot, salesforce, pipedrive, generic)`) {
		t.Errorf("misspelt provider: %v", err)
	}
}

// Each provider's guide lists its settings, and so does the README's
// "Settings and secrets" table.
func TestDocsListEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range providers.All() {
		guide, err := os.ReadFile("../../../docs/crm/" + p.Name + ".md")
		if err != nil {
			t.Errorf("%s has no guide: %v", p.Name, err)
			continue
		}
		for _, s := range p.Settings {
			if !strings.Contains(string(guide), s.Name) {
				t.Errorf("docs/crm/%s.md does not mention %s", p.Name, s.Name)
			}
			if !strings.Contains(string(readme), "`"+s.Name+"`") {
				t.Errorf("README.md does not list %s", s.Name)
			}
		}
	}
}

var _ crm.Settings = crmtest.Settings{}
