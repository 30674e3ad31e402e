package fakes

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/crm/hubspot/hubspottest"
)

// HubSpotDeal is the body of POST /_local/hubspot/deals: a deal of the fake
// HubSpot CRM API (hubspottest), replaced when its id exists. Contacts are
// added (or replaced) too and associated with the deal after ContactIDs.
type HubSpotDeal struct {
	ID         string            `json:"id"`
	Pipeline   string            `json:"pipeline,omitempty"`
	Stage      string            `json:"stage,omitempty"`
	Amount     string            `json:"amount,omitempty"`   // decimal text, "12500.50"
	Currency   string            `json:"currency,omitempty"` // deal_currency_code
	Properties map[string]string `json:"properties,omitempty"`
	ContactIDs []string          `json:"contact_ids,omitempty"`
	Contacts   []HubSpotContact  `json:"contacts,omitempty"`
}

// HubSpotContact is the body of POST /_local/hubspot/contacts.
type HubSpotContact struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// HubSpotFailure is the body of POST /_local/hubspot/failures: the next
// Next requests answer Status, or every request does when Next is 0;
// Status 0 ends the failures.
type HubSpotFailure struct {
	Status int `json:"status"`
	Next   int `json:"next,omitempty"`
}

type hubspotFake struct {
	s     *hubspottest.Server
	admin http.Handler
}

// startHubSpot serves the HubSpot CRM v3 API reads the webhook makes,
// requiring the access token the functions are given (as HubSpot does).
func startHubSpot(settings map[string]string) (Fake, error) {
	s, err := hubspottest.Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.RequireToken(settings[hubspot.SettingAccessToken])
	f := &hubspotFake{s: s}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, state(f)) })
	mux.HandleFunc("POST /deals", f.addDeal)
	mux.HandleFunc("POST /contacts", f.addContact)
	mux.HandleFunc("POST /failures", f.fail)
	f.admin = mux
	return f, nil
}

func (f *hubspotFake) URL() string         { return f.s.URL }
func (f *hubspotFake) Admin() http.Handler { return f.admin }
func (f *hubspotFake) Requests() int       { return f.s.Requests() }
func (f *hubspotFake) Close()              { f.s.Close() }

func (f *hubspotFake) addDeal(w http.ResponseWriter, r *http.Request) {
	var d HubSpotDeal
	if !decode(w, r, &d) {
		return
	}
	if !numeric(d.ID) {
		writeError(w, http.StatusBadRequest, "invalid_request", "id must be a HubSpot object id (digits)")
		return
	}
	ids := append([]string(nil), d.ContactIDs...)
	for _, c := range d.Contacts {
		if !numeric(c.ID) {
			writeError(w, http.StatusBadRequest, "invalid_request", "contacts[].id must be digits")
			return
		}
		ids = append(ids, c.ID)
	}
	for _, c := range d.Contacts {
		f.s.AddContact(c.ID, c.Email)
	}
	f.s.AddDeal(hubspottest.Deal{ID: d.ID, Pipeline: d.Pipeline, Stage: d.Stage, Amount: d.Amount, Currency: d.Currency,
		Properties: d.Properties, ContactIDs: ids})
	writeJSON(w, http.StatusCreated, map[string]any{"id": d.ID, "contact_ids": ids})
}

func (f *hubspotFake) addContact(w http.ResponseWriter, r *http.Request) {
	var c HubSpotContact
	if !decode(w, r, &c) {
		return
	}
	if !numeric(c.ID) {
		writeError(w, http.StatusBadRequest, "invalid_request", "id must be a HubSpot object id (digits)")
		return
	}
	f.s.AddContact(c.ID, c.Email)
	writeJSON(w, http.StatusCreated, c)
}

func (f *hubspotFake) fail(w http.ResponseWriter, r *http.Request) {
	var in HubSpotFailure
	if !decode(w, r, &in) {
		return
	}
	if in.Status != 0 && (in.Status < 400 || in.Status > 599) || in.Next < 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "status must be 0 or 400-599, next >= 0")
		return
	}
	f.s.FailAll(0)
	f.s.FailNext(0, 0)
	switch {
	case in.Status == 0:
	case in.Next > 0:
		f.s.FailNext(in.Next, in.Status)
	default:
		f.s.FailAll(in.Status)
	}
	writeJSON(w, http.StatusOK, in)
}

func decode(w http.ResponseWriter, r *http.Request, into any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "body: "+err.Error())
		return false
	}
	return true
}

func numeric(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
