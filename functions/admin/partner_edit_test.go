package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/store"
)

func (f *fakePartners) Edit(_ context.Context, program, code string, c partners.Changes) (*store.Partner, error) {
	call := "edit " + program + " " + code
	for _, v := range []*string{c.Name, c.Email, c.Company} {
		if v == nil {
			call += " -"
		} else {
			call += " " + *v
		}
	}
	return f.answer(call)
}

func TestAdminEditsAPartner(t *testing.T) {
	params := map[string]string{"program": "p1", "code": "ANN42"}
	f := &fakePartners{p: ann}
	a := call(t, partnersHandler(f), request(http.MethodPatch, "/admin/partners/{program}/{code}", params, `{"email":"ann@new.example"}`))
	if a.status != http.StatusOK || a.body["code"] != "ANN42" || len(f.calls) != 1 || f.calls[0] != "edit p1 ANN42 - ann@new.example -" {
		t.Fatalf("edit: %d %v %v", a.status, a.body, f.calls)
	}
	for _, c := range []struct {
		body   string
		err    error
		status int
		code   string
	}{
		{`{"email":"nope"}`, &partners.Invalid{Fields: map[string]string{"email": "is not an email address"}}, http.StatusBadRequest, "invalid_request"},
		{`{"email":"bob@agency.example"}`, partners.ErrExists, http.StatusConflict, "partner_exists"},
		{`{"name":"X"}`, partners.ErrNotFound, http.StatusNotFound, "not_found"},
		{`["name"]`, nil, http.StatusBadRequest, "invalid_request"},
	} {
		f := &fakePartners{err: c.err}
		a := call(t, partnersHandler(f), request(http.MethodPatch, "/admin/partners/{program}/{code}", params, c.body))
		if e, _ := a.body["error"].(map[string]any); a.status != c.status || e["code"] != c.code {
			t.Errorf("%s: %d %v", c.body, a.status, a.body)
		}
	}
}
