package apigw

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestBody(t *testing.T) {
	cases := []struct {
		name    string
		req     Request
		want    string
		wantErr bool
	}{
		{"plain", Request{Body: `{"a":1}`}, `{"a":1}`, false},
		{"empty", Request{}, "", false},
		{"base64", Request{Body: base64.StdEncoding.EncodeToString([]byte("a=1&b=\x00\xff")), IsBase64Encoded: true}, "a=1&b=\x00\xff", false},
		{"bad base64", Request{Body: "not base64!!", IsBase64Encoded: true}, "", true},
		{"plain text that looks like base64 is kept", Request{Body: "aGVsbG8="}, "aGVsbG8=", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Body(&c.req)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if string(got) != c.want {
				t.Fatalf("Body = %q, want %q", got, c.want)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	r := &Request{Headers: map[string]string{"content-type": "application/json", "X-HubSpot-Signature-v3": "sig", "idempotency-key": "k1"}}
	cases := map[string]string{
		"content-type":           "application/json",
		"Content-Type":           "application/json",
		"CONTENT-TYPE":           "application/json",
		"x-hubspot-signature-v3": "sig",
		"X-HUBSPOT-SIGNATURE-V3": "sig",
		"Idempotency-Key":        "k1",
		"missing":                "",
	}
	for name, want := range cases {
		if got := Header(r, name); got != want {
			t.Errorf("Header(%q) = %q, want %q", name, got, want)
		}
	}
	if got := Header(&Request{}, "accept"); got != "" {
		t.Errorf("nil headers: %q", got)
	}
	h := Headers(r)
	if h.Get("X-Hubspot-Signature-V3") != "sig" || h.Get("content-type") != "application/json" {
		t.Errorf("Headers = %v", h)
	}
}

func TestMediaType(t *testing.T) {
	for ct, want := range map[string]string{
		"application/json":                                "application/json",
		"Application/JSON; charset=UTF-8":                 "application/json",
		"application/x-www-form-urlencoded;charset=utf-8": "application/x-www-form-urlencoded",
		"":            "",
		"text/plain":  "text/plain",
		"garbage;;;=": "",
		"multipart/form-data; boundary=----WebKitFormXyZ": "multipart/form-data",
	} {
		r := &Request{Headers: map[string]string{"content-type": ct}}
		if got := MediaType(r); got != want {
			t.Errorf("MediaType(%q) = %q, want %q", ct, got, want)
		}
	}
}

func TestURL(t *testing.T) {
	base := func(h map[string]string) Request {
		r := Request{RawPath: "/webhooks/hubspot", RawQueryString: "token=a%20b&x=1", Headers: h}
		r.RequestContext.DomainName = "abc123.execute-api.eu-west-1.amazonaws.com"
		return r
	}
	cases := []struct {
		name       string
		req        Request
		publicBase string
		want       string
	}{
		{"request context domain", base(nil), "", "https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/hubspot?token=a%20b&x=1"},
		{"host header", base(map[string]string{"host": "api.example.com"}), "", "https://api.example.com/webhooks/hubspot?token=a%20b&x=1"},
		{"forwarded host and proto", base(map[string]string{"host": "inner", "x-forwarded-host": "hooks.example.com", "x-forwarded-proto": "http"}), "", "http://hooks.example.com/webhooks/hubspot?token=a%20b&x=1"},
		{"public base wins", base(map[string]string{"host": "inner", "x-forwarded-host": "x"}), "https://example.com/api/", "https://example.com/api/webhooks/hubspot?token=a%20b&x=1"},
		{"no query", func() Request { r := base(map[string]string{"host": "h.io"}); r.RawQueryString = ""; return r }(), "", "https://h.io/webhooks/hubspot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := URL(&c.req, c.publicBase); got != c.want {
				t.Fatalf("URL = %q, want %q", got, c.want)
			}
		})
	}
}

func TestFieldsJSON(t *testing.T) {
	allowed := []string{"a", "n", "b", "obj", "arr", "nul", "f"}
	cases := []struct {
		name    string
		body    string
		want    map[string]string
		bad     map[string]string
		wantErr bool
	}{
		{"strings", `{"a":" x ","f":"y"}`, map[string]string{"a": " x ", "f": "y"}, nil, false},
		{"numbers and booleans", `{"n":250,"b":true,"f":1.5}`, map[string]string{"n": "250", "b": "true", "f": "1.5"}, nil, false},
		{"false and negative", `{"b":false,"n":-3}`, map[string]string{"b": "false", "n": "-3"}, nil, false},
		{"null is absent", `{"nul":null,"a":"x"}`, map[string]string{"a": "x"}, nil, false},
		{"unknown fields dropped", `{"a":"x","zzz":"y","other":{"deep":1}}`, map[string]string{"a": "x"}, nil, false},
		{"nested object names the field", `{"a":"x","obj":{"k":"v"}}`, map[string]string{"a": "x"}, map[string]string{"obj": "must be a string"}, false},
		{"array names the field", `{"arr":["x"],"n":1}`, map[string]string{"n": "1"}, map[string]string{"arr": "must be a string"}, false},
		{"array body", `["a"]`, nil, nil, true},
		{"string body", `"a"`, nil, nil, true},
		{"number body", `12`, nil, nil, true},
		{"null body", `null`, nil, nil, true},
		{"truncated", `{"a":"x"`, nil, nil, true},
		{"empty body", ``, nil, nil, true},
		{"empty object", `{}`, map[string]string{}, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, bad, err := Fields("application/json", []byte(c.body), allowed)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if c.wantErr {
				return
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("fields = %#v, want %#v", got, c.want)
			}
			if !reflect.DeepEqual(bad, c.bad) {
				t.Errorf("bad = %#v, want %#v", bad, c.bad)
			}
		})
	}
}

func TestFieldsForm(t *testing.T) {
	allowed := []string{"referee_email", "referee_company", "message", "_gotcha"}
	got, bad, err := Fields("application/x-www-form-urlencoded",
		[]byte("referee_email=bob%40acme.io&referee_company=Acme+Inc&message=a%26b%3Dc&message=second&evil=1&_gotcha="), allowed)
	if err != nil || bad != nil {
		t.Fatalf("err = %v, bad = %v", err, bad)
	}
	want := map[string]string{"referee_email": "bob@acme.io", "referee_company": "Acme Inc", "message": "a&b=c", "_gotcha": ""}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fields = %#v, want %#v", got, want)
	}
	if _, _, err := Fields("application/x-www-form-urlencoded", []byte("referee_email=%zz"), allowed); err == nil {
		t.Fatal("a bad escape must be an error")
	}
	if _, _, err := Fields("text/plain", []byte("x"), allowed); err == nil || !strings.Contains(err.Error(), "text/plain") {
		t.Fatalf("unsupported media type: err = %v", err)
	}
}

func TestPrefersHTML(t *testing.T) {
	cases := map[string]bool{
		"":                 false,
		"text/html":        true,
		"application/json": false,
		"*/*":              false,
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8": true,
		"application/json, text/html":                                     false,
		"text/html, application/json":                                     true,
		"text/html;q=0.5, application/json":                               false,
		"application/json;q=0.5, text/html":                               true,
		"application/json;q=0.5, text/html;q=0.9":                         true,
		"text/html;q=0":                                                   false,
		"text/html;q=0, */*":                                              false,
		"image/png, text/plain":                                           false,
		"TEXT/HTML":                                                       true,
	}
	for accept, want := range cases {
		r := &Request{Headers: map[string]string{"accept": accept}}
		if got := PrefersHTML(r); got != want {
			t.Errorf("PrefersHTML(%q) = %v, want %v", accept, got, want)
		}
	}
}

func TestErrorShape(t *testing.T) {
	r := Error(http.StatusBadRequest, "invalid_request", "some fields are missing", map[string]string{"referee_email": "is required"})
	if r.StatusCode != 400 {
		t.Fatalf("status %d", r.StatusCode)
	}
	if r.Body != `{"error":{"code":"invalid_request","message":"some fields are missing","fields":{"referee_email":"is required"}}}` {
		t.Fatalf("body %s", r.Body)
	}
	if r.Headers["content-type"] != "application/json" || r.Headers["cache-control"] != "no-store" {
		t.Fatalf("headers %v", r.Headers)
	}
	// fields only where a field is at fault.
	r = Error(http.StatusNotFound, "not_found", "no such thing", nil)
	if r.Body != `{"error":{"code":"not_found","message":"no such thing"}}` {
		t.Fatalf("body %s", r.Body)
	}
	r = Error(http.StatusNotFound, "not_found", "x", map[string]string{})
	if strings.Contains(r.Body, "fields") {
		t.Fatalf("empty fields written: %s", r.Body)
	}
}

func TestJSONAndCommonAnswers(t *testing.T) {
	r := JSON(http.StatusAccepted, map[string]any{"referral_id": "ref_1", "n": 2})
	if r.StatusCode != 202 || r.Body != `{"n":2,"referral_id":"ref_1"}` || r.Headers["content-type"] != "application/json" || r.Headers["cache-control"] != "no-store" {
		t.Fatalf("JSON = %+v", r)
	}
	r = JSON(http.StatusOK, map[string]any{"bad": make(chan int)})
	var eb ErrorBody
	if r.StatusCode != 500 || json.Unmarshal([]byte(r.Body), &eb) != nil || eb.Error.Code != "internal_error" {
		t.Fatalf("unencodable value: %+v", r)
	}
	r = TooLarge(16384)
	if r.StatusCode != 413 || r.Body != `{"error":{"code":"body_too_large","message":"the body is larger than 16384 bytes"}}` {
		t.Fatalf("TooLarge = %+v", r)
	}
	r = Unavailable()
	if r.StatusCode != 503 || r.Headers["retry-after"] != "5" || r.Body != `{"error":{"code":"temporarily_unavailable","message":"try again shortly"}}` {
		t.Fatalf("Unavailable = %+v", r)
	}
	// Each call is a fresh map: setting a header on one answer does not leak.
	r.Headers["x"] = "y"
	if _, ok := Unavailable().Headers["x"]; ok {
		t.Fatal("Unavailable shares its header map")
	}
	var _ events.APIGatewayV2HTTPResponse = r
}
