package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"testing"

	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// fakePartners records the operations it is asked for and answers with
// what the test set.
type fakePartners struct {
	calls []string
	base  string
	p     *store.Partner
	err   error
	page  partners.Page
	got   partners.New
}

func (f *fakePartners) answer(call string) (*store.Partner, error) {
	f.calls = append(f.calls, call)
	return f.p, f.err
}

func (f *fakePartners) Invite(_ context.Context, n partners.New, base string) (*store.Partner, error) {
	f.got, f.base = n, base
	return f.answer("invite")
}
func (f *fakePartners) List(_ context.Context, program string, limit int, cursor string) (partners.Page, error) {
	f.calls = append(f.calls, "list "+program+" "+itoa(limit)+" "+cursor)
	return f.page, f.err
}
func (f *fakePartners) Approve(_ context.Context, program, code, base string) (*store.Partner, error) {
	f.base = base
	return f.answer("approve " + program + " " + code)
}
func (f *fakePartners) Disable(_ context.Context, program, code string) (*store.Partner, error) {
	return f.answer("disable " + program + " " + code)
}
func (f *fakePartners) Enable(_ context.Context, program, code string) (*store.Partner, error) {
	return f.answer("enable " + program + " " + code)
}
func (f *fakePartners) ChangeCode(_ context.Context, program, from, to string) (*store.Partner, error) {
	return f.answer("code " + program + " " + from + " " + to)
}

func itoa(n int) string { return fmt.Sprintf("%03d", n) }

func partnersHandler(f *fakePartners) *Handler {
	return &Handler{Partners: f, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

var ann = &store.Partner{Referrer: referral.Referrer{ProgramID: "p1", Code: "ANN42", Email: "ann@agency.example", Name: "Ann",
	Status: referral.ReferrerInvited, CreatedAt: now}, Key: "ANN42"}

func TestAdminInvitesAPartner(t *testing.T) {
	f := &fakePartners{p: ann}
	req := request(http.MethodPost, "/admin/partners", nil, `{"program":"p1","email":"ann@agency.example","name":"Ann","code":"ANN42"}`)
	req.Headers["host"] = "api.example.com"
	a := call(t, partnersHandler(f), req)
	if a.status != http.StatusCreated || a.body["code"] != "ANN42" || a.body["status"] != "invited" || a.body["email_sent"] != true ||
		a.body["email"] != "ann@agency.example" {
		t.Fatalf("invite: %d %v", a.status, a.body)
	}
	if f.got != (partners.New{ProgramID: "p1", Email: "ann@agency.example", Name: "Ann", Code: "ANN42"}) || f.base != "https://api.example.com" {
		t.Fatalf("asked %+v at %q", f.got, f.base)
	}
	// Stored, but the email failed: 201 with email_sent false.
	f = &fakePartners{p: ann, err: errors.New("ses: throttled")}
	if a := call(t, partnersHandler(f), req); a.status != http.StatusCreated || a.body["email_sent"] != false {
		t.Fatalf("invite with a failed email: %d %v", a.status, a.body)
	}
}

func TestAdminPartnerErrors(t *testing.T) {
	invite := request(http.MethodPost, "/admin/partners", nil, `{"program":"p1","email":"x"}`)
	cases := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"invalid", &partners.Invalid{Fields: map[string]string{"email": "is not an email address"}}, 400, "invalid_request"},
		{"exists", partners.ErrExists, 409, "partner_exists"},
		{"code taken", partners.ErrCodeTaken, 409, "code_taken"},
		{"not found", partners.ErrNotFound, 404, "not_found"},
		{"wrong status", partners.ErrState, 409, "invalid_partner_status"},
		{"store down", errors.New("throttled"), 503, "temporarily_unavailable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := call(t, partnersHandler(&fakePartners{err: c.err}), invite)
			if a.status != c.status || errCode(a) != c.code {
				t.Fatalf("got %d %v, want %d %s", a.status, a.body, c.status, c.code)
			}
		})
	}
	for _, body := range []string{``, `[]`, `null`, `{"program":`} {
		f := &fakePartners{}
		a := call(t, partnersHandler(f), request(http.MethodPost, "/admin/partners", nil, body))
		if a.status != 400 || errCode(a) != "invalid_request" || len(f.calls) != 0 {
			t.Fatalf("body %q: %d %v (calls %v)", body, a.status, a.body, f.calls)
		}
	}
}

func TestAdminPartnerStatusAndCodeRoutes(t *testing.T) {
	params := map[string]string{"program": "p1", "code": "ANN42"}
	cases := []struct {
		route, body, call string
	}{
		{"/admin/partners/{program}/{code}/approve", "", "approve p1 ANN42"},
		{"/admin/partners/{program}/{code}/disable", "", "disable p1 ANN42"},
		{"/admin/partners/{program}/{code}/enable", "", "enable p1 ANN42"},
		{"/admin/partners/{program}/{code}/code", `{"code":"ANNA"}`, "code p1 ANN42 ANNA"},
	}
	for _, c := range cases {
		f := &fakePartners{p: ann}
		a := call(t, partnersHandler(f), request(http.MethodPost, c.route, params, c.body))
		if a.status != 200 || !reflect.DeepEqual(f.calls, []string{c.call}) || a.body["code"] != "ANN42" {
			t.Fatalf("%s: %d %v, calls %v", c.route, a.status, a.body, f.calls)
		}
		if _, ok := a.body["email_sent"]; ok != (c.call == "approve p1 ANN42") {
			t.Fatalf("%s: email_sent in %v", c.route, a.body)
		}
	}
}

func TestAdminListsPartners(t *testing.T) {
	f := &fakePartners{page: partners.Page{Partners: []store.Partner{*ann}, Next: "ANN42"}}
	req := request(http.MethodGet, "/admin/partners", nil, "")
	req.QueryStringParameters = map[string]string{"program": " P1 ", "limit": "50", "cursor": "AAA"}
	a := call(t, partnersHandler(f), req)
	list, _ := a.body["partners"].([]any)
	if a.status != 200 || len(list) != 1 || a.body["next"] != "ANN42" || a.body["program"] != "p1" || f.calls[0] != "list p1 050 AAA" {
		t.Fatalf("list: %d %v, calls %v", a.status, a.body, f.calls)
	}
	for q, code := range map[string]string{"": "invalid_request", "0": "invalid_request", "x": "invalid_request"} {
		req.QueryStringParameters = map[string]string{"limit": q}
		if q != "" {
			req.QueryStringParameters["program"] = "p1"
		}
		if a := call(t, partnersHandler(&fakePartners{}), req); a.status != 400 || errCode(a) != code {
			t.Fatalf("limit %q: %d %v", q, a.status, a.body)
		}
	}
	req.QueryStringParameters = map[string]string{"program": "nope"}
	if a := call(t, partnersHandler(&fakePartners{err: partners.ErrNotFound}), req); a.status != 404 {
		t.Fatalf("unknown program: %d", a.status)
	}
}
