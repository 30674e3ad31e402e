package fakes

import (
	"github.com/referflow/referflow/internal/rails"
	"github.com/referflow/referflow/internal/rewards/paypal"
	"github.com/referflow/referflow/internal/rewards/stripe"
	"github.com/referflow/referflow/internal/rewards/tremendous"
)

// Local credentials of the payout rails: what the local stack stores in
// SSM for the functions and what the rails' fakes accept. None is real.
const (
	LocalStripeAPIKey       = "sk_test_local_referflow_not_a_real_key"
	LocalPayPalClientID     = "local-paypal-client-id"
	LocalPayPalClientSecret = "local-paypal-client-secret"
	LocalTremendousAPIKey   = "TEST_local-tremendous-api-key"
	LocalTremendousCampaign = "LOCALCAMPAIGN1"
)

// Credential is one credential setting of a rail, with its local value.
type Credential struct {
	Name  string
	Local string
	Doc   string
}

// RailSpec says how to fake one payout rail's API. Unlike the CRM fakes,
// the rails are not in a registry: Rails lists them.
type RailSpec struct {
	// Name is the rail (its payout method, e.g. "stripe"): its control API
	// is mounted under Prefix+Name+"/".
	Name string
	Spec
	// Credentials are the rail's credential settings: the local stack
	// stores their Local values in SSM, and Start makes the fake accept
	// the values it is given for them.
	Credentials []Credential
}

// Rails are the payout rails' fakes, started after the CRM fakes in this
// order.
var Rails = []RailSpec{
	{
		Name: stripe.Method,
		Spec: Spec{URLSetting: stripe.SettingAPIURL, Start: startStripe},
		Credentials: []Credential{
			{stripe.SettingAPIKey, LocalStripeAPIKey, "Stripe secret key (sk_test_… / sk_live_…) of the Stripe payout rail."},
		},
	},
	{
		Name: paypal.Method,
		Spec: Spec{URLSetting: paypal.SettingAPIURL, Start: startPayPal},
		Credentials: []Credential{
			{paypal.SettingClientID, LocalPayPalClientID, "PayPal REST app client id of the PayPal Payouts rail."},
			{paypal.SettingClientSecret, LocalPayPalClientSecret, "PayPal REST app client secret of the PayPal Payouts rail."},
		},
	},
	{
		Name: tremendous.Method,
		Spec: Spec{URLSetting: tremendous.SettingAPIURL, Start: startTremendous},
		Credentials: []Credential{
			{tremendous.SettingAPIKey, LocalTremendousAPIKey, "Tremendous API key of the gift card rail."},
			{rails.SettingTremendousCampaign, LocalTremendousCampaign, "Tremendous campaign of the gift card rail's orders."},
		},
	},
}

func startStripe(settings map[string]string) (Fake, error) {
	return NewStripe(credential(settings, stripe.SettingAPIKey, LocalStripeAPIKey), nil)
}

func startPayPal(settings map[string]string) (Fake, error) {
	return NewPayPal(credential(settings, paypal.SettingClientID, LocalPayPalClientID),
		credential(settings, paypal.SettingClientSecret, LocalPayPalClientSecret)), nil
}

func startTremendous(settings map[string]string) (Fake, error) {
	return NewTremendous(credential(settings, tremendous.SettingAPIKey, LocalTremendousAPIKey)), nil
}

// credential is the value of setting name in settings, or local when
// settings leave it empty: a fake never accepts an empty credential.
func credential(settings map[string]string, name, local string) string {
	if v := settings[name]; v != "" {
		return v
	}
	return local
}
