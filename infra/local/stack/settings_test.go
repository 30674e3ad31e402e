package stack

import (
	"testing"

	"github.com/referflow/referflow/internal/crm/providers"
)

// The local stack provides every CRM provider's settings with the
// provider's local value; one without a local value is left unset unless
// the stack's environment gives it.
func TestSettingsCoverEveryProvider(t *testing.T) {
	known := map[string]Setting{}
	for _, s := range Settings {
		if _, dup := known[s.Name]; dup {
			t.Errorf("%s listed twice", s.Name)
		}
		known[s.Name] = s
	}
	env := map[string]string{"REFERFLOW_SALESFORCE_EMAIL_FIELD": "Referee_Email__c"}
	v := settingValues(func(k string) string { return env[k] })
	for _, p := range providers.All() {
		for _, ps := range p.Settings {
			s, ok := known[ps.Name]
			if !ok || s.Default != ps.Local || s.Doc != ps.Description {
				t.Errorf("%s: %s is %+v in the local stack", p.Name, ps.Name, s)
			}
			want := ps.Local
			if e := env[ps.Name]; e != "" {
				want = e
			}
			if v[ps.Name] != want {
				t.Errorf("%s = %q, want %q", ps.Name, v[ps.Name], want)
			}
		}
	}
	if v["REFERFLOW_SALESFORCE_PIPELINE_FIELD"] != "" {
		t.Errorf("a setting without a local value is set: %q", v["REFERFLOW_SALESFORCE_PIPELINE_FIELD"])
	}
}
