package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/referflow/referflow/internal/events"
)

// fakePeople records erasures; each email has a number of referrals left.
type fakePeople struct {
	left  map[string]int
	calls []string
	actor string
	at    time.Time
	err   error
}

func (f *fakePeople) ErasePerson(_ context.Context, email, actor string, now time.Time) (int, error) {
	f.calls = append(f.calls, email)
	f.actor, f.at = actor, now
	if f.err != nil {
		return 0, f.err
	}
	n := f.left[email]
	f.left[email] = 0
	return n, nil
}

func eraseHandler(p People, logs *bytes.Buffer) *Handler {
	return &Handler{People: p, Now: func() time.Time { return now }, Log: slog.New(slog.NewJSONHandler(logs, nil))}
}

func eraseReq(body string) lambdaevents.APIGatewayV2HTTPRequest {
	return request(http.MethodPost, "/admin/people/erase", nil, body)
}

func TestErasePerson(t *testing.T) {
	p := &fakePeople{left: map[string]int{"jane@acme.example": 2}}
	var logs bytes.Buffer
	h := eraseHandler(p, &logs)
	a := call(t, h, eraseReq(`{"email":" Jane@ACME.example "}`))
	if a.status != 200 || a.body["erased"] != float64(2) {
		t.Fatalf("answer %d %v, want 200 {erased: 2}", a.status, a.body)
	}
	if len(p.calls) != 1 || p.calls[0] != "jane@acme.example" || p.actor != events.ActorAdmin || !p.at.Equal(now) {
		t.Fatalf("ErasePerson calls %v by %s at %v", p.calls, p.actor, p.at)
	}
	// A repeat erases nothing more and says so.
	if a := call(t, h, eraseReq(`{"email":"jane@acme.example"}`)); a.status != 200 || a.body["erased"] != float64(0) {
		t.Fatalf("repeat: %d %v, want 200 {erased: 0}", a.status, a.body)
	}
	if strings.Contains(strings.ToLower(logs.String()), "jane") || strings.Contains(logs.String(), "acme") {
		t.Fatalf("the email is in the logs: %s", logs.String())
	}
}

func TestErasePersonRefusesBadRequests(t *testing.T) {
	for _, c := range []struct {
		name, body string
		status     int
		code       string
		field      string
	}{
		{"no body", "", 400, "invalid_request", "body"},
		{"not an object", `["jane@acme.example"]`, 400, "invalid_request", "body"},
		{"no email", `{}`, 400, "invalid_request", "email"},
		{"not an email", `{"email":"jane"}`, 400, "invalid_request", "email"},
		{"too large", `{"email":"` + strings.Repeat("a", maxBody) + `@acme.example"}`, 413, "body_too_large", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &fakePeople{left: map[string]int{}}
			a := call(t, eraseHandler(p, &bytes.Buffer{}), eraseReq(c.body))
			if a.status != c.status || errCode(a) != c.code {
				t.Fatalf("answer %d %v, want %d %s", a.status, a.body, c.status, c.code)
			}
			if c.field != "" {
				fields, _ := a.body["error"].(map[string]any)["fields"].(map[string]any)
				if _, ok := fields[c.field]; !ok {
					t.Fatalf("fields %v do not name %s", fields, c.field)
				}
			}
			if len(p.calls) != 0 {
				t.Fatal("a bad request erased something")
			}
		})
	}
}

func TestErasePersonFailureIs503(t *testing.T) {
	p := &fakePeople{left: map[string]int{}, err: errors.New("throttled")}
	if a := call(t, eraseHandler(p, &bytes.Buffer{}), eraseReq(`{"email":"jane@acme.example"}`)); a.status != 503 || errCode(a) != "temporarily_unavailable" {
		t.Fatalf("answer %d %v, want 503", a.status, a.body)
	}
	if a := call(t, eraseHandler(nil, &bytes.Buffer{}), eraseReq(`{"email":"jane@acme.example"}`)); a.status != 503 {
		t.Fatalf("without a store: %d %v, want 503", a.status, a.body)
	}
}
