package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/web/embed"
)

var now = time.Date(2026, 7, 1, 8, 30, 0, 0, time.UTC)

const chrome = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

type clickCall struct {
	program, code, visitor string
	at                     time.Time
}

type fakeStore struct {
	mu        sync.Mutex
	referrers map[string]*referral.Referrer
	programs  map[string]*program.Program
	codeErr   error
	progErr   error
	clickErr  error
	clickWait bool // RecordClick waits for its context to end
	clicks    []clickCall
}

func (f *fakeStore) ReferrerByCode(_ context.Context, code string) (*referral.Referrer, error) {
	if f.codeErr != nil {
		return nil, f.codeErr
	}
	r, ok := f.referrers[code]
	if !ok {
		return nil, store.ErrNotFound
	}
	return r, nil
}

func (f *fakeStore) CurrentProgram(_ context.Context, id string) (*program.Program, error) {
	if f.progErr != nil {
		return nil, f.progErr
	}
	p, ok := f.programs[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return p, nil
}

func (f *fakeStore) RecordClick(ctx context.Context, programID, code, visitor string, at time.Time) (bool, error) {
	if f.clickWait {
		<-ctx.Done()
		return false, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clicks = append(f.clicks, clickCall{programID, code, visitor, at})
	return true, f.clickErr
}

func setup() (*Handler, *fakeStore, *bytes.Buffer) {
	st := &fakeStore{
		referrers: map[string]*referral.Referrer{
			"ANN42":   {ProgramID: "partners", Code: "ANN42"},
			"BOB77":   {ProgramID: "partners", Code: "BOB77", Status: referral.ReferrerDisabled},
			"PEG11":   {ProgramID: "partners", Code: "PEG11", Status: referral.ReferrerPending},
			"GONE1":   {ProgramID: "deleted", Code: "GONE1"},
			"NOLAND1": {ProgramID: "bare", Code: "NOLAND1"},
		},
		programs: map[string]*program.Program{
			"partners": {ID: "partners", Links: program.Links{LandingURL: "https://partners.example.com/join?lang=en", Param: "via"}},
			"default":  {ID: "default", Links: program.Links{LandingURL: "https://www.example.com/"}},
			"bare":     {ID: "bare"},
		},
	}
	var logs bytes.Buffer
	h := &Handler{Store: st, DefaultProgram: "default", Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	return h, st, &logs
}

func request(route, path string, params map[string]string, query string, headers map[string]string) apigw.Request {
	if headers == nil {
		headers = map[string]string{"user-agent": chrome}
	}
	method, _, _ := strings.Cut(route, " ")
	return apigw.Request{
		RouteKey: route, RawPath: path, RawQueryString: query, PathParameters: params, Headers: headers,
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
			Method: method, Path: path, SourceIP: "203.0.113.9", UserAgent: headers["user-agent"],
		}},
	}
}

func follow(t *testing.T, h *Handler, code, query string, headers map[string]string) apigw.Response {
	t.Helper()
	resp, err := h.Handle(context.Background(), request(routeLink, "/r/"+code, map[string]string{"code": code}, query, headers))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestLinkRedirectsWithCodeAndUTMAndCountsTheClick(t *testing.T) {
	h, st, _ := setup()
	resp := follow(t, h, "ANN42", "utm_source=newsletter&utm_medium=email&gclid=abc&token=x", nil)
	want := "https://partners.example.com/join?lang=en&via=ANN42&utm_medium=email&utm_source=newsletter"
	if resp.StatusCode != http.StatusFound || resp.Headers["location"] != want || resp.Body != "" {
		t.Fatalf("%d %v %q", resp.StatusCode, resp.Headers, resp.Body)
	}
	for k, v := range map[string]string{"cache-control": "no-store", "referrer-policy": "strict-origin-when-cross-origin", "x-robots-tag": "noindex, nofollow"} {
		if resp.Headers[k] != v {
			t.Errorf("%s = %q, want %q", k, resp.Headers[k], v)
		}
	}
	wantClick := clickCall{"partners", "ANN42", "203.0.113.9\n" + chrome, now}
	if len(st.clicks) != 1 || st.clicks[0] != wantClick {
		t.Errorf("clicks %+v, want [%+v]", st.clicks, wantClick)
	}
}

func TestUnknownOrInactiveCodeGoesToTheDefaultLandingWithoutACode(t *testing.T) {
	for name, code := range map[string]string{
		"unknown":                   "NOPE99",
		"disabled partner":          "BOB77",
		"pending partner":           "PEG11",
		"program no longer there":   "GONE1",
		"not a code":                "a%2Fb",
		"too long":                  strings.Repeat("A", 65),
		"a code with a hash inside": "ANN42#x",
	} {
		t.Run(name, func(t *testing.T) {
			h, st, _ := setup()
			resp := follow(t, h, code, "utm_campaign=spring&ref=ANN42", nil)
			if resp.StatusCode != http.StatusFound || resp.Headers["location"] != "https://www.example.com/?utm_campaign=spring" {
				t.Fatalf("%d %v", resp.StatusCode, resp.Headers)
			}
			if len(st.clicks) != 0 {
				t.Errorf("clicks %+v, want none", st.clicks)
			}
		})
	}
}

func TestClicksNotCountedForBotsPrefetchAndHead(t *testing.T) {
	for name, headers := range map[string]map[string]string{
		"link unfurler": {"user-agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
		"no user agent": {},
		"curl":          {"user-agent": "curl/8.5.0"},
		"prefetch":      {"user-agent": chrome, "sec-purpose": "prefetch"},
		"prerender":     {"user-agent": chrome, "sec-purpose": "prefetch;prerender"},
		"preview":       {"user-agent": chrome, "x-purpose": "preview"},
	} {
		t.Run(name, func(t *testing.T) {
			h, st, _ := setup()
			if resp := follow(t, h, "ANN42", "", headers); resp.StatusCode != http.StatusFound || !strings.Contains(resp.Headers["location"], "via=ANN42") {
				t.Fatalf("%d %v", resp.StatusCode, resp.Headers)
			}
			if len(st.clicks) != 0 {
				t.Errorf("clicks %+v, want none", st.clicks)
			}
		})
	}
	h, st, _ := setup()
	req := request(routeLink, "/r/ANN42", map[string]string{"code": "ANN42"}, "", nil)
	req.RequestContext.HTTP.Method = http.MethodHead
	if resp, _ := h.Handle(context.Background(), req); resp.StatusCode != http.StatusFound || len(st.clicks) != 0 {
		t.Errorf("HEAD: %d, clicks %+v", resp.StatusCode, st.clicks)
	}
}

func TestClickFailureStillRedirects(t *testing.T) {
	h, st, logs := setup()
	st.clickErr = errors.New("throttled")
	resp := follow(t, h, "ANN42", "", nil)
	if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Headers["location"], "via=ANN42") {
		t.Fatalf("%d %v", resp.StatusCode, resp.Headers)
	}
	if !strings.Contains(logs.String(), "click not recorded") || strings.Contains(logs.String(), "203.0.113.9") {
		t.Errorf("log: %s", logs.String())
	}
}

func TestSlowClickWriteDelaysNoVisitorForLong(t *testing.T) {
	h, st, _ := setup()
	st.clickWait = true
	h.ClickTimeout = 30 * time.Millisecond
	start := time.Now()
	resp := follow(t, h, "ANN42", "", nil)
	if took := time.Since(start); resp.StatusCode != http.StatusFound || took > 2*time.Second {
		t.Fatalf("%d after %s", resp.StatusCode, took)
	}
}

func TestLinkOfAProgramWithoutLandingAnswersA404Page(t *testing.T) {
	for name, mod := range map[string]func(h *Handler, st *fakeStore){
		"the referrer's program has none": func(*Handler, *fakeStore) {},
		"the default program has none":    func(h *Handler, _ *fakeStore) { h.DefaultProgram = "bare" },
		"no default program":              func(h *Handler, _ *fakeStore) { h.DefaultProgram = "missing" },
	} {
		t.Run(name, func(t *testing.T) {
			h, st, _ := setup()
			mod(h, st)
			code := "NOLAND1"
			if name != "the referrer's program has none" {
				code = "NOPE99"
			}
			resp := follow(t, h, code, "", nil)
			if resp.StatusCode != http.StatusNotFound || resp.Headers["content-type"] != "text/html; charset=utf-8" ||
				!strings.Contains(resp.Body, "links.landing_url") || !strings.Contains(resp.Body, `<html lang="en">`) {
				t.Fatalf("%d %v\n%s", resp.StatusCode, resp.Headers, resp.Body)
			}
			if len(st.clicks) != 0 {
				t.Errorf("clicks %+v", st.clicks)
			}
		})
	}
}

func TestLinkLookupFailureAnswersA503PageToRetry(t *testing.T) {
	for name, mod := range map[string]func(st *fakeStore){
		"code":    func(st *fakeStore) { st.codeErr = errors.New("throttled") },
		"program": func(st *fakeStore) { st.progErr = errors.New("throttled") },
	} {
		h, st, _ := setup()
		mod(st)
		resp := follow(t, h, "ANN42", `utm_term="><script>`, nil)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Headers["retry-after"] != "5" || resp.Headers["cache-control"] != "no-store" {
			t.Fatalf("%s: %d %v", name, resp.StatusCode, resp.Headers)
		}
		if !strings.Contains(resp.Body, `href="/r/ANN42?utm_term=%22%3e%3cscript%3e"`) || strings.Contains(resp.Body, "<script>") {
			t.Errorf("%s: the retry link is not the escaped link:\n%s", name, resp.Body)
		}
	}
}

func TestScript(t *testing.T) {
	h, _, _ := setup()
	get := func(query string, headers map[string]string) apigw.Response {
		req := request(routeScript, "/embed.js", nil, query, headers)
		if query != "" {
			k, v, _ := strings.Cut(query, "=")
			req.QueryStringParameters = map[string]string{k: v}
		}
		resp, err := h.Handle(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := get("", nil)
	if resp.StatusCode != 200 || resp.Body != string(embed.Script()) || resp.Headers["content-type"] != "text/javascript; charset=utf-8" ||
		resp.Headers["cache-control"] != embed.CacheShort || resp.Headers["etag"] != embed.ETag() || resp.Headers["access-control-allow-origin"] != "*" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Headers)
	}
	if resp := get("v="+embed.Version, nil); resp.Headers["cache-control"] != embed.CacheImmutable {
		t.Errorf("versioned: %v", resp.Headers)
	}
	if resp := get("v=stale", nil); resp.Headers["cache-control"] != embed.CacheShort || resp.Body == "" {
		t.Errorf("stale version: %v", resp.Headers)
	}
	resp = get("", map[string]string{"if-none-match": embed.ETag()})
	if resp.StatusCode != http.StatusNotModified || resp.Body != "" || resp.Headers["etag"] != embed.ETag() {
		t.Errorf("revalidation: %d %v", resp.StatusCode, resp.Headers)
	}
}

func TestSettings(t *testing.T) {
	get := func(h *Handler, id string) apigw.Response {
		resp, err := h.Handle(context.Background(), request(routeSettings, "/embed/settings/"+id, map[string]string{"program": id}, "", nil))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	h, st, _ := setup()
	days := 30
	st.programs["partners"].Links.CookieDays = &days
	st.programs["partners"].Links.Attribution = program.AttributionFirst
	resp := get(h, "partners")
	want := `{"program":"partners","param":"via","cookie_days":30,"attribution":"first"}`
	if resp.StatusCode != 200 || resp.Body != want || resp.Headers["cache-control"] != "public, max-age=300" || resp.Headers["content-type"] != "application/json" {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	if resp := get(h, "bare"); resp.Body != `{"program":"bare","param":"ref","cookie_days":90,"attribution":"last"}` {
		t.Errorf("defaults: %s", resp.Body)
	}
	for _, id := range []string{"missing", "Bad_ID", ""} {
		if resp := get(h, id); resp.StatusCode != 404 || !strings.Contains(resp.Body, `"code":"not_found"`) {
			t.Errorf("%q: %d %s", id, resp.StatusCode, resp.Body)
		}
	}
	st.progErr = errors.New("throttled")
	if resp := get(h, "partners"); resp.StatusCode != 503 {
		t.Errorf("store failure: %d", resp.StatusCode)
	}
}

func TestUnknownRouteIsNotFound(t *testing.T) {
	h, _, _ := setup()
	resp, err := h.Handle(context.Background(), request("GET /elsewhere", "/elsewhere", nil, "", nil))
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
}

// The sample events in events/ (for sam local invoke) are answered as
// their README says.
func TestSampleEvents(t *testing.T) {
	for file, check := range map[string]func(apigw.Response) bool{
		"links-follow.json": func(r apigw.Response) bool {
			return r.StatusCode == http.StatusFound && r.Headers["location"] == "https://partners.example.com/join?lang=en&via=DEMO&utm_medium=email&utm_source=newsletter"
		},
		"links-embed.json": func(r apigw.Response) bool {
			return r.StatusCode == http.StatusOK && r.Headers["content-type"] == "text/javascript; charset=utf-8"
		},
	} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "events", file))
		if err != nil {
			t.Fatal(err)
		}
		var req apigw.Request
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		h, st, _ := setup()
		st.referrers["DEMO"] = &referral.Referrer{ProgramID: "partners", Code: "DEMO"}
		resp, err := h.Handle(context.Background(), req)
		if err != nil || !check(resp) {
			t.Errorf("%s: %d %v %v", file, resp.StatusCode, resp.Headers, err)
		}
		if file == "links-follow.json" && len(st.clicks) != 1 {
			t.Errorf("%s: clicks %+v, want the browser's click counted", file, st.clicks)
		}
	}
}
