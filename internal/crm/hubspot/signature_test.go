package hubspot

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
)

// Official vectors from HubSpot's developer documentation ("Validate requests
// from HubSpot", signatures v1, v2 and v3); docs/crm/hubspot.md says how
// Referflow checks them.
const (
	vecSecret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
	vecURL    = "https://www.example.com/webhook_uri"
	vecBatch  = `[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`
	vecSingle = `{'example_field':'example_value'}`
	vecDouble = `{"example_field":"example_value"}`
	vecV3TS   = int64(1693657560000)
)

func TestOfficialVectors(t *testing.T) {
	tests := []struct {
		name    string
		version string
		method  string
		body    string
		want    string
	}{
		{"v1 batch", "v1", "POST", vecBatch, "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"},
		{"v1 single quotes", "v1", "POST", vecSingle, "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750"},
		{"v2 GET empty body", "v2", "GET", "", "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"},
		{"v2 POST json", "v2", "POST", vecDouble, "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900"},
		{"v2 POST single quotes", "v2", "POST", vecSingle, "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383"},
		{"v3 POST single quotes", "v3", "POST", vecSingle, "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			h := http.Header{}
			switch tt.version {
			case "v1":
				got = SignV1(vecSecret, []byte(tt.body))
				h.Set(HeaderSignature, tt.want)
				h.Set(HeaderSignatureVersion, "v1")
			case "v2":
				got = SignV2(vecSecret, tt.method, vecURL, []byte(tt.body))
				h.Set(HeaderSignature, tt.want)
				h.Set(HeaderSignatureVersion, "v2")
			case "v3":
				got = SignV3(vecSecret, tt.method, vecURL, []byte(tt.body), time.UnixMilli(vecV3TS))
				h.Set(HeaderSignatureV3, tt.want)
				h.Set(HeaderTimestamp, strconv.FormatInt(vecV3TS, 10))
			}
			if got != tt.want {
				t.Fatalf("sign = %s, want %s", got, tt.want)
			}
			// The adapter accepts the official signature (clock injected:
			// the vector's timestamp is long expired).
			a := newAdapter(t, time.UnixMilli(vecV3TS+1000), vecSecret)
			r := crm.Request{Method: tt.method, URL: vecURL, Headers: h, Body: []byte(tt.body)}
			if err := a.Authenticate(r); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
		})
	}
}

func newAdapter(t testing.TB, now time.Time, secrets ...string) *Adapter {
	t.Helper()
	a, err := New(Config{ClientSecrets: secrets}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func v3Request(secret, method, url, body string, ts time.Time) crm.Request {
	h := http.Header{}
	h.Set(HeaderSignatureV3, SignV3(secret, method, url, []byte(body), ts))
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.UnixMilli(), 10))
	return crm.Request{Method: method, URL: url, Headers: h, Body: []byte(body)}
}

func TestAuthenticateRejections(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	const url = "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/hubspot"
	body := `[{"eventId":1}]`
	good := func() crm.Request { return v3Request("s3cret", "POST", url, body, now) }
	tests := []struct {
		name   string
		mutate func(r *crm.Request)
		cfg    Config
	}{
		{"wrong secret", func(r *crm.Request) { *r = v3Request("other", "POST", url, body, now) }, Config{}},
		{"missing every signature header", func(r *crm.Request) { r.Headers = http.Header{} }, Config{}},
		{"missing timestamp", func(r *crm.Request) { r.Headers.Del(HeaderTimestamp) }, Config{}},
		{"non-numeric timestamp", func(r *crm.Request) { r.Headers.Set(HeaderTimestamp, "soon") }, Config{}},
		{"stale timestamp (300001 ms)", func(r *crm.Request) {
			*r = v3Request("s3cret", "POST", url, body, now.Add(-MaxSkew-time.Millisecond))
		}, Config{}},
		{"future timestamp (300001 ms)", func(r *crm.Request) {
			*r = v3Request("s3cret", "POST", url, body, now.Add(MaxSkew+time.Millisecond))
		}, Config{}},
		{"timestamp header swapped after signing", func(r *crm.Request) {
			r.Headers.Set(HeaderTimestamp, strconv.FormatInt(now.UnixMilli()+1, 10))
		}, Config{}},
		{"bad base64", func(r *crm.Request) { r.Headers.Set(HeaderSignatureV3, "!!not base64!!") }, Config{}},
		{"tampered body", func(r *crm.Request) { r.Body = []byte(`[{"eventId":2}]`) }, Config{}},
		{"other method", func(r *crm.Request) { r.Method = "PUT" }, Config{}},
		{"other URL", func(r *crm.Request) { r.URL += "?x=1" }, Config{}},
		{"missing URL", func(r *crm.Request) { r.URL = "" }, Config{}},
		{"v1 wrong", func(r *crm.Request) {
			r.Headers = http.Header{}
			r.Headers.Set(HeaderSignature, SignV1("other", r.Body))
			r.Headers.Set(HeaderSignatureVersion, "v1")
		}, Config{}},
		{"v1 not hex", func(r *crm.Request) {
			r.Headers = http.Header{}
			r.Headers.Set(HeaderSignature, "zz")
			r.Headers.Set(HeaderSignatureVersion, "v1")
		}, Config{}},
		{"v2 signed for another URL", func(r *crm.Request) {
			r.Headers = http.Header{}
			r.Headers.Set(HeaderSignature, SignV2("s3cret", "POST", url+"/x", r.Body))
			r.Headers.Set(HeaderSignatureVersion, "v2")
		}, Config{}},
		{"unknown version", func(r *crm.Request) {
			r.Headers = http.Header{}
			r.Headers.Set(HeaderSignature, SignV1("s3cret", r.Body))
			r.Headers.Set(HeaderSignatureVersion, "v9")
		}, Config{}},
		{"valid v1 but RequireV3", func(r *crm.Request) {
			r.Headers = http.Header{}
			r.Headers.Set(HeaderSignature, SignV1("s3cret", r.Body))
			r.Headers.Set(HeaderSignatureVersion, "v1")
		}, Config{RequireV3: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.ClientSecrets = []string{"s3cret"}
			a, err := New(cfg, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			r := good()
			tt.mutate(&r)
			err = a.Authenticate(r)
			if !errors.Is(err, crm.ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestAuthenticateAccepts(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	const url = "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/hubspot"
	body := `[{"eventId":1}]`
	tests := []struct {
		name string
		req  func() crm.Request
	}{
		{"v3 exactly 300000 ms old", func() crm.Request { return v3Request("s3cret", "POST", url, body, now.Add(-MaxSkew)) }},
		{"v3 exactly 300000 ms ahead", func() crm.Request { return v3Request("s3cret", "POST", url, body, now.Add(MaxSkew)) }},
		{"v3 signed with the previous secret (rotation)", func() crm.Request { return v3Request("old-secret", "POST", url, body, now) }},
		{"v3 lower-case header keys (API Gateway)", func() crm.Request {
			r := v3Request("s3cret", "POST", url, body, now)
			h := http.Header{}
			for k, v := range r.Headers {
				h[lower(k)] = v
			}
			r.Headers = h
			return r
		}},
		{"v3 URL with encoded characters HubSpot decodes", func() crm.Request {
			u := url + "?next=https%3A%2F%2Fexample.com%2Fa%40b&x=%28y%29&s=a%20b"
			r := v3Request("s3cret", "POST", u, body, now)
			// HubSpot signed the decoded form; the header must verify
			// against the URL as received (still encoded).
			want := signV3("s3cret", "POST", url+"?next=https://example.com/a@b&x=(y)&s=a%20b", []byte(body), strconv.FormatInt(now.UnixMilli(), 10))
			if r.Headers.Get(HeaderSignatureV3) != want {
				panic("SignV3 did not normalise the URI")
			}
			return r
		}},
		{"v1 upper-case hex", func() crm.Request {
			h := http.Header{}
			h.Set(HeaderSignature, upper(SignV1("s3cret", []byte(body))))
			h.Set(HeaderSignatureVersion, "v1")
			return crm.Request{Method: "POST", URL: url, Headers: h, Body: []byte(body)}
		}},
		{"v2", func() crm.Request {
			h := http.Header{}
			h.Set(HeaderSignature, SignV2("s3cret", "POST", url, []byte(body)))
			h.Set(HeaderSignatureVersion, "v2")
			return crm.Request{Method: "POST", URL: url, Headers: h, Body: []byte(body)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdapter(t, now, "s3cret", "old-secret")
			if err := a.Authenticate(tt.req()); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
		})
	}
}

func TestNormalizeV3URI(t *testing.T) {
	tests := map[string]string{
		"https://x.io/a":                           "https://x.io/a",
		"https://x.io/a?u=%3a%2f%2F%3F%40%21%24":   "https://x.io/a?u=://?@!$",
		"https://x.io/a?u=%27%28%29%2A%2c%3B":      "https://x.io/a?u='()*,;",
		"https://x.io/a?u=%20%25%26%3D%2B":         "https://x.io/a?u=%20%25%26%3D%2B",
		"https://x.io/a?u=%253A":                   "https://x.io/a?u=%253A",
		"https://x.io/a?u=%3":                      "https://x.io/a?u=%3",
		"https://x.io/a?u=%":                       "https://x.io/a?u=%",
		"https://x.io/a%2Fb?token=abc%3Ddef%3A123": "https://x.io/a/b?token=abc%3Ddef:123",
	}
	for in, want := range tests {
		if got := NormalizeV3URI(in); got != want {
			t.Errorf("NormalizeV3URI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewRequiresSecretAndClock(t *testing.T) {
	if _, err := New(Config{}, time.Now); err == nil {
		t.Error("no secret accepted")
	}
	if _, err := New(Config{ClientSecrets: []string{" "}}, time.Now); err == nil {
		t.Error("blank secret accepted")
	}
	if _, err := New(Config{ClientSecrets: []string{"x"}}, nil); err == nil {
		t.Error("nil clock accepted")
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}
