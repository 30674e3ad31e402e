package moto

import (
	"slices"
	"testing"
)

// The caller's settings, AWS, moto and proxy variables do not reach moto:
// they would change where its interpreter sends Lambda calls.
func TestEnvironDropsTheCallersAWSAndProxyVariables(t *testing.T) {
	parent := []string{"PATH=/bin", "HOME=/h", "VIRTUAL_ENV=/venv", "REFERFLOW_HUBSPOT_CLIENT_SECRET=mine",
		"AWS_ENDPOINT_URL=https://aws.example", "AWS_PROFILE=prod", "MOTO_PORT=1", "MOTO_ALLOW_NONEXISTENT_REGION=true",
		"HTTPS_PROXY=http://corp:3128", "http_proxy=http://corp:3128", "NO_PROXY=corp"}
	got := environ(parent, Options{LambdaPort: 4567, Env: map[string]string{"HTTPS_PROXY": "http://moto@127.0.0.1:9"}})
	for _, want := range []string{"PATH=/bin", "HOME=/h", "VIRTUAL_ENV=/venv", "MOTO_PORT=4567", "AWS_ACCESS_KEY_ID=testing", "HTTPS_PROXY=http://moto@127.0.0.1:9"} {
		if !slices.Contains(got, want) {
			t.Errorf("environ lacks %s: %q", want, got)
		}
	}
	for _, bad := range []string{"REFERFLOW_HUBSPOT_CLIENT_SECRET=mine", "AWS_ENDPOINT_URL=https://aws.example", "AWS_PROFILE=prod", "MOTO_PORT=1",
		"MOTO_ALLOW_NONEXISTENT_REGION=true", "HTTPS_PROXY=http://corp:3128", "http_proxy=http://corp:3128", "NO_PROXY=corp"} {
		if slices.Contains(got, bad) {
			t.Errorf("environ keeps %s", bad)
		}
	}
}
