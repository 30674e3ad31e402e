package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/crm/providers"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/settings"
)

type fakeAdapter struct {
	authErr  error
	parseErr error
	events   []crm.Event
	authed   []crm.Request
	parsed   int
}

func (a *fakeAdapter) Authenticate(r crm.Request) error {
	a.authed = append(a.authed, r)
	return a.authErr
}
func (a *fakeAdapter) Parse(r crm.Request) ([]crm.Event, error) {
	a.parsed++
	return a.events, a.parseErr
}

// ackAdapter answers like Salesforce.
type ackAdapter struct{ fakeAdapter }

func (a *ackAdapter) Ack() (string, []byte) {
	return "text/xml; charset=utf-8", []byte("<Ack>true</Ack>")
}
func (a *ackAdapter) Nack(msg string) (string, []byte) {
	return "text/xml; charset=utf-8", []byte("<Fault>" + msg + "</Fault>")
}

type fakeIngest struct {
	calls [][]crm.Event
	sum   crm.Summary
	err   error
}

func (f *fakeIngest) ingest(_ context.Context, evs []crm.Event) (crm.Summary, error) {
	f.calls = append(f.calls, evs)
	return f.sum, f.err
}

func handler(a crm.Adapter, adapterErr error, ing *fakeIngest, metricsOut io.Writer) *Handler {
	return &Handler{
		Adapters: func(_ context.Context, provider string) (crm.Adapter, error) {
			if provider != "fake" {
				return nil, fmt.Errorf("%w: %q", ErrUnknownProvider, provider)
			}
			return a, adapterErr
		},
		Ingest:        ing.ingest,
		PublicBaseURL: "https://hooks.example.com",
		Log:           slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:       metrics.New(metricsOut, "webhook", func() time.Time { return time.Unix(0, 0) }),
	}
}

func req(provider, body string) apigw.Request {
	r := apigw.Request{Body: body, RawPath: "/webhooks/" + provider, RawQueryString: "token=abc",
		PathParameters: map[string]string{"provider": provider}, Headers: map[string]string{"content-type": "application/json", "x-sig": "s"}}
	r.RequestContext.HTTP.Method = "POST"
	return r
}

func errCode(t *testing.T, resp apigw.Response) string {
	t.Helper()
	var b apigw.ErrorBody
	if err := json.Unmarshal([]byte(resp.Body), &b); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return b.Error.Code
}

func TestWebhookAnswers(t *testing.T) {
	evs := []crm.Event{{Provider: "fake", ID: "1"}, {Provider: "fake", ID: "2"}}
	sum := crm.Summary{Received: 2, Outcomes: map[string]int{"milestone": 1, "untracked": 1}}
	cases := []struct {
		name       string
		provider   string
		body       string
		adapter    *fakeAdapter
		adapterErr error
		ingErr     error
		status     int
		code       string // error code, "" for success
		wantIngest bool
		wantParse  bool
	}{
		{"unknown provider", "nope", "{}", &fakeAdapter{}, nil, nil, 404, "not_found", false, false},
		{"adapter not configured", "fake", "{}", &fakeAdapter{}, fmt.Errorf("x: %w", settings.ErrMissing), nil, 503, "temporarily_unavailable", false, false},
		{"bad signature", "fake", "{}", &fakeAdapter{authErr: fmt.Errorf("%w: mismatch", crm.ErrUnauthorized)}, nil, nil, 401, "invalid_signature", false, false},
		{"malformed", "fake", "{", &fakeAdapter{parseErr: fmt.Errorf("%w: eof", crm.ErrMalformed)}, nil, nil, 400, "invalid_payload", false, true},
		{"unauthorized found while parsing", "fake", "{}", &fakeAdapter{parseErr: fmt.Errorf("%w: org", crm.ErrUnauthorized)}, nil, nil, 401, "invalid_signature", false, true},
		{"too large", "fake", strings.Repeat("x", MaxBody+1), &fakeAdapter{}, nil, nil, 413, "body_too_large", false, false},
		{"ingest fails", "fake", "{}", &fakeAdapter{events: evs}, nil, errors.New("throttled"), 503, "temporarily_unavailable", true, true},
		{"success", "fake", "{}", &fakeAdapter{events: evs}, nil, nil, 200, "", true, true},
		{"provider case-insensitive", "FAKE", "{}", &fakeAdapter{events: evs}, nil, nil, 200, "", true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ing := &fakeIngest{sum: sum, err: c.ingErr}
			var m bytes.Buffer
			h := handler(c.adapter, c.adapterErr, ing, &m)
			resp, err := h.Handle(context.Background(), req(c.provider, c.body))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, c.status, resp.Body)
			}
			if c.code != "" {
				if got := errCode(t, resp); got != c.code {
					t.Fatalf("code %q, want %q", got, c.code)
				}
			} else if resp.Body != `{"received":2,"outcomes":{"milestone":1,"untracked":1}}` {
				t.Fatalf("body %s", resp.Body)
			}
			if (len(ing.calls) == 1) != c.wantIngest || len(ing.calls) > 1 {
				t.Fatalf("ingest called %d times", len(ing.calls))
			}
			if c.wantIngest && !reflect.DeepEqual(ing.calls[0], evs) {
				t.Fatalf("ingested %+v", ing.calls[0])
			}
			if (c.adapter.parsed == 1) != c.wantParse {
				t.Fatalf("parsed %d times", c.adapter.parsed)
			}
			if c.status == 401 && !strings.Contains(m.String(), "WebhookSignatureFailures") {
				t.Fatalf("signature failure not counted: %s", m.String())
			}
			if c.status == 503 && c.ingErr != nil && resp.Headers["retry-after"] == "" {
				t.Fatal("503 without retry-after")
			}
		})
	}
}

func TestWebhookRawRequest(t *testing.T) {
	a := &fakeAdapter{}
	ing := &fakeIngest{sum: crm.Summary{Outcomes: map[string]int{}}}
	h := handler(a, nil, ing, io.Discard)
	r := req("fake", "")
	r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte("raw\x00bytes")), true
	r.Headers["X-Custom-Header"] = "v"
	if resp, _ := h.Handle(context.Background(), r); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	got := a.authed[0]
	if string(got.Body) != "raw\x00bytes" || got.Method != "POST" || got.URL != "https://hooks.example.com/webhooks/fake?token=abc" ||
		got.Headers.Get("X-Custom-Header") != "v" || got.Headers.Get("x-sig") != "s" {
		t.Fatalf("raw request %+v", got)
	}
	// Bad base64 is a bad payload, never authenticated.
	a2 := &fakeAdapter{}
	r.Body = "!!!"
	if resp, _ := handler(a2, nil, ing, io.Discard).Handle(context.Background(), r); resp.StatusCode != 400 || len(a2.authed) != 0 {
		t.Fatalf("%d", resp.StatusCode)
	}
}

func TestWebhookAcknowledger(t *testing.T) {
	for _, fail := range []bool{false, true} {
		a := &ackAdapter{fakeAdapter{events: []crm.Event{{ID: "1"}}}}
		ing := &fakeIngest{sum: crm.Summary{Received: 1, Outcomes: map[string]int{"milestone": 1}}}
		if fail {
			ing.err = errors.New("throttled")
		}
		resp, _ := handler(a, nil, ing, io.Discard).Handle(context.Background(), req("fake", "<soap/>"))
		if resp.Headers["content-type"] != "text/xml; charset=utf-8" {
			t.Fatalf("content-type %q", resp.Headers["content-type"])
		}
		if fail {
			if resp.StatusCode != 503 || resp.Body != "<Fault>temporarily unavailable, retry</Fault>" || resp.Headers["retry-after"] != "5" {
				t.Fatalf("nack %+v", resp)
			}
		} else if resp.StatusCode != 200 || resp.Body != "<Ack>true</Ack>" {
			t.Fatalf("ack %+v", resp)
		}
	}
}

// fakeSettings serves settings from a map; a missing one is ErrMissing.
type fakeSettings map[string]string

func (f fakeSettings) Get(_ context.Context, name string) (string, error) {
	v, ok := f[name]
	if !ok {
		return "", fmt.Errorf("%s: %w", name, settings.ErrMissing)
	}
	return v, nil
}

func (f fakeSettings) Values(ctx context.Context, name string) ([]string, error) {
	v, err := f.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

func TestHubSpotThroughRegistry(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	reg := &Registry{Providers: providers.All(), Settings: fakeSettings{"REFERFLOW_HUBSPOT_CLIENT_SECRET": "old-secret, new-secret"}, Now: clock}
	body := `[{"eventId":101,"subscriptionType":"deal.propertyChange","objectId":555,"occurredAt":1785585600000,"propertyName":"dealstage","propertyValue":"closedwon"}]`
	const base = "https://hooks.example.com"
	signed := func(body string, secret string, ts time.Time) apigw.Request {
		r := req("hubspot", body)
		r.RawQueryString = ""
		sig := hubspot.SignV3(secret, "POST", base+"/webhooks/hubspot", []byte(body), ts)
		r.Headers = map[string]string{"content-type": "application/json", "x-hubspot-signature-v3": sig,
			"x-hubspot-request-timestamp": strconv.FormatInt(ts.UnixMilli(), 10)}
		return r
	}
	newH := func(ing *fakeIngest) *Handler {
		return &Handler{Adapters: reg.Adapter, Ingest: ing.ingest, PublicBaseURL: base, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	cases := []struct {
		name   string
		req    apigw.Request
		status int
	}{
		{"signed with the new secret", signed(body, "new-secret", now), 200},
		{"signed with the old secret", signed(body, "old-secret", now.Add(-4*time.Minute)), 200},
		{"tampered body", func() apigw.Request {
			r := signed(body, "new-secret", now)
			r.Body = strings.Replace(body, "closedwon", "closedlost", 1)
			return r
		}(), 401},
		{"wrong secret", signed(body, "guess", now), 401},
		{"too old", signed(body, "new-secret", now.Add(-6*time.Minute)), 401},
		{"unsigned", func() apigw.Request {
			r := signed(body, "new-secret", now)
			delete(r.Headers, "x-hubspot-signature-v3")
			return r
		}(), 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ing := &fakeIngest{sum: crm.Summary{Received: 1, Outcomes: map[string]int{"milestone": 1}}}
			resp, err := newH(ing).Handle(context.Background(), c.req)
			if err != nil || resp.StatusCode != c.status {
				t.Fatalf("%d %s (%v)", resp.StatusCode, resp.Body, err)
			}
			if c.status != 200 {
				if len(ing.calls) != 0 || errCode(t, resp) != "invalid_signature" {
					t.Fatalf("rejected delivery reached ingestion or wrong code: %s", resp.Body)
				}
				return
			}
			want := []crm.Event{{Provider: "hubspot", ID: "101", Kind: crm.KindStageChanged, RecordID: "555", Stage: "closedwon", OccurredAt: time.UnixMilli(1785585600000).UTC()}}
			if len(ing.calls) != 1 || !reflect.DeepEqual(ing.calls[0], want) {
				t.Fatalf("ingested %+v", ing.calls)
			}
		})
	}
	// A provider without its secret configured is 503, not 401.
	empty := &Registry{Providers: providers.All(), Settings: fakeSettings{}, Now: clock}
	ing := &fakeIngest{}
	h := &Handler{Adapters: empty.Adapter, Ingest: ing.ingest, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, p := range []string{"hubspot", "salesforce", "pipedrive", "generic"} {
		resp, _ := h.Handle(context.Background(), req(p, "{}"))
		if resp.StatusCode != 503 {
			t.Errorf("%s unconfigured: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := h.Handle(context.Background(), req("zoho", "{}")); resp.StatusCode != 404 {
		t.Errorf("unknown provider: %d", resp.StatusCode)
	}
	if len(ing.calls) != 0 {
		t.Fatal("ingested without an adapter")
	}
}
