// Package fakes runs a local fake of every outside API the functions call,
// driven by the CRM provider registry (internal/crm/providers): a provider
// with an entry in Specs gets its fake started by the local stack, its API
// URL setting pointed at it, and its control API mounted on the stack's HTTP
// front under /_local/<provider>/. Adding a CRM whose functions call its API
// means adding its fake here (TestEveryProviderThatCallsAnAPIHasAFake).
// The payout rails' fakes (Stripe, PayPal Payouts, Tremendous; rails.go)
// are listed in Rails and started the same way, after the CRM fakes.
package fakes

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/crm/providers"
)

// Prefix is where the fakes' control APIs are mounted on the HTTP front.
const Prefix = "/_local/"

// Fake is one running fake API.
type Fake interface {
	// URL is its base URL on loopback (what the URL setting gets).
	URL() string
	// Admin serves its control API, with Prefix+provider stripped from
	// the path ("/" is its state, e.g. "/deals" adds a deal).
	Admin() http.Handler
	// Requests counts the API requests it has answered.
	Requests() int
	// Close stops it.
	Close()
}

// Spec says how to fake one provider's API.
type Spec struct {
	// URLSetting is the provider's setting (and function environment
	// variable) holding the API base URL, e.g. REFERFLOW_HUBSPOT_API_URL.
	URLSetting string
	// Start starts the fake on loopback. settings are the values the local
	// stack gives the functions, so the fake accepts their credentials.
	Start func(settings map[string]string) (Fake, error)
}

// Specs are the fakes, by provider name (crm.Provider.Name).
var Specs = map[string]Spec{
	hubspot.Name: {URLSetting: hubspot.SettingAPIURL, Start: startHubSpot},
}

// Set is the running fakes.
type Set struct {
	names    []string // registry order, then Rails order
	fakes    map[string]Fake
	settings map[string]string // each fake's URL setting, by name
}

// StartAll starts the fake of every registered provider that has one, in
// registry order, then the fake of every payout rail (Rails).
func StartAll(settings map[string]string) (*Set, error) {
	s := &Set{fakes: map[string]Fake{}, settings: map[string]string{}}
	for _, p := range providers.All() {
		if spec, ok := Specs[p.Name]; ok {
			if err := s.start(p.Name, spec, settings); err != nil {
				return nil, fmt.Errorf("fake %s API: %w", p.Title, err)
			}
		}
	}
	for _, r := range Rails {
		if err := s.start(r.Name, r.Spec, settings); err != nil {
			return nil, fmt.Errorf("fake %s API: %w", r.Name, err)
		}
	}
	return s, nil
}

// start starts one fake, closing every fake already started when it fails.
func (s *Set) start(name string, spec Spec, settings map[string]string) error {
	f, err := spec.Start(settings)
	if err != nil {
		s.Close()
		return err
	}
	s.names = append(s.names, name)
	s.fakes[name] = f
	s.settings[name] = spec.URLSetting
	return nil
}

// Close stops every fake.
func (s *Set) Close() {
	for _, f := range s.fakes {
		f.Close()
	}
}

// Fake returns the running fake of provider.
func (s *Set) Fake(provider string) (Fake, bool) {
	f, ok := s.fakes[provider]
	return f, ok
}

// URLs maps each faked provider to its fake's base URL.
func (s *Set) URLs() map[string]string {
	out := make(map[string]string, len(s.fakes))
	for name, f := range s.fakes {
		out[name] = f.URL()
	}
	return out
}

// Settings maps each fake's URL setting to the fake's base URL: the values
// the functions get for those settings.
func (s *Set) Settings() map[string]string {
	out := make(map[string]string, len(s.fakes))
	for name, f := range s.fakes {
		out[s.settings[name]] = f.URL()
	}
	return out
}

// Handler serves every fake's control API under Prefix+<provider>/, and
// GET Prefix lists the fakes with their URLs and request counts.
func (s *Set) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, _ := strings.CutPrefix(r.URL.Path, Prefix)
		if rest == "" {
			if r.Method != http.MethodGet {
				writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "GET only")
				return
			}
			list := map[string]any{}
			for _, name := range s.names {
				list[name] = state(s.fakes[name])
			}
			writeJSON(w, http.StatusOK, map[string]any{"fakes": list})
			return
		}
		name, sub, _ := strings.Cut(rest, "/")
		f, ok := s.fakes[name]
		if !ok {
			writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no fake %q (have %s)", name, strings.Join(s.sorted(), ", ")))
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + sub
		r2.URL.RawPath = ""
		f.Admin().ServeHTTP(w, r2)
	})
}

func (s *Set) sorted() []string {
	out := append([]string(nil), s.names...)
	sort.Strings(out)
	return out
}

func state(f Fake) map[string]any {
	return map[string]any{"url": f.URL(), "requests": f.Requests()}
}

// writeError answers with the JSON error shape of the product's API.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
