package stack

// Setting is a secret the functions read from SSM Parameter Store as
// <REFERFLOW_SETTINGS_PREFIX><Name> (a SecureString). At start the local
// stack stores each one in moto, taking the value from the stack's own
// environment variable of the same name, or Default.
type Setting struct {
	Name    string
	Default string
	Doc     string
}

// Settings are the settings the local stack provides, with local defaults.
// None of the defaults is a real credential.
var Settings = []Setting{
	{"REFERFLOW_HUBSPOT_CLIENT_SECRET", "local-hubspot-client-secret", "HubSpot app client secret (webhook signature v3)."},
	// whsec_ + base64 of the 24 bytes "referflow-local-webhook!".
	{"REFERFLOW_WEBHOOK_SECRET", "whsec_cmVmZXJmbG93LWxvY2FsLXdlYmhvb2sh", "Standard Webhooks signing secret."},
	{"REFERFLOW_PIPEDRIVE_USER", "pipedrive", "Pipedrive webhook basic-auth user."},
	{"REFERFLOW_PIPEDRIVE_PASSWORD", "local-pipedrive-password", "Pipedrive webhook basic-auth password."},
	{"REFERFLOW_PIPEDRIVE_REFERRAL_FIELD", "referral_id", "Key of the Pipedrive deal custom field holding the referral id."},
	{"REFERFLOW_SALESFORCE_ORG_IDS", "00D000000000001AAA", "Comma-separated Salesforce org ids accepted on outbound messages."},
	{"REFERFLOW_SALESFORCE_TOKEN", "local-salesforce-token", "Shared token Salesforce sends with outbound messages."},
	{"REFERFLOW_HUBSPOT_ACCESS_TOKEN", "local-hubspot-access-token", "HubSpot private app access token (CRM API calls)."},
	{"REFERFLOW_ADMIN_TOKEN", "local-admin-token", "Bearer token that stands in for SigV4 on AWS_IAM routes locally."},
}

// EnvOverridePrefix: a stack environment variable REFERFLOW_LOCAL_ENV_<NAME>
// replaces the value of <NAME> in every function whose template Environment
// names <NAME> (e.g. to point a CRM API URL at a fake).
const EnvOverridePrefix = "REFERFLOW_LOCAL_ENV_"

// ScheduleSecondsEnv overrides the rate of every Schedule event (seconds).
const ScheduleSecondsEnv = "REFERFLOW_LOCAL_SCHEDULE_SECONDS"

// settingValues returns every setting's value from getenv or its default.
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
