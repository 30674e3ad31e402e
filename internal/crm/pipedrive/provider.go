package pipedrive

import (
	"context"
	"fmt"
	"time"

	"github.com/referflow/referflow/internal/crm"
)

// Settings Pipedrive reads by name (docs/crm/pipedrive.md).
const (
	SettingUser          = "REFERFLOW_PIPEDRIVE_USER"
	SettingPassword      = "REFERFLOW_PIPEDRIVE_PASSWORD"
	SettingReferralField = "REFERFLOW_PIPEDRIVE_REFERRAL_FIELD"
	SettingEmailField    = "REFERFLOW_PIPEDRIVE_EMAIL_FIELD"
)

// Provider describes Pipedrive to the provider registry: its settings, the
// adapter built from them, and a signer for test deliveries (HTTP Basic
// credentials, as Pipedrive sends them).
var Provider = crm.Provider{
	Name:  Name,
	Title: "Pipedrive",
	Settings: []crm.Setting{
		{Name: SettingUser, Description: "User name of the webhook's HTTP Basic credentials; \"new,old\" during a rotation (pairs match by position).",
			Secret: true, Required: true, Local: "pipedrive", Fields: []string{"Config.Credentials"}, Flag: "user"},
		{Name: SettingPassword, Description: "Password of the webhook's HTTP Basic credentials; \"new,old\" during a rotation.",
			Secret: true, Required: true, Local: "local-pipedrive-password", Fields: []string{"Config.Credentials"}, Flag: "password"},
		{Name: SettingReferralField, Description: "40-character key of the deal custom field holding the referral id; unset reads none.",
			Local: "referral_id", Fields: []string{"Config.ReferralField"}},
		{Name: SettingEmailField, Description: "40-character key of a deal custom field holding the referee's email; unset reads none.",
			Fields: []string{"Config.EmailField"}},
	},
	NewAdapter: fromSettings,
	Sign:       signDelivery,
	Configs:    []any{Config{}},
}

func fromSettings(ctx context.Context, s crm.Settings, now func() time.Time) (crm.Adapter, error) {
	r := crm.NewReader(ctx, s)
	users, passwords := r.Values(SettingUser), r.Values(SettingPassword)
	cfg := Config{
		Credentials:   Pairs(users, passwords),
		ReferralField: r.Optional(SettingReferralField),
		EmailField:    r.Optional(SettingEmailField),
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	a, err := New(cfg, now)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Pairs matches users and passwords by position (rotation: "new,old" in
// both); the last user goes with any further passwords, and no user at all
// means an empty user name.
func Pairs(users, passwords []string) []Credential {
	creds := make([]Credential, 0, len(passwords))
	for i, p := range passwords {
		u := ""
		if len(users) > 0 {
			u = users[min(i, len(users)-1)]
		}
		creds = append(creds, Credential{User: u, Password: p})
	}
	return creds
}

// signDelivery adds the newest credentials as an Authorization: Basic header.
func signDelivery(ctx context.Context, r *crm.Request, s crm.Settings, o crm.SignOptions) error {
	if o.Version != "" {
		return fmt.Errorf("pipedrive: HTTP Basic credentials have no signature version (got %q)", o.Version)
	}
	pass, err := crm.Newest(ctx, s, SettingPassword)
	if err != nil {
		return err
	}
	user, err := crm.Newest(ctx, s, SettingUser)
	if err != nil {
		return err
	}
	r.Headers.Set("Authorization", BasicAuth(user, pass))
	return nil
}
