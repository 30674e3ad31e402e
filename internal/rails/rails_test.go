package rails_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/rails"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/paypal"
	"github.com/referflow/referflow/internal/rewards/stripe"
	"github.com/referflow/referflow/internal/rewards/tremendous"
)

var (
	stripeKey = map[string]string{stripe.SettingAPIKey: "sk_test_x"}
	payPal    = map[string]string{paypal.SettingClientID: "id", paypal.SettingClientSecret: "secret"}
	giftCards = map[string]string{tremendous.SettingAPIKey: "TEST_x", rails.SettingTremendousProducts: "P1, P2,,"}
)

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

// New builds the rails whose credentials are set, reports a rail with
// credentials but a configuration its constructor refuses in skipped
// (and leaves it out), and stops at an error reading a setting other than
// missing.
func TestNewBuildsTheRailsConfigured(t *testing.T) {
	errSSM := errors.New("ssm: throttled")
	cases := []struct {
		name     string
		settings map[string]string
		fail     string // a setting whose read fails with errSSM
		built    []string
		skipped  []string // a word each skipped line names
		err      error
	}{
		{"nothing set: no rail", nil, "", nil, nil, nil},
		{"a Stripe key: stripe at its default URL", stripeKey, "", []string{rewards.RailStripe}, nil, nil},
		{"every rail", merge(stripeKey, payPal, giftCards, map[string]string{
			stripe.SettingAPIURL: "http://127.0.0.1:1", paypal.SettingAPIURL: paypal.SandboxBaseURL, tremendous.SettingAPIURL: tremendous.SandboxBaseURL}),
			"", []string{rewards.RailPayPal, rewards.RailStripe, rewards.RailTremendous}, nil, nil},
		{"empty values are not set", map[string]string{stripe.SettingAPIKey: "", paypal.SettingClientID: "", tremendous.SettingAPIKey: ""},
			"", nil, nil, nil},
		{"PayPal without its secret: skipped", map[string]string{paypal.SettingClientID: "id"}, "", nil, []string{"paypal"}, nil},
		{"a gift card campaign instead of products", map[string]string{tremendous.SettingAPIKey: "TEST_x", rails.SettingTremendousCampaign: "CMP1"},
			"", []string{rewards.RailTremendous}, nil, nil},
		{"Stripe URL not http(s): skipped", merge(stripeKey, payPal, map[string]string{stripe.SettingAPIURL: "ftp://stripe.example"}),
			"", []string{rewards.RailPayPal}, []string{"stripe"}, nil},
		{"gift cards without products or a campaign: skipped", merge(stripeKey, map[string]string{tremendous.SettingAPIKey: "TEST_x"}),
			"", []string{rewards.RailStripe}, []string{"tremendous"}, nil},
		{"the Stripe key unreadable: stops", stripeKey, stripe.SettingAPIKey, nil, nil, errSSM},
		{"the PayPal secret unreadable: stops", payPal, paypal.SettingClientSecret, nil, nil, errSSM},
		{"the gift card products unreadable: stops", giftCards, rails.SettingTremendousProducts, nil, nil, errSSM},
		{"a URL unreadable although its key is not set: nothing read", nil, stripe.SettingAPIURL, nil, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			get := func(ctx context.Context, name string) (string, error) {
				if name == c.fail {
					return "", errSSM
				}
				return getter(c.settings)(ctx, name)
			}
			built, skipped, err := rails.New(context.Background(), get, errMissing, &payeeSource{}, (&clock{t: t0}).Now)
			if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if err != nil {
				if built != nil || skipped != nil || !strings.Contains(err.Error(), c.fail) {
					t.Errorf("on error: built %v, skipped %v, error %q does not name %s", built, skipped, err, c.fail)
				}
				return
			}
			if got := slices.Sorted(maps.Keys(built)); !slices.Equal(got, c.built) {
				t.Errorf("built %v, want %v", got, c.built)
			}
			if len(skipped) != len(c.skipped) {
				t.Fatalf("skipped %q, want lines naming %q", skipped, c.skipped)
			}
			for i, w := range c.skipped {
				if !strings.HasPrefix(skipped[i], w+": ") {
					t.Errorf("skipped[%d] = %q, want it to name %s and why", i, skipped[i], w)
				}
			}
		})
	}
}
