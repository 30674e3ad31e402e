package console

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/web/websession"
)

// sectionSessions is a signed-in operator's session store that keeps the
// audit entries written (the KPI, partners and programs page tests).
type sectionSessions struct {
	Sessions // the rest is not used by these pages
	audit    []store.AuditEntry
}

const testOperator = "ops@example.com"
const testSessionID = "session-id-for-section-tests"

func (s *sectionSessions) SessionAt(_ context.Context, hash string, _ time.Time) (*store.Session, error) {
	if hash != websession.Hash(testSessionID) {
		return nil, store.ErrNotFound
	}
	return &store.Session{Kind: store.SessionOperator, Operator: testOperator}, nil
}

func (s *sectionSessions) PutAudit(_ context.Context, e store.AuditEntry) error {
	s.audit = append(s.audit, e)
	return nil
}

var sectionNow = time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC)

// sectionHandler is a console handler for a signed-in operator.
func sectionHandler(t *testing.T) (*Handler, *sectionSessions) {
	t.Helper()
	ss := &sectionSessions{}
	keys, err := privacy.NewHasher("test-secret-test-secret-test-secret")
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Sessions: ss, Operators: []string{testOperator}, Now: func() time.Time { return sectionNow },
		Keys: func(context.Context) (*privacy.Hasher, error) { return keys, nil }, Random: strings.NewReader(strings.Repeat("r", 4096)),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), ProgramIDs: []string{"b2b"}}
	return h, ss
}

// get answers a signed-in GET of path?query.
func get(t *testing.T, h *Handler, path string, q map[string]string) apigw.Response {
	t.Helper()
	req := apigw.Request{RawPath: path, QueryStringParameters: q, Cookies: []string{SessionCookie + "=" + testSessionID},
		Headers: map[string]string{"host": "console.test"}}
	req.RequestContext.HTTP.Method = "GET"
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// post answers a signed-in POST of form (with the session's CSRF token).
func post(t *testing.T, h *Handler, path string, form url.Values) apigw.Response {
	t.Helper()
	form.Set("csrf", websession.CSRF(csrfLabel, testSessionID))
	req := apigw.Request{RawPath: path, Body: form.Encode(), Cookies: []string{SessionCookie + "=" + testSessionID},
		Headers: map[string]string{"host": "console.test", "origin": "https://console.test", "content-type": "application/x-www-form-urlencoded"}}
	req.RequestContext.HTTP.Method = "POST"
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func contains(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func anonymous(path string) apigw.Request {
	req := apigw.Request{RawPath: path, Headers: map[string]string{"host": "console.test"}}
	req.RequestContext.HTTP.Method = "GET"
	return req
}
