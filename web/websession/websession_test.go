package websession

import (
	"context"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/privacy"
)

func req(headers map[string]string, cookies ...string) *apigw.Request {
	r := lambdaevents.APIGatewayV2HTTPRequest{Headers: map[string]string{"host": "app.example"}, Cookies: cookies}
	for k, v := range headers {
		r.Headers[k] = v
	}
	return &r
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		base    string
		want    bool
	}{
		{"own origin", map[string]string{"origin": "https://app.example"}, "", true},
		{"another origin", map[string]string{"origin": "https://evil.example"}, "", false},
		{"the public base", map[string]string{"origin": "https://refer.example"}, "https://refer.example/x", true},
		{"referer of the own origin", map[string]string{"referer": "https://app.example/console"}, "", true},
		{"referer of another origin", map[string]string{"referer": "https://evil.example/"}, "", false},
		{"null origin, no referer", map[string]string{"origin": "null"}, "", false},
		{"neither (not a browser)", nil, "", true},
		{"forwarded http host", map[string]string{"origin": "http://127.0.0.1:3000", "x-forwarded-proto": "http", "x-forwarded-host": "127.0.0.1:3000"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SameOrigin(req(tt.headers), tt.base); got != tt.want {
				t.Fatalf("SameOrigin = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCSRFIsPerLabelAndHidesTheSession(t *testing.T) {
	a, b := CSRF("portal", "id-1"), CSRF("console", "id-1")
	if a == b || a == CSRF("portal", "id-2") || strings.Contains(a, "id-1") || a != CSRF("portal", "id-1") {
		t.Fatalf("tokens %q %q", a, b)
	}
}

func TestCookieAttributes(t *testing.T) {
	c := Cookie("__Secure-x", "v", "/console", time.Hour)
	for _, want := range []string{"__Secure-x=v", "Path=/console", "Max-Age=3600", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(c, want) {
			t.Errorf("%q lacks %q", c, want)
		}
	}
	if v := CookieValue(req(map[string]string{"cookie": "a=1; __Secure-x=abc"}), "__Secure-x"); v != "abc" {
		t.Errorf("CookieValue = %q", v)
	}
}

func TestFormTokens(t *testing.T) {
	h, err := privacy.NewHasher("form-secret-0123456789abcdef01234567")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := privacy.NewHasher("another-secret-0123456789abcdef0123")
	f := FormTokens{Keys: privacy.Fixed(h), Kind: "test-form", Cookie: "__Secure-f", Path: "/x", TTL: time.Hour}
	ctx := context.Background()
	token, set, err := f.Token(ctx, req(nil))
	if err != nil || set == "" {
		t.Fatalf("Token = %q, %q, %v", token, set, err)
	}
	nonce, _, _ := strings.Cut(token, ".")
	withCookie := req(nil, "__Secure-f="+nonce)
	if ok, _ := f.Valid(ctx, withCookie, token); !ok {
		t.Fatal("a token with its cookie is refused")
	}
	again, set2, _ := f.Token(ctx, withCookie)
	if again != token || set2 != "" {
		t.Fatalf("a second page draws a new nonce: %q %q", again, set2)
	}
	g := f
	g.Keys = privacy.Fixed(other)
	for name, c := range map[string]struct {
		f     FormTokens
		r     *apigw.Request
		token string
	}{
		"no cookie":          {f, req(nil), token},
		"another nonce":      {f, req(nil, "__Secure-f=AAAAAAAAAAAAAAAAAAAAAA"), token},
		"another secret":     {g, withCookie, token},
		"a forged signature": {f, withCookie, nonce + ".forged"},
		"empty":              {f, withCookie, ""},
	} {
		if ok, _ := c.f.Valid(ctx, c.r, c.token); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}
