package salesforce_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/crmtest"
	"github.com/referflow/referflow/internal/crm/salesforce"
	"github.com/referflow/referflow/internal/settings"
)

// opportunity is an Outbound Message from the local org with one
// Opportunity carrying the fields the settings may name.
const opportunity = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>
<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D000000000001AAA</OrganizationId><ActionId>04k000000000001AAA</ActionId>
<Notification><Id>04l000000000001AAA</Id><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
<sf:Id>006000000000001AAA</sf:Id><sf:StageName>Closed Won</sf:StageName><sf:IsWon>true</sf:IsWon><sf:IsClosed>true</sf:IsClosed>
<sf:Amount>1000</sf:Amount><sf:CurrencyIsoCode>EUR</sf:CurrencyIsoCode><sf:Deal_Currency__c>JPY</sf:Deal_Currency__c>
<sf:Referral_Id__c>ref_default</sf:Referral_Id__c><sf:Partner_Ref__c>ref_custom</sf:Partner_Ref__c>
<sf:Referee_Email__c>Ann@Example.com</sf:Referee_Email__c><sf:RecordTypeId>012000000000001AAA</sf:RecordTypeId>
</sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>`

// Each Salesforce setting reaches the adapter built by the registry and
// changes the event it reads.
func TestSettingsReachTheAdapter(t *testing.T) {
	for _, c := range []struct {
		name     string
		settings map[string]string
		check    func(ev crm.Event) bool
	}{
		{"defaults: Referral_Id__c, CurrencyIsoCode, no email, no pipeline", nil, func(ev crm.Event) bool {
			return ev.ReferralID == "ref_default" && ev.Amount.Currency == "EUR" && ev.Amount.Minor == 100000 && ev.Email == "" && ev.Pipeline == ""
		}},
		{salesforce.SettingReferralField, map[string]string{salesforce.SettingReferralField: "Partner_Ref__c"}, func(ev crm.Event) bool { return ev.ReferralID == "ref_custom" }},
		{salesforce.SettingReferralField + " off", map[string]string{salesforce.SettingReferralField: "-"}, func(ev crm.Event) bool { return ev.ReferralID == "" }},
		{salesforce.SettingEmailField, map[string]string{salesforce.SettingEmailField: "Referee_Email__c"}, func(ev crm.Event) bool { return ev.Email == "ann@example.com" }},
		{salesforce.SettingPipelineField, map[string]string{salesforce.SettingPipelineField: "RecordTypeId"}, func(ev crm.Event) bool { return ev.Pipeline == "012000000000001AAA" }},
		{salesforce.SettingCurrencyField, map[string]string{salesforce.SettingCurrencyField: "Deal_Currency__c"}, func(ev crm.Event) bool {
			return ev.Amount.Currency == "JPY" && ev.Amount.Minor == 1000 // JPY has no minor unit
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := crmtest.With(crmtest.Local(salesforce.Provider), c.settings)
			a, err := salesforce.Provider.NewAdapter(context.Background(), s, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			r := crm.Request{Method: "POST", URL: "https://x.example/webhooks/salesforce", Headers: http.Header{}, Body: []byte(opportunity)}
			if err := salesforce.Provider.Sign(context.Background(), &r, s, crm.SignOptions{Now: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if err := a.Authenticate(r); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			evs, err := a.Parse(r)
			if err != nil || len(evs) != 1 || evs[0].Amount == nil || !c.check(evs[0]) {
				t.Fatalf("Parse = %+v, %v", evs, err)
			}
		})
	}
}

// The token and the org allowlist are required, and the allowlist is the
// one configured.
func TestRequiredSettings(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{salesforce.SettingToken, salesforce.SettingOrgIDs} {
		s := crmtest.With(crmtest.Local(salesforce.Provider), map[string]string{name: ""})
		if _, err := salesforce.Provider.NewAdapter(ctx, s, time.Now); !errors.Is(err, settings.ErrMissing) || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s: %v", name, err)
		}
	}
	s := crmtest.With(crmtest.Local(salesforce.Provider), map[string]string{salesforce.SettingOrgIDs: "00D000000000002"})
	a, err := salesforce.Provider.NewAdapter(ctx, s, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	r := crm.Request{Method: "POST", URL: "https://x.example/webhooks/salesforce", Headers: http.Header{}, Body: []byte(opportunity)}
	if err := salesforce.Provider.Sign(ctx, &r, s, crm.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Authenticate(r); !errors.Is(err, crm.ErrUnauthorized) {
		t.Fatalf("another org accepted: %v", err)
	}
}
