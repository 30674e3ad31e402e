package httpapi

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRouterMatch(t *testing.T) {
	rt := NewRouter([]Route{
		{Method: "ANY", Path: "/{proxy+}", Function: "greedy"},
		{Method: "GET", Path: "/referrals/{id}", Function: "get"},
		{Method: "GET", Path: "/referrals/stats", Function: "stats"},
		{Method: "ANY", Path: "/referrals/{id}", Function: "any"},
		{Method: "POST", Path: "/webhooks/{provider}", Function: "webhook"},
		{Method: "POST", Path: "/referrals", Function: "intake"},
		{Method: "GET", Path: "/files/{proxy+}", Function: "files"},
	})
	cases := []struct {
		method, path, fn string
		params           map[string]string
	}{
		{"GET", "/referrals/stats", "stats", map[string]string{}},
		{"GET", "/referrals/r-1", "get", map[string]string{"id": "r-1"}},
		{"DELETE", "/referrals/r-1", "any", map[string]string{"id": "r-1"}},
		{"POST", "/referrals", "intake", map[string]string{}},
		{"POST", "/webhooks/hub%20spot", "webhook", map[string]string{"provider": "hub spot"}},
		{"GET", "/files/a/b/c", "files", map[string]string{"proxy": "a/b/c"}},
		{"GET", "/other/x", "greedy", map[string]string{"proxy": "other/x"}},
		{"GET", "/referrals", "greedy", map[string]string{"proxy": "referrals"}},
	}
	for _, c := range cases {
		r, params, ok := rt.Match(c.method, c.path)
		if !ok || r.Function != c.fn || !reflect.DeepEqual(params, c.params) {
			t.Errorf("%s %s -> %v %q %v, want %q %v", c.method, c.path, ok, r.Function, params, c.fn, c.params)
		}
	}
	rt = NewRouter([]Route{{Method: "POST", Path: "/referrals", Function: "intake"}})
	for _, c := range [][2]string{{"GET", "/referrals"}, {"POST", "/referrals/x"}, {"POST", "/"}} {
		if _, _, ok := rt.Match(c[0], c[1]); ok {
			t.Errorf("%s %s should not match", c[0], c[1])
		}
	}
	rt = NewRouter([]Route{{Method: "ANY", Path: "$default", Function: "d"}, {Method: "GET", Path: "/a", Function: "a"}})
	if r, _, _ := rt.Match("GET", "/a"); r.Function != "a" {
		t.Error("specific route must win over $default")
	}
	if r, _, _ := rt.Match("PUT", "/zzz"); r.Function != "d" || r.Key() != "$default" {
		t.Error("$default must catch the rest")
	}
}

func TestBuildEvent(t *testing.T) {
	r := httptest.NewRequest("POST", "http://abc123.execute-api.us-east-1.amazonaws.com/webhooks/hubspot?a=1&a=2&b=x%20y", strings.NewReader("k=v"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Add("X-Dup", "1")
	r.Header.Add("X-Dup", "2")
	r.Header.Add("Cookie", "s=1; t=2")
	r.RemoteAddr = "192.0.2.1:5555"
	now := time.Date(2020, 3, 12, 19, 3, 58, 390e6, time.UTC)
	ev := BuildEvent(r, EventInput{
		Route:      Route{Method: "POST", Path: "/webhooks/{provider}"},
		PathParams: map[string]string{"provider": "hubspot"},
		APIID:      "abc123", AccountID: "123456789012", RequestID: "req=", TraceID: "Root=1-x", Now: now, Body: []byte("k=v"),
	})
	if ev.Version != "2.0" || ev.RouteKey != "POST /webhooks/{provider}" || ev.RawPath != "/webhooks/hubspot" ||
		ev.RawQueryString != "a=1&a=2&b=x%20y" {
		t.Errorf("event: %+v", ev)
	}
	if !reflect.DeepEqual(ev.QueryStringParameters, map[string]string{"a": "1,2", "b": "x y"}) {
		t.Errorf("query %v", ev.QueryStringParameters)
	}
	if !reflect.DeepEqual(ev.Cookies, []string{"s=1", "t=2"}) || ev.Headers["cookie"] != "" {
		t.Errorf("cookies %v / %q", ev.Cookies, ev.Headers["cookie"])
	}
	if ev.Headers["x-dup"] != "1,2" || ev.Headers["content-type"] != "application/x-www-form-urlencoded" || ev.Headers["x-forwarded-for"] != "192.0.2.1" || ev.Headers["x-amzn-trace-id"] != "Root=1-x" {
		t.Errorf("headers %v", ev.Headers)
	}
	// A form post arrives base64 encoded, as on AWS.
	if !ev.IsBase64Encoded || ev.Body == nil || *ev.Body != "az12" {
		t.Errorf("body %v %v", ev.IsBase64Encoded, ev.Body)
	}
	rc := ev.RequestContext
	if rc.DomainName != "abc123.execute-api.us-east-1.amazonaws.com" || rc.DomainPrefix != "abc123" || rc.Stage != "$default" ||
		rc.Time != "12/Mar/2020:19:03:58 +0000" || rc.TimeEpoch != 1584039838390 || rc.HTTP.SourceIP != "192.0.2.1" || rc.HTTP.Method != "POST" {
		t.Errorf("requestContext %+v", rc)
	}
	// No body, no query: fields omitted.
	r = httptest.NewRequest("GET", "http://h/x", nil)
	ev = BuildEvent(r, EventInput{Route: Route{Method: "GET", Path: "/x"}, Now: now})
	if ev.Body != nil || ev.QueryStringParameters != nil || ev.PathParameters != nil || ev.Cookies != nil {
		t.Errorf("empty fields should be omitted: %+v", ev)
	}
}

func TestIsTextContentType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "text/plain": true, "application/vnd.api+json": true,
		"application/xml": true, "application/octet-stream": false, "application/x-www-form-urlencoded": false, "": false, "image/png": false,
	} {
		if got := IsTextContentType(ct); got != want {
			t.Errorf("%q: %v", ct, got)
		}
	}
}

func TestMapResponse(t *testing.T) {
	r, err := MapResponse([]byte(`{"statusCode":202,"headers":{"a":"1","n":5},"multiValueHeaders":{"m":["x","y"]},"cookies":["c=1","d=2"],"body":"aGk=","isBase64Encoded":true}`))
	if err != nil || r.Status != 202 || string(r.Body) != "hi" || r.Header.Get("A") != "1" || r.Header.Get("N") != "5" ||
		len(r.Header.Values("M")) != 2 || len(r.Header.Values("Set-Cookie")) != 2 {
		t.Errorf("structured: %+v %v", r, err)
	}
	r, err = MapResponse([]byte(`{"ok":true}`))
	if err != nil || r.Status != 200 || string(r.Body) != `{"ok":true}` || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("inferred: %+v %v", r, err)
	}
	r, err = MapResponse([]byte(`"hello"`))
	if err != nil || r.Status != 200 || string(r.Body) != `"hello"` {
		t.Errorf("string: %+v %v", r, err)
	}
	for _, bad := range []string{`not json`, `{"statusCode":"abc"}`, `{"statusCode":99}`, `{"statusCode":200,"body":"!","isBase64Encoded":true}`} {
		if _, err := MapResponse([]byte(bad)); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func TestCORS(t *testing.T) {
	c := &CORS{AllowOrigins: []string{"https://app.example.com", "https://*.example.org"}, AllowMethods: []string{"GET", "POST"},
		AllowHeaders: []string{"content-type"}, ExposeHeaders: []string{"x-id"}, MaxAge: 60, AllowCredentials: true}
	for origin, want := range map[string]string{
		"https://app.example.com": "https://app.example.com", "https://a.example.org": "https://a.example.org",
		"https://example.org": "", "http://a.example.org": "", "https://evil.com": "", "": "",
	} {
		if got := c.AllowOrigin(origin); got != want {
			t.Errorf("%q -> %q, want %q", origin, got, want)
		}
	}
	star := &CORS{AllowOrigins: []string{"*"}}
	if star.AllowOrigin("https://x") != "*" {
		t.Error("* without credentials answers *")
	}
	r := httptest.NewRequest("OPTIONS", "/x", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Access-Control-Request-Method", "POST")
	if !IsPreflight(r) {
		t.Fatal("preflight not detected")
	}
	h := c.Preflight(r)
	if h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || h.Get("Access-Control-Allow-Methods") != "GET,POST" ||
		h.Get("Access-Control-Allow-Headers") != "content-type" || h.Get("Access-Control-Max-Age") != "60" || h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight %v", h)
	}
	r.Header.Set("Origin", "https://evil.com")
	if len(c.Preflight(r)) != 0 {
		t.Error("disallowed origin gets no CORS headers")
	}
	resp := http.Header{"Access-Control-Allow-Origin": {"*"}, "X-Other": {"1"}}
	c.Apply("https://evil.com", resp)
	if resp.Get("Access-Control-Allow-Origin") != "" || resp.Get("X-Other") != "1" {
		t.Errorf("integration CORS headers must be dropped: %v", resp)
	}
	c.Apply("https://app.example.com", resp)
	if resp.Get("Access-Control-Allow-Origin") != "https://app.example.com" || resp.Get("Access-Control-Expose-Headers") != "x-id" {
		t.Errorf("apply %v", resp)
	}
	var none *CORS
	none.Apply("https://x", resp) // nil CORS is a no-op
}
