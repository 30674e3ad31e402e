package salesforce

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/referflow/referflow/internal/crm"
)

// Settings Salesforce reads by name (docs/crm/salesforce.md).
const (
	SettingToken         = "REFERFLOW_SALESFORCE_TOKEN"
	SettingOrgIDs        = "REFERFLOW_SALESFORCE_ORG_IDS"
	SettingReferralField = "REFERFLOW_SALESFORCE_REFERRAL_FIELD"
	SettingEmailField    = "REFERFLOW_SALESFORCE_EMAIL_FIELD"
	SettingPipelineField = "REFERFLOW_SALESFORCE_PIPELINE_FIELD"
	SettingCurrencyField = "REFERFLOW_SALESFORCE_CURRENCY_FIELD"
)

// Provider describes Salesforce Outbound Messages to the provider registry:
// its settings, the adapter built from them, and a signer for test
// deliveries (the token in the URL, as Salesforce sends it).
var Provider = crm.Provider{
	Name:  Name,
	Title: "Salesforce",
	Settings: []crm.Setting{
		{Name: SettingToken, Description: "Secret token query parameter of the Outbound Message endpoint URL; \"new,old\" during a rotation.",
			Secret: true, Required: true, Local: "local-salesforce-token", Fields: []string{"Config.Tokens"}, Flag: "secret"},
		{Name: SettingOrgIDs, Description: "Comma-separated organisation ids (15 or 18 characters) whose Outbound Messages are accepted.",
			Secret: true, Required: true, Local: "00D000000000001AAA", Fields: []string{"Config.OrgIDs"}},
		{Name: SettingReferralField, Description: "Opportunity field holding the referral id; default Referral_Id__c, - turns it off.",
			Fields: []string{"Config.ReferralField"}},
		{Name: SettingEmailField, Description: "Opportunity field holding the referee's email (e.g. a formula field Referee_Email__c); unset reads no email.",
			Fields: []string{"Config.EmailField"}},
		{Name: SettingPipelineField, Description: "Opportunity field reported as the pipeline (e.g. RecordTypeId); unset reports none.",
			Fields: []string{"Config.PipelineField"}},
		{Name: SettingCurrencyField, Description: "Field holding the amount's currency; default CurrencyIsoCode (multi-currency orgs).",
			Fields: []string{"Config.CurrencyField"}},
	},
	NewAdapter: fromSettings,
	Sign:       signDelivery,
	Configs:    []any{Config{}},
}

func fromSettings(ctx context.Context, s crm.Settings, now func() time.Time) (crm.Adapter, error) {
	r := crm.NewReader(ctx, s)
	cfg := Config{
		Tokens:        r.Values(SettingToken),
		OrgIDs:        r.Values(SettingOrgIDs),
		ReferralField: r.Optional(SettingReferralField),
		EmailField:    r.Optional(SettingEmailField),
		PipelineField: r.Optional(SettingPipelineField),
		CurrencyField: r.Optional(SettingCurrencyField),
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

// signDelivery puts the newest token in the URL's token parameter and sends the
// SOAP headers Salesforce sends.
func signDelivery(ctx context.Context, r *crm.Request, s crm.Settings, o crm.SignOptions) error {
	if o.Version != "" {
		return fmt.Errorf("salesforce: Outbound Messages have no signature version (got %q)", o.Version)
	}
	token, err := crm.Newest(ctx, s, SettingToken)
	if err != nil {
		return err
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return fmt.Errorf("salesforce: URL: %w", err)
	}
	q := u.Query()
	q.Set(TokenParam, token)
	u.RawQuery = q.Encode()
	r.URL = u.String()
	r.Headers.Set("Content-Type", ContentType)
	r.Headers.Set("SOAPAction", `""`)
	return nil
}
