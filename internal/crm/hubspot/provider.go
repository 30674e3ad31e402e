package hubspot

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/referflow/referflow/internal/crm"
)

// Settings HubSpot reads by name (docs/crm/hubspot.md).
const (
	SettingClientSecret     = "REFERFLOW_HUBSPOT_CLIENT_SECRET"
	SettingRequireV3        = "REFERFLOW_HUBSPOT_REQUIRE_V3"
	SettingReferralProperty = "REFERFLOW_HUBSPOT_REFERRAL_PROPERTY"
	SettingEmailProperty    = "REFERFLOW_HUBSPOT_EMAIL_PROPERTY"
	SettingAccessToken      = "REFERFLOW_HUBSPOT_ACCESS_TOKEN"
	SettingAPIURL           = "REFERFLOW_HUBSPOT_API_URL"
)

// Provider describes HubSpot to the provider registry: its settings, the
// adapter built from them, the Enricher that looks deals up through the CRM
// API, and a signer for test deliveries (v3 unless SignOptions.Version says
// v2 or v1).
var Provider = crm.Provider{
	Name:  Name,
	Title: "HubSpot",
	Settings: []crm.Setting{
		{Name: SettingClientSecret, Description: "Client secret of the HubSpot app that signs the webhooks (v1, v2, v3); \"new,old\" during a rotation.",
			Secret: true, Required: true, Local: "local-hubspot-client-secret", Fields: []string{"Config.ClientSecrets"}, Flag: "secret"},
		{Name: SettingRequireV3, Description: "true rejects deliveries signed only with v1/v2 (no timestamp, replayable); default false.",
			Fields: []string{"Config.RequireV3"}},
		{Name: SettingReferralProperty, Description: "Deal property holding the referral id, in webhooks and API look-ups; default referral_id.",
			Fields: []string{"Config.ReferralProperty", "ClientConfig.ReferralProperty"}},
		{Name: SettingEmailProperty, Description: "Key of the contact's email in a workflow webhook body; default email.",
			Fields: []string{"Config.EmailProperty"}},
		{Name: SettingAccessToken, Description: "Private app access token (crm.objects.deals.read, crm.objects.contacts.read) to look up deals that arrive with only an id.",
			Secret: true, Local: "local-hubspot-access-token", Fields: []string{"ClientConfig.AccessToken"}},
		{Name: SettingAPIURL, Description: "HubSpot API base URL; template.yaml sets https://api.hubapi.com in the webhook function's environment.",
			Fields: []string{"ClientConfig.BaseURL"}},
	},
	NewAdapter:  fromSettings,
	NewEnricher: NewEnricher,
	Sign:        signDelivery,
	Configs:     []any{Config{}, ClientConfig{}},
}

func fromSettings(ctx context.Context, s crm.Settings, now func() time.Time) (crm.Adapter, error) {
	r := crm.NewReader(ctx, s)
	cfg := Config{
		ClientSecrets:    r.Values(SettingClientSecret),
		RequireV3:        r.Bool(SettingRequireV3),
		ReferralProperty: r.Optional(SettingReferralProperty),
		EmailProperty:    r.Optional(SettingEmailProperty),
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

// signDelivery signs r with the newest client secret, as HubSpot does.
func signDelivery(ctx context.Context, r *crm.Request, s crm.Settings, o crm.SignOptions) error {
	secret, err := crm.Newest(ctx, s, SettingClientSecret)
	if err != nil {
		return err
	}
	switch o.Version {
	case "v3", "":
		r.Headers.Set(HeaderSignatureV3, SignV3(secret, r.Method, r.URL, r.Body, o.Now))
		r.Headers.Set(HeaderTimestamp, strconv.FormatInt(o.Now.UnixMilli(), 10))
	case "v2":
		r.Headers.Set(HeaderSignature, SignV2(secret, r.Method, r.URL, r.Body))
		r.Headers.Set(HeaderSignatureVersion, "v2")
	case "v1":
		r.Headers.Set(HeaderSignature, SignV1(secret, r.Body))
		r.Headers.Set(HeaderSignatureVersion, "v1")
	default:
		return fmt.Errorf("hubspot: signature version %q: want v3, v2 or v1", o.Version)
	}
	return nil
}
