package localtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/referflow/referflow/infra/local/egress"
	"github.com/referflow/referflow/infra/local/fakes"
	"github.com/referflow/referflow/infra/local/stack"
)

// Settings are the values a test stack gets for every setting the local
// stack provides (stack.Settings with a local default). Start sets them
// explicitly, so a test never sees a value its caller exported for
// `make run`; Options.Env replaces any of them.
func Settings() map[string]string {
	out := map[string]string{}
	for _, s := range stack.Settings {
		if s.Default != "" {
			out[s.Name] = s.Default
		}
	}
	return out
}

// stackEnv is the environment of a test stack: the test process's without
// any REFERFLOW_* variable (settings, REFERFLOW_LOCAL_* knobs such as a
// fault plan or REFERFLOW_LOCAL_ENV_ overrides) and without PORT, then
// Settings, then extra.
func stackEnv(parent []string, extra map[string]string) []string {
	out := make([]string, 0, len(parent)+len(extra)+16)
	for _, kv := range parent {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(strings.ToUpper(name), "REFERFLOW_") || name == "PORT" {
			continue
		}
		out = append(out, kv)
	}
	vars := Settings()
	for k, v := range extra {
		vars[k] = v
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+vars[k])
	}
	return out
}

// Egress returns the requests the stack's functions (and moto) made for
// hosts outside the machine, which the egress guard refused. Start's
// cleanup fails the test when there are any, unless Options.AllowEgress.
func (s *Stack) Egress() ([]egress.Attempt, error) {
	var out struct {
		Attempts []egress.Attempt `json:"attempts"`
		Dropped  int              `json:"dropped"`
	}
	if err := s.call(http.MethodGet, "/__referflow/egress", nil, &out); err != nil {
		return nil, err
	}
	if out.Dropped > 0 {
		out.Attempts = append(out.Attempts, egress.Attempt{Method: fmt.Sprintf("(%d more)", out.Dropped)})
	}
	return out.Attempts, nil
}

// checkEgress fails t when a function tried to leave the machine.
func (s *Stack) checkEgress() {
	attempts, err := s.Egress()
	if err != nil {
		s.t.Errorf("egress record: %v", err)
		return
	}
	for _, a := range attempts {
		s.t.Errorf("hermetic local stack: %s tried %s %s%s (refused); give it a local fake (infra/local/fakes)", a.Caller, a.Method, a.Host, a.Path)
	}
}

// AddHubSpotDeal puts a deal (and its contacts) into the stack's fake
// HubSpot CRM API, through POST /_local/hubspot/deals.
func (s *Stack) AddHubSpotDeal(d fakes.HubSpotDeal) error {
	return s.call(http.MethodPost, fakes.Prefix+"hubspot/deals", d, nil)
}

// AddHubSpotContact puts a contact into the stack's fake HubSpot CRM API.
func (s *Stack) AddHubSpotContact(c fakes.HubSpotContact) error {
	return s.call(http.MethodPost, fakes.Prefix+"hubspot/contacts", c, nil)
}

// FailHubSpot makes the fake HubSpot API answer f.Status (see
// fakes.HubSpotFailure).
func (s *Stack) FailHubSpot(f fakes.HubSpotFailure) error {
	return s.call(http.MethodPost, fakes.Prefix+"hubspot/failures", f, nil)
}

// FakeRequests is the number of API requests the fake of provider answered.
func (s *Stack) FakeRequests(provider string) (int, error) {
	var out struct {
		Requests int `json:"requests"`
	}
	err := s.call(http.MethodGet, fakes.Prefix+provider+"/", nil, &out)
	return out.Requests, err
}

// call sends a JSON request to the stack's front and decodes a 2xx answer.
func (s *Stack) call(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.API+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}
