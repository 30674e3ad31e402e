package template

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/rails"
	"github.com/referflow/referflow/internal/rewards/paypal"
	"github.com/referflow/referflow/internal/rewards/stripe"
	"github.com/referflow/referflow/internal/rewards/tremendous"
)

// The function that pays (RewardsFunction) gets each payout rail's base
// URL from a template parameter whose default is the provider's production
// API, and reads the rails' credentials from SSM under the settings
// prefix: no credential is a template value.
func TestPayoutRailSettingsReachTheRewardsFunction(t *testing.T) {
	tp := load(t)
	fn := tp.resources["RewardsFunction"]
	vars := asMap(get(fn, "Properties", "Environment", "Variables"))
	for setting, def := range map[string]string{
		stripe.SettingAPIURL:     stripe.DefaultAPIURL,
		paypal.SettingAPIURL:     paypal.DefaultBaseURL,
		tremendous.SettingAPIURL: tremendous.DefaultBaseURL,
	} {
		param := ref(vars[setting])
		if param == "" {
			t.Errorf("RewardsFunction %s = %v, want !Ref of a parameter", setting, vars[setting])
			continue
		}
		if got := get(tp.params[param], "Default"); got != def {
			t.Errorf("parameter %s (%s) defaults to %v, want %s", param, setting, got, def)
		}
	}
	for _, secret := range []string{stripe.SettingAPIKey, paypal.SettingClientID, paypal.SettingClientSecret, tremendous.SettingAPIKey} {
		if _, ok := vars[secret]; ok {
			t.Errorf("RewardsFunction sets %s in its environment: credentials belong in SSM", secret)
		}
	}
	if !allows(fn, "ssm:GetParameter") {
		t.Error("RewardsFunction cannot read the rails' credentials (ssm:GetParameter)")
	}
	if !readsPrefix(fn) {
		t.Error("RewardsFunction's ssm:GetParameter is not on the settings prefix /referflow/${AWS::StackName}/*")
	}
}

// readsPrefix reports whether a statement allowing ssm:GetParameter names
// the settings prefix (REFERFLOW_SETTINGS_PREFIX) as its resource.
func readsPrefix(fn map[string]value) bool {
	pols, _ := get(fn, "Properties", "Policies").([]value)
	for _, p := range pols {
		stmts, _ := get(p, "Statement").([]value)
		for _, st := range stmts {
			res, _ := get(st, "Resource", "Fn::Sub").(string)
			if get(st, "Effect") == "Allow" && slices.Contains(stringList(get(st, "Action")), "ssm:GetParameter") &&
				strings.HasSuffix(res, ":parameter/referflow/${AWS::StackName}/*") {
				return true
			}
		}
	}
	return false
}

// A function that pays through the rails outlives the calls of one reward:
// looking its payment up and sending it are up to two calls each (a
// discount's coupon and promotion code), each bounded by rails.Timeout,
// with time left for the store. A step that dies first leaves its reward
// sending and is retried; one that always dies (a slow rail, a loaded
// account) ends every retry the same way and the referral needs attention.
func TestFunctionsThatPayOutliveOneRewardsRailCalls(t *testing.T) {
	tp := load(t)
	need := 4*rails.Timeout + 10*time.Second
	for _, name := range []string{"RewardsFunction", "PayoutsFunction"} {
		v := get(tp.resources[name], "Properties", "Timeout")
		if v == nil {
			v = tp.globals["Timeout"]
		}
		s, _ := v.(string)
		secs, err := strconv.Atoi(s)
		if err != nil {
			t.Errorf("%s Timeout = %v, want seconds", name, v)
			continue
		}
		if got := time.Duration(secs) * time.Second; got < need {
			t.Errorf("%s Timeout = %s, want at least %s (4 rail calls of %s and the store)", name, got, need, rails.Timeout)
		}
	}
}
