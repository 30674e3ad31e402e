package e2e

import (
	"github.com/referflow/referflow/infra/local/stack"
	"github.com/referflow/referflow/internal/crm/generic"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/crm/pipedrive"
	"github.com/referflow/referflow/internal/crm/salesforce"
	"github.com/referflow/referflow/internal/privacy"
)

// The stack's settings the tests sign and authenticate with (the local
// defaults, infra/local/stack/settings.go), given to every stack explicitly
// by stackVars.
const (
	hubspotSecret     = "local-hubspot-client-secret"
	hubspotToken      = "local-hubspot-access-token"
	webhookSecret     = "whsec_cmVmZXJmbG93LWxvY2FsLXdlYmhvb2sh"
	pipedriveUser     = "pipedrive"
	pipedrivePassword = "local-pipedrive-password"
	salesforceToken   = "local-salesforce-token"
	salesforceOrg     = "00D000000000001AAA"
	adminToken        = "local-admin-token"
	demoCode          = "DEMO"
	defaultProgram    = "b2b-partners"
)

// stackVars is a test stack's environment: every setting the tests rely on,
// set explicitly (a value the caller exported for `make run` never reaches
// the stack: localtest drops inherited REFERFLOW_* variables), then extra.
func stackVars(extra map[string]string) map[string]string {
	vars := map[string]string{
		hubspot.SettingClientSecret:    hubspotSecret,
		hubspot.SettingAccessToken:     hubspotToken,
		generic.SettingSecret:          webhookSecret,
		pipedrive.SettingUser:          pipedriveUser,
		pipedrive.SettingPassword:      pipedrivePassword,
		pipedrive.SettingReferralField: "referral_id",
		salesforce.SettingToken:        salesforceToken,
		salesforce.SettingOrgIDs:       salesforceOrg,
		"REFERFLOW_ADMIN_TOKEN":        adminToken,
		"REFERFLOW_DEMO_REFERRER_CODE": demoCode,
		privacy.SecretSetting:          stack.LocalKeyHashSecret,
	}
	for k, v := range extra {
		vars[k] = v
	}
	return vars
}
