package stack

import (
	"bytes"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/referflow/referflow/infra/local/fakes"
	"github.com/referflow/referflow/internal/rewards/paypal"
	"github.com/referflow/referflow/internal/rewards/stripe"
	"github.com/referflow/referflow/internal/rewards/tremendous"
)

// Every local stack starts the payout rails' fakes: their credentials are
// settings with the local values the fakes accept (the stack's environment
// still wins), their URL settings point at the fakes in SSM and in every
// function environment naming them (the template's production URLs
// replaced), their control APIs answer under /_local/<rail>/, and the
// summary of make run lists them.
func TestTheStackStartsThePayoutRailsFakes(t *testing.T) {
	h := startHermeticT(t, map[string]string{tremendous.SettingAPIKey: "TEST_from-the-environment"})
	for _, r := range fakes.Rails {
		for _, c := range r.Credentials {
			want := c.Local
			if c.Name == tremendous.SettingAPIKey {
				want = "TEST_from-the-environment"
			}
			if h.settings[c.Name] != want || want == "" {
				t.Errorf("%s = %q, want %q", c.Name, h.settings[c.Name], want)
			}
		}
	}
	template := map[string]string{
		stripe.SettingAPIURL:     stripe.DefaultAPIURL,
		paypal.SettingAPIURL:     paypal.DefaultBaseURL,
		tremendous.SettingAPIURL: tremendous.DefaultBaseURL,
	}
	env := h.functionEnv("RewardsFunction", template, func(string) string { return "" })
	urls := h.fakes.URLs()
	var summary bytes.Buffer
	h.printSummary(&summary, "http://127.0.0.1:3000")
	front := h.handler(http.NotFoundHandler(), &atomic.Pointer[Ready]{})
	for _, r := range fakes.Rails {
		fake := urls[r.Name]
		if !strings.HasPrefix(fake, "http://127.0.0.1:") {
			t.Fatalf("%s fake at %q", r.Name, fake)
		}
		if h.settings[r.URLSetting] != fake || env[r.URLSetting] != fake {
			t.Errorf("%s: SSM %q, function %q, want the fake %q", r.URLSetting, h.settings[r.URLSetting], env[r.URLSetting], fake)
		}
		if code, _, body := get(t, front, http.MethodGet, fakes.Prefix+r.Name+"/"); code != http.StatusOK || !strings.Contains(body, `"requests"`) {
			t.Errorf("GET %s%s/ = %d %s", fakes.Prefix, r.Name, code, body)
		}
		if line := "http://127.0.0.1:3000" + fakes.Prefix + r.Name + "/"; !strings.Contains(summary.String(), fake) || !strings.Contains(summary.String(), line) {
			t.Errorf("summary lacks the %s fake (%s, control %s):\n%s", r.Name, fake, line, summary.String())
		}
	}
}
