package stack

import (
	"github.com/referflow/referflow/infra/local/fakes"
	"github.com/referflow/referflow/internal/billing"
	"github.com/referflow/referflow/internal/crm/providers"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/privacy"
)

// Setting is a setting the functions read by name (internal/settings): from
// SSM Parameter Store as <REFERFLOW_SETTINGS_PREFIX><Name> (a
// SecureString). At start the local stack stores each one in moto, taking
// the value from the stack's own environment variable of the same name, or
// Default; a setting with neither is left unset.
type Setting struct {
	Name    string
	Default string
	Doc     string
}

// Settings are the settings the local stack provides, with local defaults:
// every CRM provider's (internal/crm/providers, crm.Setting.Local), the
// payout rails' credentials (fakes.Rails: the values their fakes accept),
// then the local stack's own. None of the defaults is a real credential.
var Settings = append(append(providerSettings(), railSettings()...),
	Setting{"REFERFLOW_ADMIN_TOKEN", "local-admin-token", "Bearer token that stands in for SigV4 on AWS_IAM routes locally."},
	Setting{privacy.SecretSetting, LocalKeyHashSecret, "Secret(s) of the keyed hashes in dedupe and email lookup keys (comma-separated, newest first)."},
	Setting{notify.LinkSecretSetting, LocalLinkSecret, "Secret(s) signing the preference links of emails (comma-separated, newest first)."},
	Setting{billing.SettingSecret, LocalStripeWebhookSecret, "Signing secret(s) of the Stripe Billing webhook endpoint, POST /webhooks/stripe (comma-separated during a rotation)."},
)

// LocalStripeWebhookSecret is the local stack's Stripe webhook signing
// secret (not a real one): tests and the demo sign Stripe events with it.
const LocalStripeWebhookSecret = "whsec_local_referflow_not_a_real_secret"

// LocalKeyHashSecret is the local stack's key-hash secret (not a real
// one): tests that read the table's keys hash with it.
const LocalKeyHashSecret = "local-key-hash-secret-not-for-production"

// LocalLinkSecret is the local stack's link secret (not a real one): tests
// that check preference links verify them with it.
const LocalLinkSecret = "local-link-secret-not-for-production"

// providerSettings lists every provider's settings, in registry order.
func providerSettings() []Setting {
	var out []Setting
	for _, p := range providers.All() {
		for _, s := range p.Settings {
			out = append(out, Setting{Name: s.Name, Default: s.Local, Doc: s.Description})
		}
	}
	return out
}

// railSettings lists every payout rail's credential settings with the
// local values its fake accepts, in fakes.Rails order.
func railSettings() []Setting {
	var out []Setting
	for _, r := range fakes.Rails {
		for _, c := range r.Credentials {
			out = append(out, Setting{Name: c.Name, Default: c.Local, Doc: c.Doc})
		}
	}
	return out
}

// EnvOverridePrefix: a stack environment variable REFERFLOW_LOCAL_ENV_<NAME>
// replaces the value of <NAME> in every function whose template Environment
// names <NAME> (e.g. to point a CRM API URL at a fake).
const EnvOverridePrefix = "REFERFLOW_LOCAL_ENV_"

// ScheduleSecondsEnv overrides the rate of every rate(...) Schedule event
// (seconds); cron(...) schedules keep their times.
const ScheduleSecondsEnv = "REFERFLOW_LOCAL_SCHEDULE_SECONDS"

// settingValues returns every setting's value from getenv or its default
// ("" when it has neither: putSettings leaves it unset).
func settingValues(getenv func(string) string) map[string]string {
	out := make(map[string]string, len(Settings))
	for _, s := range Settings {
		v := getenv(s.Name)
		if v == "" {
			v = s.Default
		}
		out[s.Name] = v
	}
	return out
}
